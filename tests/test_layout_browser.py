"""The layout in a real browser: Polish by default, keyboard, no JavaScript needed, narrow screens."""
from __future__ import annotations

from browser import chromium, live_server  # noqa: F401  (fixtures)
from conftest import BASE


def test_site_is_polish_and_keyboard_reaches_the_skip_link(chromium, live_server,  # noqa: F811
                                                           create_tenant, tmp_path):
    create_tenant("gmina-a", name="Gmina Lipiny")
    page = chromium.new_page(locale="en-US")  # the browser's language does not decide
    page.goto(live_server.url(f"gmina-a.{BASE}"))
    assert page.locator("html").get_attribute("lang") == "pl"
    assert page.locator("h1").inner_text() == "Gmina Lipiny"
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Przejdź do treści"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.screenshot(path=str(tmp_path / "home.png"), full_page=True)
    page.close()


def test_language_switch_works_without_javascript(chromium, live_server,  # noqa: F811
                                                  create_tenant):
    create_tenant("gmina-a", name="Gmina Lipiny")
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url(f"gmina-a.{BASE}"))
    page.get_by_label("Język").select_option("uk")
    page.get_by_role("button", name="Zmień").click()
    assert page.locator("html").get_attribute("lang") == "uk"
    assert page.get_by_role("link", name="Увійти").is_visible()
    # The choice stays on the next page.
    page.get_by_role("link", name="Увійти").click()
    assert page.locator("h1").inner_text() == "Увійти"
    context.close()


def test_page_fits_a_phone_screen(chromium, live_server, create_tenant):  # noqa: F811
    create_tenant("gmina-a", name="Gmina Lipiny z bardzo długą nazwą dla sprawdzenia")
    page = chromium.new_page(viewport={"width": 360, "height": 740})
    page.goto(live_server.url(f"gmina-a.{BASE}", "/register"))
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    # Every form field has a visible label.
    for field_id in ("email", "password", "password_again"):
        assert page.locator(f"label[for={field_id}]").is_visible()
    page.close()
