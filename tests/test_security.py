"""The web security baseline: CSRF (without losing what was typed), headers, rate limits,
uploads.  The rest of the suite runs with CSRF off; these tests turn it on."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from conftest import PASSWORD, HostClient, host
from test_applications import _version, world  # noqa: F401  (the generator's fixture)
from test_calls import PDF, make_call, upload

EXPIRED = "nic nie zostało jeszcze zapisane"


@pytest.fixture
def guarded(make_app):
    """The app with CSRF protection on, as in production."""
    return make_app(WTF_CSRF_ENABLED=True)


def site_client(app, slug="gmina-a") -> HostClient:
    client = HostClient(app, host(slug))
    # Over HTTPS, Flask-WTF also wants the request to come from this site.
    client.http.environ_base["HTTP_REFERER"] = f"https://{host(slug)}/"
    return client


def token_in(page: str, name: str = "csrf_token") -> str:
    return re.search(rf'name="{name}"[^>]*value="([^"]+)"', page).group(1)


def login(client, email):
    token = token_in(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": email, "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


# --- CSRF ---------------------------------------------------------------------------------

def test_posts_without_a_token_are_refused_and_change_nothing(guarded, world, create_user,  # noqa: F811
                                                               app):
    from core.applications.models import Application
    from core.calls.models import Call
    from core.db import db, tenant_scope

    create_user("admin@example.org", roles=["admin"], tenant="gmina-a")
    anonymous = site_client(guarded)
    assert anonymous.post("/login", data={"email": "anna@example.org",
                                          "password": PASSWORD}).status_code == 400
    assert anonymous.post("/register", data={"email": "jan.nowy@example.org", "password": PASSWORD,
                                             "password_again": PASSWORD}).status_code == 400
    anna = login(site_client(guarded), "anna@example.org")
    assert anna.post("/calls/lpm-2027/apply",
                     data={"profile_id": str(world.profile_id)}).status_code == 400
    admin = login(site_client(guarded), "admin@example.org")
    assert admin.post(f"/admin/calls/{world.call_id}/close").status_code == 400
    assert admin.post("/logout").status_code == 400
    with app.app_context(), tenant_scope(world.tenant_id):
        assert db.session.scalars(db.select(Application)).all() == []
        assert db.session.get(Call, world.call_id).status == "published"
    from core.accounts.models import User

    with app.app_context():
        assert db.session.execute(db.select(User).where(
            User.email == "jan.nowy@example.org")).scalar_one_or_none() is None


class _Forms(HTMLParser):
    """Every <form method=post> of a page, with the names of its inputs."""

    def __init__(self):
        super().__init__()
        self.forms, self._open = [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self._open = {"action": attrs.get("action"), "inputs": set()}
            self.forms.append(self._open)
        elif tag == "input" and self._open is not None:
            self._open["inputs"].add(attrs.get("name") or "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._open = None


def post_forms(page: str) -> list[dict]:
    parser = _Forms()
    parser.feed(page)
    return parser.forms


def test_every_post_form_on_the_main_pages_carries_a_token(guarded, world, create_user):  # noqa: F811
    from core.applications.forms import STEPS

    create_user("admin@example.org", roles=["admin"], tenant="gmina-a")
    create_user("operator@example.org", platform_role="operator_staff")
    anonymous = site_client(guarded)
    anna = login(site_client(guarded), "anna@example.org")
    start = anna.post("/calls/lpm-2027/apply", data={
        "profile_id": str(world.profile_id),
        "csrf_token": token_in(anna.get("/calls/lpm-2027/apply").get_data(as_text=True))})
    assert start.status_code == 303
    application = re.search(r"/applications/(\d+)/", start.headers["Location"]).group(1)
    admin = login(site_client(guarded), "admin@example.org")
    console = login(site_client(guarded, None), "operator@example.org")
    pages = {
        anonymous: ["/", "/login", "/register", "/reset", "/calls", "/calls/lpm-2027"],
        anna: ["/", "/applications", "/calls/lpm-2027/apply", "/profiles/",
               "/profiles/new?kind=ngo", "/profiles/new?kind=group",
               f"/profiles/{world.profile_id}", f"/profiles/{world.profile_id}/edit",
               f"/profiles/{world.profile_id}/editors"]
        + [f"/applications/{application}/{step}" for step in STEPS],
        admin: ["/admin/calls", "/admin/calls/new", f"/admin/calls/{world.call_id}",
                "/admin/members"],
        console: ["/console/", "/console/tenants/new", "/console/tenants/gmina-a"],
    }
    seen = 0
    for client, paths in pages.items():
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, path
            for form in post_forms(response.get_data(as_text=True)):
                seen += 1
                assert any(name.endswith("csrf_token") for name in form["inputs"]), \
                    (path, form["action"])
    assert seen > 20


def test_an_expired_registration_comes_back_with_what_was_typed(guarded, create_tenant):
    create_tenant("gmina-a")
    site = site_client(guarded)
    response = site.post("/register", data={"email": "jan.nowy@example.org", "password": PASSWORD,
                                            "password_again": PASSWORD, "csrf_token": "stary"})
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert EXPIRED in body and 'value="jan.nowy@example.org"' in body
    # The page carries a fresh token: sending it again registers.
    again = site.post("/register", data={"email": "jan.nowy@example.org", "password": PASSWORD,
                                         "password_again": PASSWORD,
                                         "csrf_token": token_in(body)})
    assert again.status_code == 200 and "Sprawdź pocztę" in again.get_data(as_text=True)


def test_an_expired_login_keeps_the_address_and_works_when_sent_again(guarded, create_tenant,
                                                                      create_user):
    create_tenant("gmina-a")
    create_user("anna@example.org")
    site = site_client(guarded)
    response = site.post("/login", data={"email": "anna@example.org", "password": PASSWORD})
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert EXPIRED in body and 'value="anna@example.org"' in body
    again = site.post("/login", data={"email": "anna@example.org", "password": PASSWORD,
                                      "csrf_token": token_in(body)})
    assert again.status_code == 302


def test_an_expired_generator_step_shows_the_typed_text_and_saves_nothing(guarded, world, app):  # noqa: F811
    from core.applications.models import Application
    from core.db import db, tenant_scope

    anna = login(site_client(guarded), "anna@example.org")
    start = anna.post("/calls/lpm-2027/apply", data={
        "profile_id": str(world.profile_id),
        "csrf_token": token_in(anna.get("/calls/lpm-2027/apply").get_data(as_text=True))})
    application_id = int(re.search(r"/applications/(\d+)/", start.headers["Location"]).group(1))
    page = anna.get(f"/applications/{application_id}/project").get_data(as_text=True)
    typed = "Trzy godziny pisania: warsztaty rękodzieła dla seniorów"
    response = anna.post(f"/applications/{application_id}/project", data={
        "form_step": "project", "version": _version(page), "action": "next",
        "title": "Warsztaty w świetlicy", "description": typed, "csrf_token": "wygasły"})
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert EXPIRED in body and typed in body and 'value="Warsztaty w świetlicy"' in body
    with app.app_context(), tenant_scope(world.tenant_id):
        assert db.session.get(Application, application_id).title in (None, "")
    budget = anna.post(f"/applications/{application_id}/budget", data={
        "form_step": "budget", "version": _version(page), "budget-present": "1",
        "budget-0-category": "materials", "budget-0-item": "Włóczka i kleje",
        "budget-0-quantity": "3", "budget-0-unit_price": "120,50"})
    assert budget.status_code == 400 and "Włóczka i kleje" in budget.get_data(as_text=True)
    # Sent again with the new token, it is saved.
    saved = anna.post(f"/applications/{application_id}/project", data={
        "form_step": "project", "version": _version(page), "action": "stay",
        "title": "Warsztaty w świetlicy", "description": typed, "csrf_token": token_in(body)})
    assert saved.status_code == 303
    with app.app_context(), tenant_scope(world.tenant_id):
        assert db.session.get(Application, application_id).title == "Warsztaty w świetlicy"


def test_any_other_expired_form_lists_what_was_sent_with_a_send_again_button(guarded, world):  # noqa: F811
    anna = login(site_client(guarded), "anna@example.org")
    response = anna.post("/calls/lpm-2027/apply", data={"profile_id": str(world.profile_id)})
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and EXPIRED in body and "Wyślij ponownie" in body
    forms = post_forms(body)
    resend = next(f for f in forms if f["action"] == "/calls/lpm-2027/apply")
    assert {"csrf_token", "profile_id"} <= resend["inputs"]
    again = anna.post("/calls/lpm-2027/apply", data={"profile_id": str(world.profile_id),
                                                     "csrf_token": token_in(body)})
    assert again.status_code == 303


def test_a_logged_out_person_sees_what_they_typed_and_no_password_is_echoed(guarded, world):  # noqa: F811
    site = site_client(guarded)
    response = site.post(f"/profiles/{world.profile_id}/edit",
                         data={"name": "Stowarzyszenie Nowe", "password": "tajne-haslo-123"})
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Stowarzyszenie Nowe" in body and "tajne-haslo-123" not in body
    assert "Sesja logowania wygasła" in body


# --- headers ------------------------------------------------------------------------------

def test_security_headers_on_every_page(create_tenant, create_user, clients):
    create_tenant("gmina-a")
    create_user("anna@example.org", roles=["applicant"])
    site = clients("gmina-a")
    anonymous = site.get("/")
    headers = anonymous.headers
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "no-store" not in (headers.get("Cache-Control") or "")
    site.login("anna@example.org")
    private = site.get("/applications")
    assert private.status_code == 200
    assert private.headers["Cache-Control"] == "no-store"
    assert private.headers["X-Content-Type-Options"] == "nosniff"
    assert site.get("/nie-ma-takiej").headers["X-Content-Type-Options"] == "nosniff"


def test_no_hsts_over_plain_http_when_https_is_not_preferred(make_app, create_tenant):
    create_tenant("gmina-a")
    plain = make_app(PREFERRED_URL_SCHEME="http")
    response = plain.test_client().get("/", headers={"Host": host("gmina-a")},
                                       base_url=f"http://{host('gmina-a')}")
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response.headers
    secure = plain.test_client().get("/", headers={"Host": host("gmina-a")},
                                     base_url=f"https://{host('gmina-a')}")
    assert "Strict-Transport-Security" in secure.headers


# --- accounts -----------------------------------------------------------------------------

def test_password_reset_is_rate_limited(make_app, create_tenant, create_user, outbox):
    create_tenant("gmina-a")
    create_user("anna@example.org")
    limited = make_app(LOGIN_RATE_LIMIT="3 per minute")
    site = HostClient(limited, host("gmina-a"))
    codes = [site.post("/reset", data={"email": "anna@example.org"}).status_code
             for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = site.post("/reset", data={"email": "anna@example.org"})
    assert "Zbyt wiele prób" in refused.get_data(as_text=True)
    assert len(outbox()) == 3


def test_a_common_password_is_refused_at_registration(create_tenant, clients):
    create_tenant("gmina-a")
    response = clients("gmina-a").post("/register", data={
        "email": "jan.nowy@example.org", "password": "qwertyuiop", "password_again": "qwertyuiop"})
    assert response.status_code == 200 and 'id="password-error"' in response.get_data(True)


# --- uploads ------------------------------------------------------------------------------

@pytest.fixture
def uploads(tmp_path, app):
    folder = tmp_path / "uploads"
    app.config["UPLOAD_FOLDER"] = str(folder)
    yield folder
    app.config.pop("UPLOAD_FOLDER", None)


def test_only_a_manager_may_upload_and_nothing_is_stored_otherwise(app, create_tenant,
                                                                   create_user, clients,
                                                                   uploads):
    tenant_id = create_tenant("gmina-a", variants=["lpm"])
    create_user("anna@example.org", roles=["applicant"])
    call_id, _ref = make_call(app, tenant_id)
    anna = clients("gmina-a")
    anna.login("anna@example.org")
    assert upload(anna, call_id, PDF).status_code == 403
    assert upload(clients("gmina-a"), call_id, PDF).status_code in (302, 401, 403)
    assert list(uploads.glob("**/*.pdf")) == []


def test_a_nul_byte_in_a_form_is_refused_and_nothing_is_saved(app, create_tenant, create_user,
                                                              clients):
    """PostgreSQL cannot store NUL in text; no browser sends one: 400, not a server error."""
    create_tenant("gmina-a")
    create_user("anna@example.org", roles=["applicant"])
    site = clients("gmina-a")
    site.login("anna@example.org")
    response = site.post("/profiles/new?kind=ngo", data={"name": "Stowarzyszenie\x00Lipiny"})
    assert response.status_code == 400
    assert site.get("/profiles/").status_code == 200
    assert "Stowarzyszenie" not in site.get("/profiles/").get_data(as_text=True)
    assert site.get("/calls?q=a\x00b").status_code == 400
