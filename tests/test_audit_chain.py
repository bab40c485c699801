"""The audit trail: append-only, hash-chained per tenant, checked by `flask audit verify`."""
from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from conftest import is_postgres, need_service
from sql_guard import allowed


@pytest.fixture
def history(app, create_tenant, create_user):
    """A few events in two municipalities and on the platform."""
    from core.audit.operations import record
    from core.db import db, platform_scope, tenant_scope

    a, b = create_tenant("gmina-a"), create_tenant("gmina-b")
    create_user("urz-a@example.org", roles=["official"], tenant="gmina-a")
    with app.app_context():
        for tenant, n in ((a, 3), (b, 2), (a, 2)):
            with tenant_scope(tenant):
                for i in range(n):
                    record("test.decision", changes={"status": ["draft", f"step {i}"],
                                                     "amount": ["1500.00", "1499.99"]})
                db.session.commit()
        with platform_scope("test: a platform event"):
            pass
    return a, b


def _events(app):
    from core.audit.models import AuditEvent
    from core.db import Scope, db, reset_scope, set_scope

    with app.app_context():
        token = set_scope(Scope(platform=True, reason="tests"))
        try:
            return [(e.id, e.tenant_id, e.prev_hash, e.hash)
                    for e in db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id))]
        finally:
            reset_scope(token)


def verify(app, *args):
    return app.test_cli_runner().invoke(args=["audit", "verify", *args])


