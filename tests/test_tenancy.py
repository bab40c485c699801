"""Host → tenant resolution, tenant definitions and the tenant filter."""
from __future__ import annotations

from conftest import BASE


def test_main_host_shows_the_tenant_site(create_tenant, clients):
    create_tenant("gmina-a", name="Gmina A")
    response = clients("gmina-a").get("/")
    assert response.status_code == 200
    assert "Gmina A" in response.get_data(as_text=True)


def test_secondary_host_redirects_permanently_to_main_host(create_tenant, clients):
    create_tenant("gmina-a", hosts=["www.gmina-a.example.org"])
    response = clients(None).http.get("/calls?page=2", headers={"Host": "www.gmina-a.example.org"})
    assert response.status_code == 301
    assert response.headers["Location"] == f"https://gmina-a.{BASE}/calls?page=2"


def test_unknown_host_gets_plain_404(create_tenant, clients):
    create_tenant("gmina-a", name="Gmina A")
    response = clients("nieznana").get("/")
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert "Gmina A" not in body and "<nav" not in body


def test_forged_host_outside_trusted_hosts_is_refused(create_tenant, clients):
    create_tenant("gmina-a")
    response = clients(None).http.get("/", headers={"Host": "evil.example.com"})
    assert response.status_code == 400


def test_base_host_home_leads_to_console(clients):
    response = clients(None).get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/console/")


# --- tenant definitions: flask tenants sync / create / list ----------------------------

import textwrap  # noqa: E402

import pytest  # noqa: E402


def write_tenant(folder, slug, body):
    path = folder / slug / "tenant.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def tenant_rows(app):
    from core.db import db
    from core.tenancy.models import Tenant

    with app.app_context():
        return {t.slug: (t.name, t.variants, t.secondary_hosts, t.branding)
                for t in db.session.scalars(db.select(Tenant))}


def test_sync_creates_then_is_idempotent(app, tmp_path):
    write_tenant(tmp_path, "lipiny", """
        name = "Gmina Lipiny"
        hosts = ["gmina-a.example.org"]
        variants = ["lpm"]
        [branding]
        primary_color = "#1d4f91"
    """)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["tenants", "sync", "--dir", str(tmp_path)])
    assert first.exit_code == 0, first.output
    assert "1 created" in first.output
    assert tenant_rows(app)["lipiny"] == ("Gmina Lipiny", ["lpm"], ["gmina-a.example.org"],
                                         {"primary_color": "#1d4f91"})
    second = runner.invoke(args=["tenants", "sync", "--dir", str(tmp_path)])
    assert second.exit_code == 0
    assert "0 created, 0 updated, 1 unchanged" in second.output
    listing = runner.invoke(args=["tenants", "list"])
    assert "lipiny" in listing.output and "gmina-a.example.org" in listing.output


def test_sync_keeps_a_variant_whose_plugin_is_missing_as_unavailable(app, tmp_path):
    write_tenant(tmp_path, "lipiny", 'name = "Gmina Lipiny"\nvariants = ["no_such_variant"]\n')
    result = app.test_cli_runner().invoke(args=["tenants", "sync", "--dir", str(tmp_path)])
    assert result.exit_code == 0
    assert "Warning: lipiny: variant 'no_such_variant' is not installed" in result.output
    assert tenant_rows(app)["lipiny"][1] == ["no_such_variant"]
    listing = app.test_cli_runner().invoke(args=["tenants", "list"])
    assert "no_such_variant (unavailable)" in listing.output


def test_sync_updates_changed_definition(app, tmp_path):
    path = write_tenant(tmp_path, "lipiny", 'name = "Gmina Lipiny"\n')
    runner = app.test_cli_runner()
    runner.invoke(args=["tenants", "sync", "--dir", str(tmp_path)])
    path.write_text('name = "Gmina Lipiny Wielkie"\n', encoding="utf-8")
    result = runner.invoke(args=["tenants", "sync", "--dir", str(tmp_path)])
    assert "1 updated" in result.output
    assert tenant_rows(app)["lipiny"][0] == "Gmina Lipiny Wielkie"


