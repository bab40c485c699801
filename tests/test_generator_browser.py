"""The generator in a real browser on a phone: fill the steps, see a rule break and heal
as you type, submit, download the receipt."""
from __future__ import annotations

import datetime as dt
import re

from browser import chromium, live_server  # noqa: F401  (fixtures)
from conftest import BASE, PASSWORD
from playwright.sync_api import expect
from test_applications import world  # noqa: F401  (fixture)

ADMIN_RULE = "Koszty obsługi projektu mogą wynieść najwyżej 10% dotacji"


def test_applicant_fills_the_generator_on_a_phone(chromium, live_server, world,  # noqa: F811
                                                 tmp_path):
    context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="pl-PL",
                                   accept_downloads=True)
    page = context.new_page()
    host = f"gmina-a.{BASE}"
    page.goto(live_server.url(host, "/login"))
    page.get_by_label("E-mail").fill("anna@example.org")
    page.get_by_label("Hasło").fill(PASSWORD)
    page.get_by_role("button", name="Zaloguj się").click()
    page.get_by_role("link", name="Moje wnioski").click()
    page.get_by_role("link", name=re.compile("Złóż wniosek")).first.click()
    page.get_by_role("button", name="Rozpocznij wniosek").click()

    # 1. Applicant and realizer
    expect(page.locator('nav.steps a[aria-current="step"]')).to_have_text(
        "Wnioskodawca i realizator")
    page.get_by_label("Wnioskodawca (kto podpisuje wniosek)").select_option(
        str(world.profile_id))
    page.locator("input[name=applicant_option]").first.check()  # an NGO on its own
    page.get_by_role("button", name="Zapisz i dalej").click()

    # 2. The project
    page.get_by_label("Tytuł projektu").fill("Warsztaty rękodzieła w świetlicy")
    page.get_by_label("Co chcecie zrobić i po co?").fill("Cykl warsztatów dla seniorów i dzieci.")
    page.locator("select[name=project_type]").select_option("regional_identity")
    page.locator("select[name=place_gmina]").select_option("Lipiny")
    page.get_by_role("button", name="Zapisz i dalej").click()

    # 3. Schedule
    page.get_by_label("Początek projektu").fill(world.start.isoformat())
    page.get_by_label("Koniec projektu").fill((world.start + dt.timedelta(days=90)).isoformat())
    page.get_by_role("button", name="Zapisz i dalej").click()

    # 4. Budget: admin costs above 10% show the rule as soon as it is saved.
    expect(page.locator("h2#step-title")).to_have_text("Budżet")
    page.locator("#budget-0-category").select_option("admin")
    page.locator("#budget-0-item").fill("Koordynacja")
    page.locator("#budget-0-quantity").fill("1")
    page.locator("#budget-0-unit_price").fill("600")
    page.locator("#budget-0-unit_price").blur()
    page.get_by_role("button", name="Dodaj pozycję").click()
    new_row = page.locator("#budget-rows tr").nth(1)
    new_row.wait_for()
    new_row.locator("select").select_option("materials")
    new_row.locator("input[name$=-item]").fill("Materiały plastyczne")
    new_row.locator("input[name$=-quantity]").fill("10")
    new_row.locator("input[name$=-unit_price]").fill("315,00")
    new_row.locator("input[name$=-unit_price]").blur()
    violations = page.locator("#step-violations")
    violations.get_by_text(ADMIN_RULE).wait_for()
    page.locator("#budget-total").get_by_text("3\u00a0750,00\u00a0zł").wait_for()
    page.screenshot(path=str(tmp_path / "budget-violation.png"), full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    # Fixing the amount makes it disappear.
    page.locator("#budget-0-unit_price").fill("350")
    page.locator("#budget-0-unit_price").blur()
    page.locator("#budget-total").get_by_text("3\u00a0500,00\u00a0zł").wait_for()
    violations.get_by_text(ADMIN_RULE).wait_for(state="detached")
    page.get_by_role("button", name="Zapisz i dalej").click()

    # 5. Own contribution: volunteer hours × rate.
    page.locator("#contribution-0-kind").select_option("volunteer")
    page.locator("#contribution-0-description").fill("Praca wolontariuszy")
    page.locator("#contribution-0-hours").fill("20")
    page.locator("#contribution-0-rate").fill("30")
    page.get_by_role("button", name="Zapisz i dalej").click()

    # 6. Summary and submission.
    expect(page.locator("h2#step-title")).to_have_text("Podsumowanie")
    expect(page.locator(".summary-section").nth(4)).to_contain_text("600,00")
    page.screenshot(path=str(tmp_path / "summary.png"), full_page=True)
    page.get_by_role("button", name="Złóż wniosek").click()
    expect(page.locator("h1")).to_have_text("Wniosek złożony")
    expect(page.locator(".receipt")).to_contain_text("LPM-2027/0001")
    page.screenshot(path=str(tmp_path / "receipt.png"), full_page=True)
    with page.expect_download() as caught:
        page.get_by_role("link", name="Pobierz potwierdzenie (PDF)").click()
    download = caught.value
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    data = target.read_bytes()
    assert data.startswith(b"%PDF") and b"LPM-2027/0001" in data
    assert download.suggested_filename == "potwierdzenie-LPM-2027-0001.pdf"
    context.close()


def test_generator_works_without_javascript(chromium, live_server, world):  # noqa: F811
    context = chromium.new_context(java_script_enabled=False,
                                   viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(live_server.url(f"gmina-a.{BASE}", "/login"))
    page.get_by_label("E-mail").fill("anna@example.org")
    page.get_by_label("Hasło").fill(PASSWORD)
    page.get_by_role("button", name="Zaloguj się").click()
    page.goto(live_server.url(f"gmina-a.{BASE}", "/calls/lpm-2027/apply"))
    page.get_by_role("button", name="Rozpocznij wniosek").click()
    url = page.url.replace("/applicant", "/budget")
    page.goto(url)
    page.locator("#budget-0-category").select_option("materials")
    page.locator("#budget-0-item").fill("Farby")
    page.locator("#budget-0-unit_price").fill("100")
    page.get_by_role("button", name="Dodaj pozycję").click()
    # The server saved the line and added a blank one.
    expect(page.locator("#budget-rows tr")).to_have_count(2)
    expect(page.locator("#budget-0-item")).to_have_value("Farby")
    expect(page.locator("#budget-total")).to_contain_text("100,00")
    page.get_by_role("button", name=re.compile("Usuń")).first.click()
    expect(page.locator("#budget-rows tr")).to_have_count(1)
    expect(page.locator("#budget-0-item")).to_have_value("")
    context.close()
