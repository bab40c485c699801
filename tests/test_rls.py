"""PostgreSQL row-level security: the app's own role cannot see or write across tenants,
even with raw SQL; an unset tenant sees nothing; the platform role sees everything.

The normal test app connects as the superuser (which bypasses row security); these tests
create the roles with ``core.cli.create_roles`` and connect as ``mikrogranty_app``.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from conftest import is_postgres, need_service
from sql_guard import allowed

APP_PASSWORD = "mikrogranty-app-test"


def app_role_url(app) -> sa.engine.URL:
    """Create the roles (idempotent) and return the database URL of ``mikrogranty_app``."""
    from core.cli import create_roles
    from core.db import db

    with app.app_context():
        with db.engine.begin() as conn:
            create_roles(conn, APP_PASSWORD)
        return db.engine.url.set(username="mikrogranty_app", password=APP_PASSWORD)


@pytest.fixture
def app_role_engine(app):
    need_service("PostgreSQL", is_postgres(), "row-level security is PostgreSQL's")
    engine = sa.create_engine(app_role_url(app))
    try:
        with allowed():  # these tests reach across tenants on purpose
            yield engine
    finally:
        engine.dispose()


@pytest.fixture
def two_tenants(create_tenant, create_user):
    a, b = create_tenant("gmina-a"), create_tenant("gmina-b")
    create_user("urz-a@example.org", roles=["official"], tenant="gmina-a")
    create_user("ocena-a@example.org", roles=["evaluator"], tenant="gmina-a")
    create_user("urz-b@example.org", roles=["official"], tenant="gmina-b")
    return a, b


def _membership_tenants(conn) -> list[int]:
    return [row[0] for row in conn.execute(sa.text("SELECT tenant_id FROM membership"))]


def _as_tenant(conn, tenant_id) -> None:
    conn.execute(sa.text("SELECT set_config('mikrogranty.tenant_id', :t, true)"),
                 {"t": str(tenant_id)})


def test_the_app_role_is_not_privileged(app_role_engine):
    with app_role_engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")).one()
        owners = conn.execute(sa.text(
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() "
            "AND tableowner = current_user")).scalar()
    assert tuple(row) == (False, False)
    assert owners == 0


def test_a_tenant_sees_only_its_rows_even_with_raw_sql(app_role_engine, two_tenants):
    a, b = two_tenants
    with app_role_engine.begin() as conn:
        _as_tenant(conn, a)
        assert sorted(_membership_tenants(conn)) == [a, a]
        _as_tenant(conn, b)
        assert _membership_tenants(conn) == [b]


def test_an_unset_tenant_sees_nothing(app_role_engine, two_tenants):
    with app_role_engine.begin() as conn:
        assert _membership_tenants(conn) == []
        assert conn.execute(sa.text("SELECT count(*) FROM audit_event")).scalar() == 0
    # The setting is local to a transaction: the next one starts unset again.
    with app_role_engine.begin() as conn:
        _as_tenant(conn, two_tenants[0])
    with app_role_engine.begin() as conn:
        assert _membership_tenants(conn) == []


def test_writing_a_row_of_another_tenant_is_refused(app_role_engine, two_tenants):
    a, b = two_tenants
    with app_role_engine.connect() as conn:
        user_id = conn.execute(sa.text(
            "SELECT id FROM user_account WHERE email = 'urz-a@example.org'")).scalar_one()
    for values in ({"tenant": b}, {"tenant": None}):
        with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
            with app_role_engine.begin() as conn:
                _as_tenant(conn, a)
                conn.execute(sa.text(
                    "INSERT INTO membership (tenant_id, user_id, role, created_at) "
                    "VALUES (:tenant, :user, 'official', now())"), {**values, "user": user_id})
    with app_role_engine.begin() as conn:
        _as_tenant(conn, a)
        # Moving one's own row to another tenant is refused too, and B's rows cannot be touched.
        with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
            with conn.begin_nested():
                conn.execute(sa.text("UPDATE membership SET tenant_id = :b"), {"b": b})
        assert conn.execute(sa.text("DELETE FROM membership WHERE tenant_id = :b"),
                            {"b": b}).rowcount == 0


def test_the_platform_role_sees_every_tenant(app_role_engine, two_tenants):
    a, b = two_tenants
    with app_role_engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL ROLE mikrogranty_platform"))
        assert sorted(_membership_tenants(conn)) == [a, a, b]
    with app_role_engine.begin() as conn:  # and only for that transaction
        assert _membership_tenants(conn) == []


def test_the_app_sets_the_tenant_per_transaction(app, make_app, app_role_engine, two_tenants):
    """The app itself, connected as mikrogranty_app: its scope decides what raw SQL sees."""
    from core.db import db, platform_scope, tenant_scope

    a, b = two_tenants
    restricted = make_app(DATABASE_URL=app_role_url(app).render_as_string(hide_password=False))
    try:
        with restricted.app_context():
            with tenant_scope(a):
                assert sorted(_membership_tenants(db.session)) == [a, a]
                db.session.rollback()
            # No scope: nothing, whatever the query says.
            assert _membership_tenants(db.session) == []
            # The scope changed within one transaction: the setting follows it.
            with tenant_scope(b):
                assert _membership_tenants(db.session) == [b]
            db.session.rollback()
            with platform_scope("test: the platform role reads every tenant"):
                assert sorted(_membership_tenants(db.session)) == [a, a, b]
                db.session.rollback()
            assert _membership_tenants(db.session) == []
            db.session.rollback()
            db.engine.dispose()
    finally:
        with restricted.app_context():
            db.session.remove()


def test_every_tenant_table_has_row_level_security_forced(app):
    need_service("PostgreSQL", is_postgres(), "row-level security is PostgreSQL's")
    from core.db import db, tenant_scoped_models

    tables = {model.__table__.name for model in tenant_scoped_models()}
    assert {"membership", "application", "audit_event"} <= tables
    with app.app_context(), db.engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
            "EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid "
            "        AND p.polname = 'tenant_isolation') "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r'")).all()
    found = {name: (enabled, forced, policy) for name, enabled, forced, policy in rows}
    missing = tables - set(found)
    assert not missing, f"tenant tables not in the database: {sorted(missing)}"
    unprotected = sorted(t for t in tables if found[t] != (True, True, True))
    assert unprotected == [], f"tenant tables without forced row-level security: {unprotected}"
    # Plugins' tables are covered by the same generic step (the sample plugin's, here).
    assert "sample_note" in tables