@pytest.mark.parametrize("body, line, words", [
    ('name = "Gmina Zła"\nvariants = ["lpm"\nhosts = []\n', 3, "Unclosed array"),
    ('name = "Gmina Zła"\n\ncolour = "red"\n', 3, "unknown key 'colour'"),
    ('name = "Gmina Zła"\nvariants = "lpm"\n', 2, "must be a list"),
    ('name = "Gmina Zła"\n[branding]\nprimary_color = "#ffff00"\n', 2, "za jasny"),
])
def test_malformed_tenant_file_stops_sync_with_file_and_line(app, tmp_path, body, line, words):
    write_tenant(tmp_path, "aaa-dobra", 'name = "Gmina Dobra"\n')
    path = write_tenant(tmp_path, "zla", body)
    result = app.test_cli_runner().invoke(args=["tenants", "sync", "--dir", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{path}:{line}" in result.output
    assert words in result.output
    assert "Nothing was changed." in result.output
    assert tenant_rows(app) == {}  # the good file was not applied either


def test_two_files_claiming_one_host_change_nothing(app, tmp_path):
    write_tenant(tmp_path, "pierwsza", 'name = "A"\nhosts = ["gmina-a.example.org"]\n')
    write_tenant(tmp_path, "druga", 'name = "B"\nhosts = ["gmina-a.example.org"]\n')
    result = app.test_cli_runner().invoke(args=["tenants", "sync", "--dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "gmina-a.example.org" in result.output
    assert tenant_rows(app) == {}


def test_tenants_create_enables_every_installed_variant_by_default(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["tenants", "create", "lipiny", "--name", "Gmina Lipiny"])
    assert result.exit_code == 0, result.output
    installed = sorted(app.extensions["mikrogranty.plugins"].variants)
    assert tenant_rows(app)["lipiny"][1] == installed
    again = runner.invoke(args=["tenants", "create", "lipiny", "--name", "Inna"])
    assert again.exit_code == 1
    assert "slug" in again.output
    bad = runner.invoke(args=["tenants", "create", "www", "--name", "X"])
    assert bad.exit_code == 1 and "„www” jest zastrzeżony" in bad.output


# --- the tenant filter -----------------------------------------------------------------

def test_query_without_tenant_condition_cannot_see_other_tenant(app, create_tenant,
                                                                create_user):
    from core.accounts.models import Membership
    from core.db import db, platform_scope, tenant_scope

    a = create_tenant("gmina-a")
    b = create_tenant("gmina-b")
    create_user("anna@example.org", roles=["applicant"], tenant="gmina-a")
    create_user("bogdan@example.org", roles=["applicant", "evaluator"], tenant="gmina-b")
    with app.app_context():
        with tenant_scope(a):
            assert {m.role for m in db.session.scalars(db.select(Membership))} == {"applicant"}
        with tenant_scope(b):
            assert len(db.session.scalars(db.select(Membership)).all()) == 2
        # no tenant at all: nothing
        assert db.session.scalars(db.select(Membership)).all() == []
        with platform_scope("test: totals"):
            assert len(db.session.scalars(db.select(Membership)).all()) == 3


def test_writing_a_row_of_another_tenant_is_refused(app, create_tenant, create_user):
    from core.accounts.models import Membership
    from core.db import CrossTenantWrite, db, tenant_scope

    a = create_tenant("gmina-a")
    b = create_tenant("gmina-b")
    user_id = create_user("anna@example.org")
    with app.app_context():
        with tenant_scope(a):
            db.session.add(Membership(user_id=user_id, role="applicant", tenant_id=b))
            with pytest.raises(CrossTenantWrite):
                db.session.flush()
            db.session.rollback()


def test_platform_scope_is_audited_with_its_reason(app):
    from core.audit.models import AuditEvent
    from core.db import db, platform_scope

    with app.app_context():
        with platform_scope("operator totals for the annual report"):
            events = db.session.scalars(db.select(AuditEvent).where(
                AuditEvent.action == "platform.scope")).all()
        assert [e.changes["reason"] for e in events] == ["operator totals for the annual report"]
        with pytest.raises(ValueError):
            with platform_scope(""):
                pass
