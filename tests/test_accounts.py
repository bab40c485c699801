"""Registration, confirmation, login, logout, password reset, sessions bound to a tenant."""
from __future__ import annotations

import re

import pytest

from conftest import BASE, PASSWORD


def link_in(body: str) -> str:
    match = re.search(r"https://\S+", body)
    assert match, body
    return match.group(0)


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_register_confirm_login_logout(create_tenant, clients, outbox, app):
    create_tenant("gmina-a", name="Gmina A")
    site = clients("gmina-a")
    response = site.post("/register", data={"email": "Anna@Example.org", "password": PASSWORD,
                                            "password_again": PASSWORD})
    assert response.status_code == 200
    assert "anna@example.org" in response.get_data(as_text=True).lower()
    (recipient, subject, body, _tenant), = outbox()
    assert recipient == "anna@example.org"
    assert subject == "Potwierdź swój adres e-mail"
    link = link_in(body)
    assert link.startswith(f"https://gmina-a.{BASE}/confirm/")

    # Not confirmed yet: no login.
    refused = site.post("/login", data={"email": "anna@example.org", "password": PASSWORD})
    assert refused.status_code == 200
    assert "Najpierw potwierdź adres e-mail" in refused.get_data(as_text=True)

    assert site.get(path_of(link)).status_code == 302
    site.login("anna@example.org")
    home = site.get("/").get_data(as_text=True)
    assert "anna@example.org" in home
    site.post("/logout")
    assert "anna@example.org" not in site.get("/").get_data(as_text=True)


def test_registering_from_a_link_that_needs_login_comes_back_to_it(create_tenant, clients,
                                                                    outbox):
    """An invitation or a call's "apply" sends a newcomer to log in; registering and
    confirming the address bring them back to the login that leads there."""
    create_tenant("gmina-a")
    site = clients("gmina-a")
    target = "/profiles/patron/abc"
    login = site.get(f"/login?next={target}").get_data(as_text=True)
    assert "Zaloguj się, aby przejść dalej" in login
    assert f'href="/register?next={target}"' in login
    response = site.post(f"/register?next={target}", data={
        "email": "beata@example.org", "password": PASSWORD, "password_again": PASSWORD})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "Sprawdź pocztę" in response.get_data(as_text=True), response.get_data(as_text=True)
    (_r, _s, body, _t), = outbox()
    confirmed = site.get(path_of(link_in(body)))
    assert confirmed.status_code == 302
    assert confirmed.headers["Location"].replace("%2F", "/") == f"/login?next={target}"
    page = site.get(confirmed.headers["Location"]).get_data(as_text=True)
    assert "Adres e-mail potwierdzony" in page and "Zaloguj się, aby przejść dalej" not in page
    assert f'name="next" type="hidden" value="{target}"' in page
    # Only a path of this site is kept.
    other = clients("gmina-a")
    other.post("/register?next=https://evil.example/", data={
        "email": "celina@example.org", "password": PASSWORD, "password_again": PASSWORD})
    (_r, _s, body, _t), = outbox()[1:]
    assert other.get(path_of(link_in(body))).headers["Location"] == "/login"


def test_registration_with_bad_input_names_the_field(create_tenant, clients, outbox):
    create_tenant("gmina-a")
    site = clients("gmina-a")
    body = site.post("/register", data={"email": "anna@example.org", "password": "qwerty1234",
                                        "password_again": "qwerty1234"}).get_data(as_text=True)
    assert 'id="password-error"' in body
    assert "zbyt popularne" in body
    body = site.post("/register", data={"email": "anna", "password": PASSWORD,
                                        "password_again": "inne-haslo-123"}).get_data(as_text=True)
    assert 'id="email-error"' in body and 'id="password_again-error"' in body
    assert outbox() == []


def test_registering_an_existing_address_sends_a_reminder_not_a_second_account(
        create_tenant, create_user, clients, outbox, app):
    create_tenant("gmina-a")
    create_user("anna@example.org")
    response = clients("gmina-a").post("/register", data={
        "email": "anna@example.org", "password": PASSWORD, "password_again": PASSWORD})
    assert response.status_code == 200
    (recipient, subject, _body, _t), = outbox()
    assert recipient == "anna@example.org" and subject == "Masz już konto"
    from core.accounts.models import User
    from core.db import db

    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 1


def test_one_identity_logs_in_on_every_tenant_and_becomes_applicant(create_tenant, create_user,
                                                                    clients, app):
    create_tenant("gmina-a")
    b = create_tenant("gmina-b")
    create_user("anna@example.org", roles=["admin"], tenant="gmina-a")
    clients("gmina-b").login("anna@example.org")
    from core.accounts.models import Membership
    from core.db import db, tenant_scope

    with app.app_context(), tenant_scope(b):
        assert [m.role for m in db.session.scalars(db.select(Membership))] == ["applicant"]


def test_wrong_password_is_refused_with_a_message(create_tenant, create_user, clients):
    create_tenant("gmina-a")
    create_user("anna@example.org")
    body = clients("gmina-a").post("/login", data={"email": "anna@example.org",
                                                   "password": "zle-haslo-000"}).get_data(True)
    assert "Nieprawidłowy e-mail lub hasło." in body


