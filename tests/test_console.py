"""The operator's console: municipalities created and edited through forms, administrators invited."""
from __future__ import annotations

import re

from conftest import BASE, PASSWORD


def tenant_slugs(app):
    from core.db import db
    from core.tenancy.models import Tenant, TenantHost

    with app.app_context():
        return (sorted(db.session.scalars(db.select(Tenant.slug))),
                sorted(db.session.scalars(db.select(TenantHost.host))))


def form(**values):
    data = {"slug": "lipiny", "name": "Gmina Lipiny", "hosts": "", "locales": ["pl", "en"],
            "variants": [], "primary_color": "#1d4f91", "contact_email": "",
            "description": "Mikrogranty w Lipinach"}
    data.update(values)
    return data


def test_new_municipality_is_reachable_right_after_saving(app, create_user, clients):
    create_user("operator@example.org", platform_role="operator_staff")
    console = clients(None)
    console.login("operator@example.org")
    response = console.post("/console/tenants/new", data=form(variants=["sample_grant"]))
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/console/tenants/lipiny")
    site = clients("lipiny").get("/")
    assert site.status_code == 200
    body = site.get_data(as_text=True)
    assert "Gmina Lipiny" in body and "Mikrogranty w Lipinach" in body
    listing = console.get("/console/").get_data(as_text=True)
    assert "Gmina Lipiny" in listing and f"https://lipiny.{BASE}/" in listing


def test_invalid_slug_gives_form_error_and_saves_nothing(app, create_user, clients):
    create_user("operator@example.org", platform_role="operator_staff")
    console = clients(None)
    console.login("operator@example.org")
    for slug, words in [("Zła Nazwa!", "małych liter"), ("www", "zastrzeżony"),
                        ("api", "zastrzeżony"), ("-abc", "małych liter")]:
        response = console.post("/console/tenants/new", data=form(slug=slug))
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        assert 'id="slug-error"' in body and words in body, slug
        assert "Gmina Lipiny" in body  # what was typed comes back
    assert tenant_slugs(app) == ([], [])


def test_duplicate_host_gives_form_error_and_saves_nothing(app, create_tenant, create_user,
                                                           clients):
    create_tenant("gmina-a", hosts=["gmina-a.example.org"])
    create_user("operator@example.org", platform_role="operator_staff")
    console = clients(None)
    console.login("operator@example.org")
    response = console.post("/console/tenants/new",
                            data=form(hosts="gmina-b.example.org\ngmina-a.example.org"))
    body = response.get_data(as_text=True)
    assert 'id="hosts-error"' in body
    assert "„gmina-a.example.org” należy już do innego samorządu" in body
    assert tenant_slugs(app) == (["gmina-a"], ["gmina-a.example.org"])
    # A host outside TRUSTED_HOSTS would never reach the app: refused with the reason.
    body = console.post("/console/tenants/new", data=form(hosts="gmina.example.net")).get_data(True)
    assert "TRUSTED_HOSTS" in body
    assert tenant_slugs(app) == (["gmina-a"], ["gmina-a.example.org"])


def test_editing_settings_is_saved_and_audited(app, create_tenant, create_user, clients):
    tenant_id = create_tenant("gmina-a", name="Gmina A")
    create_user("operator@example.org", platform_role="operator_staff")
    console = clients(None)
    console.login("operator@example.org")
    page = console.get("/console/tenants/gmina-a").get_data(as_text=True)
    assert 'value="Gmina A"' in page
    response = console.post("/console/tenants/gmina-a", data=form(
        slug="gmina-a", name="Gmina A-Nowa", hosts="gmina-a.example.org",
        primary_color="#7a2e0e"))
    assert response.status_code == 302
    assert "Gmina A-Nowa" in clients("gmina-a").get("/").get_data(as_text=True)
    from core.audit.models import AuditEvent
    from core.db import db, tenant_scope

    with app.app_context(), tenant_scope(tenant_id):
        event = db.session.scalars(db.select(AuditEvent).where(
            AuditEvent.action == "tenant.updated")).one()
        assert event.changes["name"] == ["Gmina A", "Gmina A-Nowa"]
        assert event.actor_id is not None
    # A too light colour is refused and the stored one stays.
    body = console.post("/console/tenants/gmina-a", data=form(
        slug="gmina-a", name="Gmina A-Nowa", primary_color="#eeeeee")).get_data(True)
    assert 'id="primary_color-error"' in body or "za jasny" in body
    assert "#7a2e0e" in clients("gmina-a").get("/theme.css").get_data(as_text=True)