def _tamper(app, sql, **params):
    """Change the trail behind the app's back, as the database's superuser would."""
    from core.db import db

    with app.app_context(), allowed(), db.engine.begin() as conn:
        postgres = conn.dialect.name == "postgresql"
        if postgres:  # even the owner has to switch the guard off first
            conn.execute(sa.text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
        conn.execute(sa.text(sql), params)
        if postgres:
            conn.execute(sa.text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only"))


def test_each_event_is_chained_to_the_one_before_in_its_tenant(app, history):
    from core.audit.chain import GENESIS

    a, b = history
    events = _events(app)
    assert all(len(h) == 64 for _id, _t, _p, h in events)
    for tenant in (a, b, None):
        chain = [e for e in events if e[1] == tenant]
        assert chain, tenant
        assert chain[0][2] == GENESIS
        for before, after in zip(chain, chain[1:]):
            assert after[2] == before[3]
    assert len({h for *_x, h in events}) == len(events)


def test_verify_passes_on_a_normal_history(app, history):
    result = verify(app)
    assert result.exit_code == 0, result.output
    count = len(_events(app))
    assert f"{count} events, chain intact" in result.output
    one = verify(app, "--tenant", "gmina-b")
    assert one.exit_code == 0, one.output
    in_b = len([e for e in _events(app) if e[1] == history[1]])
    assert f"{in_b} events, chain intact" in one.output


def test_a_changed_event_is_found(app, history):
    a, _b = history
    victim = [e for e in _events(app) if e[1] == a][3][0]
    _tamper(app, "UPDATE audit_event SET changes = :c WHERE id = :id",
            c='{"status": ["draft", "awarded"]}', id=victim)
    result = verify(app)
    assert result.exit_code == 1
    assert f"audit event #{victim} (tenant {a} chain) was altered" in result.output
    assert verify(app, "--tenant", "gmina-a").exit_code == 1
    # The other municipality's chain still holds.
    assert verify(app, "--tenant", "gmina-b").exit_code == 0


def test_a_changed_actor_or_time_is_found(app, history):
    a, _b = history
    victim = [e for e in _events(app) if e[1] == a][0][0]
    _tamper(app, "UPDATE audit_event SET actor_id = NULL, object_id = 7 WHERE id = :id",
            id=victim)
    result = verify(app, "--tenant", "gmina-a")
    assert result.exit_code == 1
    assert f"#{victim}" in result.output


def test_a_removed_event_is_found(app, history):
    a, _b = history
    chain = [e for e in _events(app) if e[1] == a]
    _tamper(app, "DELETE FROM audit_event WHERE id = :id", id=chain[2][0])
    result = verify(app)
    assert result.exit_code == 1
    assert f"audit event #{chain[3][0]} (tenant {a} chain) does not follow" in result.output


def test_a_rehashed_event_still_breaks_the_link_after_it(app, history):
    """Recomputing the changed event's own hash does not help: the next one points back."""
    from core.audit.chain import compute_hash
    from core.audit.models import AuditEvent
    from core.db import db, tenant_scope

    a, _b = history
    chain = [e for e in _events(app) if e[1] == a]
    with app.app_context(), tenant_scope(a):
        event = db.session.execute(db.select(AuditEvent).where(AuditEvent.id == chain[1][0])
                                   ).scalar_one()
        event.changes = {"status": ["draft", "awarded"]}
        forged = compute_hash(event, event.prev_hash)
        db.session.rollback()
    _tamper(app, "UPDATE audit_event SET changes = :c, hash = :h WHERE id = :id",
            c='{"status": ["draft", "awarded"]}', h=forged, id=chain[1][0])
    result = verify(app)
    assert result.exit_code == 1
    assert f"#{chain[2][0]}" in result.output and "does not follow" in result.output


def test_verify_names_an_unknown_municipality(app, history):
    result = verify(app, "--tenant", "gmina-x")
    assert result.exit_code == 2
    assert "gmina-x" in result.output


def test_in_postgresql_nobody_updates_or_deletes_audit_events(app, history):
    need_service("PostgreSQL", is_postgres(), "the trigger and grants are PostgreSQL's")
    from core.db import db
    from test_rls import app_role_url

    a, _b = history
    victim = [e for e in _events(app) if e[1] == a][0][0]
    engine = sa.create_engine(app_role_url(app))
    try:
        with allowed():
            for sql in ("UPDATE audit_event SET action = 'x' WHERE id = :id",
                        "DELETE FROM audit_event WHERE id = :id"):
                with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                    with engine.begin() as conn:
                        conn.execute(sa.text("SELECT set_config('mikrogranty.tenant_id', :t, true)"),
                                     {"t": str(a)})
                        conn.execute(sa.text(sql), {"id": victim})
            # It may still add to the trail and read it.
            with engine.begin() as conn:
                conn.execute(sa.text("SELECT set_config('mikrogranty.tenant_id', :t, true)"),
                             {"t": str(a)})
                assert conn.execute(sa.text("SELECT count(*) FROM audit_event")).scalar() == len(
                    [e for e in _events(app) if e[1] == a])
            # The owner (here the superuser) is stopped by the trigger.
            with app.app_context():
                for sql in ("UPDATE audit_event SET action = 'x' WHERE id = :id",
                            "DELETE FROM audit_event WHERE id = :id"):
                    with pytest.raises(sa.exc.ProgrammingError, match="append-only"):
                        with db.engine.begin() as conn:
                            conn.execute(sa.text(sql), {"id": victim})
    finally:
        engine.dispose()
    assert verify(app).exit_code == 0


def test_concurrent_appends_keep_one_chain(app, history):
    """Eight transactions append to one tenant's trail at once: no fork (PostgreSQL locks
    the chain's head; SQLite has one writer at a time)."""
    need_service("PostgreSQL", is_postgres(), "concurrent writers need a server database")
    from core.audit.operations import record
    from core.db import db, tenant_scope

    a, _b = history
    before = len([e for e in _events(app) if e[1] == a])
    errors = []
    barrier = threading.Barrier(8)

    def append(n):
        try:
            with app.app_context(), tenant_scope(a):
                barrier.wait(timeout=10)
                for i in range(3):
                    record("test.concurrent", changes={"writer": n, "i": i})
                    db.session.commit()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    result = verify(app, "--tenant", "gmina-a")
    assert result.exit_code == 0, result.output
    assert f"{before + 24} events, chain intact" in result.output