def test_session_of_tenant_a_is_anonymous_on_tenant_b(create_tenant, create_user, clients):
    create_tenant("gmina-a")
    create_tenant("gmina-b")
    create_user("anna@example.org", roles=["admin"], tenant="gmina-a")
    create_user("anna@example.org", roles=["admin"], tenant="gmina-b")
    a = clients("gmina-a")
    a.login("anna@example.org")
    assert a.get("/admin/members").status_code == 200
    cookie = a.session_cookie()
    assert cookie is not None and cookie.domain in (None, "", f"gmina-a.{BASE}")
    # Replay the very same cookie on tenant B.
    b = clients("gmina-b")
    b.http.set_cookie(cookie.key, cookie.value, domain=f"gmina-b.{BASE}")
    response = b.get("/admin/members")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_session_cookie_is_host_only(create_tenant, create_user, clients):
    create_tenant("gmina-a")
    create_user("anna@example.org")
    response = clients("gmina-a").login("anna@example.org")
    set_cookie = response.headers["Set-Cookie"]
    assert "Domain=" not in set_cookie and "HttpOnly" in set_cookie


def test_login_rotates_the_session(create_tenant, create_user, clients):
    create_tenant("gmina-a")
    create_user("anna@example.org")
    site = clients("gmina-a")
    with site.http.session_transaction(base_url=f"https://gmina-a.{BASE}") as session:
        session["planted"] = "by-an-attacker"
    site.login("anna@example.org")
    with site.http.session_transaction(base_url=f"https://gmina-a.{BASE}") as session:
        assert "planted" not in session


def test_password_reset_flow(create_tenant, create_user, clients, outbox):
    create_tenant("gmina-a")
    create_user("anna@example.org")
    site = clients("gmina-a")
    site.post("/reset", data={"email": "anna@example.org"})
    site.post("/reset", data={"email": "nikt@example.org"})  # same page, no message
    (recipient, subject, body, _t), = outbox()
    assert recipient == "anna@example.org" and subject == "Ustaw nowe hasło"
    link = path_of(link_in(body))
    weak = site.post(link, data={"password": "haslo123", "password_again": "haslo123"})
    assert 'id="password-error"' in weak.get_data(as_text=True)
    new = "Nowe-Haslo-Do-Konta-9"
    assert site.post(link, data={"password": new, "password_again": new}).status_code == 302
    # The link works once.
    again = site.post(link, data={"password": new + "x", "password_again": new + "x"})
    assert "nieważny" in again.get_data(as_text=True)
    site.login("anna@example.org", new)


def test_reset_link_uses_the_tenant_host_not_the_request_host(create_tenant, create_user,
                                                             clients, outbox):
    create_tenant("gmina-a", hosts=["www.gmina-a.example.org"])
    create_user("anna@example.org")
    # A request arriving with the main host; even a forged X-Forwarded-Host changes nothing.
    clients("gmina-a").post("/reset", data={"email": "anna@example.org"},
                            headers={"Host": f"gmina-a.{BASE}",
                                     "X-Forwarded-Host": "evil.example.com"})
    (_r, _s, body, _t), = outbox()
    assert link_in(body).startswith(f"https://gmina-a.{BASE}/reset/")


def test_login_is_rate_limited(make_app, create_tenant):
    from conftest import HostClient

    create_tenant("gmina-a")
    limited = make_app(LOGIN_RATE_LIMIT="3 per minute")
    site = HostClient(limited, f"gmina-a.{BASE}")
    codes = [site.post("/login", data={"email": "anna@example.org",
                                       "password": "zle-haslo-000"}).status_code
             for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert "Zbyt wiele prób" in site.post("/login", data={
        "email": "anna@example.org", "password": "x"}).get_data(as_text=True)


def test_passwords_are_argon2id(app, create_user):
    from core.accounts.models import User
    from core.db import db

    user_id = create_user("anna@example.org")
    with app.app_context():
        assert db.session.get(User, user_id).password_hash.startswith("$argon2id$")


def test_language_choice_is_remembered_per_user(create_tenant, create_user, clients, app):
    create_tenant("gmina-a")
    create_user("anna@example.org")
    site = clients("gmina-a")
    site.login("anna@example.org")
    site.post("/language", data={"locale": "uk", "next": "/"})
    # A new browser: after login the page is in Ukrainian.
    other = clients("gmina-a")
    other.login("anna@example.org")
    page = other.get("/").get_data(as_text=True)
    assert 'lang="uk"' in page
    assert "Перейти до основного вмісту" in page


def test_anonymous_language_switch_is_kept_in_the_session(create_tenant, clients):
    create_tenant("gmina-a")
    site = clients("gmina-a")
    assert 'lang="pl"' in site.get("/").get_data(as_text=True)
    site.post("/language", data={"locale": "en", "next": "/"})
    assert "Skip to main content" in site.get("/").get_data(as_text=True)
    site.post("/language", data={"locale": "de", "next": "/"})  # not offered: ignored
    assert 'lang="en"' in site.get("/").get_data(as_text=True)


@pytest.mark.parametrize("target", ["https://evil.example.com/", "//evil.example.com/x"])
def test_login_never_redirects_off_site(create_tenant, create_user, clients, target):
    create_tenant("gmina-a")
    create_user("anna@example.org")
    response = clients("gmina-a").post("/login", data={
        "email": "anna@example.org", "password": PASSWORD, "next": target})
    assert response.status_code == 302
    assert "evil" not in response.headers["Location"]