def test_invited_administrator_can_manage_the_municipality(app, create_tenant, create_user,
                                                           clients, outbox):
    create_tenant("gmina-a", name="Gmina A")
    create_user("operator@example.org", platform_role="operator_staff")
    console = clients(None)
    console.login("operator@example.org")
    response = console.post("/console/tenants/gmina-a/invite",
                            data={"invite-email": "wojt@gmina-a.example.org"})
    assert response.status_code == 302
    (recipient, subject, body, _t), = outbox()
    assert recipient == "wojt@gmina-a.example.org"
    assert subject == "Zaproszenie: Gmina A"
    link = re.search(r"https://\S+", body).group(0)
    assert link.startswith(f"https://gmina-a.{BASE}/invitation/")
    site = clients("gmina-a")
    path = "/" + link.split("/", 3)[3]
    assert "administrator" in site.get(path).get_data(as_text=True)
    assert site.post(path, data={"password": PASSWORD}).status_code == 302
    assert site.get("/admin/members").status_code == 200
    # The link works once.
    assert clients("gmina-a").get(path).status_code == 404


def test_tenant_admin_invites_an_evaluator(app, create_tenant, create_user, clients, outbox):
    create_tenant("gmina-a", name="Gmina A")
    create_user("admin@example.org", roles=["admin"], tenant="gmina-a")
    create_user("ewa@example.org")  # has an account from another municipality
    site = clients("gmina-a")
    site.login("admin@example.org")
    assert site.post("/admin/members", data={"email": "ewa@example.org",
                                             "role": "evaluator"}).status_code == 302
    link = re.search(r"https://\S+", outbox()[-1][2]).group(0)
    ewa = clients("gmina-a")
    ewa.post("/" + link.split("/", 3)[3], data={})
    ewa.login("ewa@example.org")
    members = site.get("/admin/members").get_data(as_text=True)
    assert "ewa@example.org" in members and "oceniający" in members
    # Bad input: an unknown role is a form error naming the field.
    body = site.post("/admin/members", data={"email": "x@example.org",
                                             "role": "king"}).get_data(as_text=True)
    assert 'id="role-error"' in body


def test_console_lists_each_municipality_with_its_calls(app, create_tenant, create_user, clients):
    import datetime as dt

    from core.calls.models import Call
    from core.db import db, tenant_scope

    a = create_tenant("gmina-a", name="Gmina A")
    b = create_tenant("gmina-b", name="Gmina B")
    with app.app_context():
        for tenant_id, title in ((a, "Mikrogranty A 2025"), (b, "Mikrogranty B 2025")):
            with tenant_scope(tenant_id):
                db.session.add(Call(ref=title.lower().replace(" ", "-"), title=title,
                                    variant="sample_grant", status="published",
                                    deadline_at=dt.datetime(2025, 3, 31, 21, 59, 59,
                                                            tzinfo=dt.timezone.utc)))
                db.session.commit()
    create_user("operator@example.org", platform_role="operator_staff")
    console = clients(None)
    console.login("operator@example.org")
    body = console.get("/console/").get_data(as_text=True)
    assert 'Mikrogranty A 2025 <span class="status">(ogłoszony, termin 31 mar 2025)' in body
    assert 'Mikrogranty B 2025 <span class="status">(ogłoszony' in body
