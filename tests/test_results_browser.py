"""In a real browser: the committee compares the cut-off policies, approves the final list,
the administrator publishes it, and a resident reads the results on a phone."""
from __future__ import annotations

import re

from browser import chromium, live_server  # noqa: F401  (fixtures)
from conftest import BASE, PASSWORD
from playwright.sync_api import expect
from test_decisions import _slots, add, crafted, in_tenant, world  # noqa: F401  (fixtures)


def _login(page, live_server, email):
    page.goto(live_server.url(f"gmina-a.{BASE}", "/login"))
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Hasło").fill(PASSWORD)
    page.get_by_role("button", name="Zaloguj się").click()


def test_committee_compares_policies_approves_and_the_public_reads_the_results(
        chromium, live_server, world, add, tmp_path):  # noqa: F811
    crafted(add)
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="pl-PL")
    page = context.new_page()
    _login(page, live_server, "kom1@example.org")
    page.get_by_role("link", name="Komisja", exact=True).click()
    page.get_by_role("link", name=re.compile("Ranking i podział środków")).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ranking i podział środków")
    table = page.get_by_role("table", name="Ranking z podziałem środków według każdej zasady")
    expect(table).to_be_visible()
    expect(page.get_by_text("Zasady dają różne wyniki dla tego rankingu.")).to_be_visible()
    # The three policies side by side; A2 gets the rest (4 000 zł) only under PARTIAL_LAST.
    row = table.locator("tbody tr").nth(1)
    expect(row.locator("td.policy").nth(0)).to_contain_text("lista rezerwowa")
    expect(row.locator("td.policy").nth(2)).to_contain_text("4\u00a0000,00\u00a0zł")
    page.screenshot(path=str(tmp_path / "what-if.png"), full_page=True)

    # Approving needs the confirmation: the browser keeps the form until it is ticked.
    page.get_by_label("Potwierdzam decyzję komisji o liście końcowej").check()
    page.get_by_role("button", name="Zatwierdź listę końcową").click()
    expect(page.get_by_text("Lista została zatwierdzona.")).to_be_visible()
    expect(page.get_by_role("button", name="Zatwierdź listę końcową")).to_have_count(0)
    page.screenshot(path=str(tmp_path / "approved.png"), full_page=True)
    context.close()

    admin = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="pl-PL")
    page = admin.new_page()
    _login(page, live_server, "admin@example.org")
    page.goto(live_server.url(f"gmina-a.{BASE}", f"/committee/calls/{world.call_id}/ranking"))
    page.get_by_role("button", name="Opublikuj na stronie wyników").click()
    expect(page.get_by_text("Lista jest opublikowana na stronie wyników naboru.")).to_be_visible()
    admin.close()

    phone = chromium.new_context(viewport={"width": 390, "height": 844}, locale="pl-PL")
    page = phone.new_page()
    page.goto(live_server.url(f"gmina-a.{BASE}", "/"))
    page.get_by_role("link", name="Wyniki", exact=True).click()
    page.get_by_role("link", name="Mikrogranty Lipiny 2027").click()
    expect(page.get_by_role("heading", name="Lista końcowa")).to_be_visible()
    ranking = page.get_by_role("table", name="Ranking")
    expect(ranking.locator("tbody tr")).to_have_count(4)
    expect(page.get_by_role("table", name="Lista rezerwowa").locator("tbody tr")).to_have_count(3)
    expect(page.get_by_role("link", name=re.compile("Pobierz jako PDF"))).to_be_visible()
    page.screenshot(path=str(tmp_path / "public.png"), full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    phone.close()


def test_invited_applicant_books_an_interview_on_a_phone(chromium, live_server, world, add,
                                                         in_tenant, tmp_path):  # noqa: F811
    add("A1", "3000.00", stage1="15")
    _slots(in_tenant, count=3)
    phone = chromium.new_context(viewport={"width": 390, "height": 844}, locale="pl-PL")
    page = phone.new_page()
    _login(page, live_server, "a1@example.org")
    page.get_by_role("link", name="Moje wnioski").click()
    page.get_by_role("link", name="Zarezerwuj rozmowę").click()
    expect(page.get_by_role("heading", name="II etap: Twoja rozmowa z komisją")).to_be_visible()
    choices = page.get_by_role("radio")
    expect(choices).to_have_count(3)
    choices.nth(1).check()
    page.screenshot(path=str(tmp_path / "booking.png"), full_page=True)
    page.get_by_role("button", name="Rezerwuję ten termin").click()
    expect(page.get_by_text("Rozmowa jest zarezerwowana.")).to_be_visible()
    expect(page.get_by_text("Twoja rozmowa:")).to_be_visible()
    expect(page.get_by_text("16:20")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    page.screenshot(path=str(tmp_path / "booked.png"), full_page=True)
    phone.close()
