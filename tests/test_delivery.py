"""E-mail delivery on real services: at most once per notification, nothing lost.

An SMTP sink stands in for the mail server; the fault tests start their own
``redis-server`` on a spare port and real worker processes, and kill or hang a worker
at named points of a delivery (tests/fault_worker.py).
"""
from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import BASE, PASSWORD, is_postgres, need_service
from services import Process, RedisServer, SmtpSink, free_port, run_flask, worker_env
from test_applications import _fill, _login, _start, world  # noqa: F401

TESTS = Path(__file__).resolve().parent


def _rows(app):
    from core.db import db, platform_scope
    from core.notifications.models import OutboxMessage

    with app.app_context(), platform_scope("tests"):
        return [{c: getattr(m, c) for c in ("id", "recipient", "status", "attempts", "error",
                                            "message_id", "key", "template", "sent_at")}
                for m in db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id))]


def _smtp_app(make_app, sink_port, **overrides):
    return make_app(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=sink_port,
                    MAIL_TIMEOUT=5, **overrides)


def _register(application, email="anna@example.org", slug="gmina-a"):
    from conftest import HostClient

    site = HostClient(application, f"{slug}.{BASE}")
    response = site.post("/register", data={"email": email, "password": PASSWORD,
                                            "password_again": PASSWORD})
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]


# --- delivery over SMTP ----------------------------------------------------------------------

def test_a_message_reaches_the_mail_server_with_its_own_message_id(make_app, app,
                                                                   create_tenant):
    create_tenant("gmina-a", name="Gmina Lipiny")
    with SmtpSink() as sink:
        _register(_smtp_app(make_app, sink.port))
        (mail,) = sink.wait_for(1)
        sink.wait_quiet(0.5)
    (row,) = _rows(app)
    assert row["status"] == "sent" and row["attempts"] == 1 and row["error"] is None
    assert mail["To"] == "anna@example.org"
    assert mail["Message-ID"] == row["message_id"] and row["message_id"].startswith("<")
    assert mail["From"].addresses[0].display_name == "Gmina Lipiny"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["List-Unsubscribe"] is None  # a confirmation is not optional
    assert mail.get_body(("plain",)) is not None
    assert mail.get_body(("html",)) is not None


def test_a_municipality_may_send_from_its_own_address(make_app, app, create_tenant):
    from core.db import db
    from core.tenancy.models import Tenant

    tenant_id = create_tenant("gmina-a", name="Gmina Lipiny")
    with app.app_context():
        tenant = db.session.get(Tenant, tenant_id)
        tenant.settings = {**tenant.settings, "mail_from": "granty@lipiny.example.org",
                           "mail_reply_to": "sekretariat@lipiny.example.org"}
        db.session.commit()
    with SmtpSink() as sink:
        _register(_smtp_app(make_app, sink.port))
        (mail,) = sink.wait_for(1)
    assert str(mail["From"]) == "Gmina Lipiny <granty@lipiny.example.org>"
    assert str(mail["Reply-To"]) == "sekretariat@lipiny.example.org"


def test_an_unreachable_mail_server_keeps_the_message_and_the_sweep_sends_it(
        make_app, app, create_tenant):
    from core.schedule import tick

    create_tenant("gmina-a")
    port = free_port()  # nobody listens here yet
    application = _smtp_app(make_app, port, MAIL_RETRY_INTERVALS=[60, 300])
    _register(application)
    (row,) = _rows(app)
    assert (row["status"], row["attempts"]) == ("queued", 1)
    assert "ConnectionRefusedError" in row["error"]
    with SmtpSink(port=port) as sink:
        with application.app_context():
            # Not before the next attempt is due (a minute later) …
            assert tick().enqueued == 0
            later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=11)
            assert tick(later).enqueued == 1
        (mail,) = sink.wait_for(1)
        sink.wait_quiet(0.5)
    (row,) = _rows(app)
    assert (row["status"], row["attempts"], row["error"]) == ("sent", 2, None)
    assert mail["Message-ID"] == row["message_id"]


def test_after_the_last_attempt_staff_see_it_and_send_it_again(make_app, app, create_tenant,
                                                               create_user):
    create_tenant("gmina-a")
    create_user("operator@example.org", platform_role="operator_staff")
    port = free_port()
    application = _smtp_app(make_app, port, MAIL_MAX_ATTEMPTS=1)
    _register(application)
    (row,) = _rows(app)
    assert row["status"] == "failed"
    from conftest import HostClient

    console = HostClient(application, BASE)
    console.login("operator@example.org")
    page = console.get("/console/jobs").get_data(as_text=True)
    assert "Niedoręczone wiadomości" in page and "anna@example.org" in page
    assert "ConnectionRefusedError" in page
    with SmtpSink(port=port) as sink:
        response = console.post(f"/console/outbox/{row['id']}/send-again")
        assert response.status_code == 303
        (mail,) = sink.wait_for(1)
    assert _rows(app)[0]["status"] == "sent"
    page = console.get("/console/jobs").get_data(as_text=True)
    assert f"/console/outbox/{row['id']}/send-again" not in page
    from core.audit.models import AuditEvent
    from core.db import db, platform_scope

    with app.app_context(), platform_scope("tests"):
        assert db.session.execute(db.select(AuditEvent.action).where(
            AuditEvent.action == "outbox.send_again")).scalar_one()


def test_one_key_one_message(app, create_tenant):
    from core.db import db, tenant_scope
    from core.notifications.operations import send_mail
    from core.tenancy.models import Tenant

    tenant_id = create_tenant("gmina-a")
    with app.test_request_context(), tenant_scope(tenant_id):
        tenant = db.session.get(Tenant, tenant_id)
        first = send_mail("anna@example.org", "password_reset", tenant=tenant, key="k-1",
                          reset_url="https://x")
        db.session.commit()
        second = send_mail("anna@example.org", "password_reset", tenant=tenant, key="k-1",
                           reset_url="https://x")
        db.session.commit()
        assert first.id == second.id
    assert len(_rows(app)) == 1


# --- a worker that dies at a named point ------------------------------------------------------

def _redis_or_skip():
    need_service("redis-server", RedisServer.binary() is not None,
                 "apt-get install redis-server")


def _queue_a_message(make_app, app, redis, sink, create_tenant):
    """One outbox message, enqueued on the test's own Redis (not yet delivered)."""
    create_tenant("gmina-a")
    application = _smtp_app(make_app, sink.port, REDIS_URL=redis.url,
                            RQ_QUEUE_PREFIX="mikrogranty", JOB_RETRY_INTERVALS=[0, 0],
                            JOB_TIMEOUT=3)  # a short job timeout, for the hanging worker
    _register(application)
    (row,) = _rows(app)
    assert row["status"] == "queued"
    return application, row


@pytest.mark.parametrize("point, outcome", [
    ("before_send", "sent"),         # killed before the claim: retried and delivered
    ("after_send", "failed"),        # killed after the server took it: never sent twice
    ("hang_after_send", "failed"),   # stopped by the job timeout at the same place
])
def test_a_worker_killed_mid_delivery_never_sends_twice(make_app, app, app_config,
                                                       create_tenant, tmp_path, point,
                                                       outcome):
    _redis_or_skip()
    with RedisServer() as redis, SmtpSink() as sink:
        application, row = _queue_a_message(make_app, app, redis, sink, create_tenant)
        env = worker_env(app_config, REDIS_URL=redis.url, MAIL_BACKEND="smtp",
                         MAIL_SERVER="127.0.0.1", MAIL_PORT=str(sink.port), JOB_TIMEOUT="3",
                         JOB_RETRY_INTERVALS="0,0", MAIL_SENDING_LEASE="1")
        marker = tmp_path / "fault"
        worker = Process([sys.executable, str(TESTS / "fault_worker.py"), point, str(marker)],
                         env, name="fault-worker")
        try:
            assert worker.wait(timeout=90) == 0, worker.output()
        finally:
            worker.kill()
        assert marker.read_text() == point, worker.output()  # the fault did happen
        messages = sink.wait_quiet(1.0)
        assert len(messages) == 1, worker.output()
        assert [m["Message-ID"] for m in messages] == [row["message_id"]]
        # The sweep after the lease: a delivery cut off mid-way is marked failed, not resent.
        result = run_flask(env, "jobs", "tick")
        assert result.returncode == 0, result.stderr
        sink.wait_quiet(1.0)
        assert len(sink.messages) == 1
        (after,) = _rows(app)
        assert after["status"] == outcome, after
        if outcome == "failed":
            assert "may have been delivered" in after["error"]
            listed = run_flask(env, "jobs", "failed")
            assert f"e-mail {row['id']} to anna@example.org" in listed.stdout


# --- Redis down during a submission ------------------------------------------------------------

def test_redis_down_during_a_submission_loses_nothing(make_app, app, app_config, world,
                                                      tmp_path):
    _redis_or_skip()
    from conftest import HostClient

    with RedisServer() as redis, SmtpSink() as sink:
        application = _smtp_app(make_app, sink.port, REDIS_URL=redis.url,
                                RQ_QUEUE_PREFIX="mikrogranty",
                                RATELIMIT_STORAGE_URI=redis.url)
        site = HostClient(application, f"gmina-a.{BASE}")
        site.login("anna@example.org")
        application_id = _start(site, world)
        _fill(site, world, application_id)
        redis.stop()
        summary = site.get(f"/applications/{application_id}/summary").get_data(as_text=True)
        token = re.search(r'name="token" value="([^"]+)"', summary).group(1)
        response = site.post(f"/applications/{application_id}/submit", data={"token": token})
        assert response.status_code == 303
        receipt = site.get(response.headers["Location"]).get_data(as_text=True)
        assert "LPM-2027/0001" in receipt
        (row,) = _rows(app)
        assert (row["template"], row["status"]) == ("submission_receipt", "queued")
        assert sink.messages == []
        # Redis is back: the sweep enqueues what waited, a worker delivers it, once.
        redis.start()
        env = worker_env(app_config, REDIS_URL=redis.url, MAIL_BACKEND="smtp",
                         MAIL_SERVER="127.0.0.1", MAIL_PORT=str(sink.port),
                         MAIL_REQUEUE_AFTER="0")
        result = run_flask(env, "jobs", "tick")
        assert result.returncode == 0 and "e-mails enqueued: 1" in result.stdout, result
        worker = Process([sys.executable, "-m", "flask", "--app", "core", "jobs", "worker",
                          "--burst", "--without-scheduler"], env, name="worker")
        assert worker.wait(timeout=90) == 0, worker.output()
        (mail,) = sink.wait_for(1)
        sink.wait_quiet(0.5)
        assert "LPM-2027/0001" in mail["Subject"]
        assert _rows(app)[0]["status"] == "sent"


# --- PostgreSQL restarts -----------------------------------------------------------------------

def test_the_app_recovers_when_postgresql_drops_its_connections(app, create_tenant, clients):
    need_service("PostgreSQL", is_postgres(), "set DATABASE_URL=postgresql://…")
    from core.db import db

    create_tenant("gmina-a")
    site = clients("gmina-a")
    assert site.get("/").status_code == 200
    with app.app_context():
        with db.engine.connect() as conn:
            killed = conn.execute(sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND usename = current_user")).scalar()
    assert killed >= 1  # the app's pooled connection was among them
    # The pool notices the dead connections (pre-ping) and opens new ones.
    assert site.get("/").status_code == 200
    assert site.get("/calls").status_code == 200



def test_failed_jobs_are_shown_to_staff_and_run_again(make_app, app, app_config, create_user,
                                                      create_tenant):
    _redis_or_skip()
    from conftest import HostClient
    from core import jobs

    tenant_id = create_tenant("gmina-a", name="Gmina Lipiny")
    create_user("operator@example.org", platform_role="operator_staff")
    with RedisServer() as redis:
        application = make_app(REDIS_URL=redis.url, RQ_QUEUE_PREFIX="mikrogranty",
                               JOB_RETRY_INTERVALS=[])
        with application.app_context():
            job = jobs.get_queue("documents").enqueue(
                jobs.run_job, "core.notifications.operations:no_such_job", tenant_id, (7,), {})
        env = worker_env(app_config, REDIS_URL=redis.url)
        worker = Process([sys.executable, "-m", "flask", "--app", "core", "jobs", "worker",
                          "--burst", "--without-scheduler"], env, name="worker")
        assert worker.wait(timeout=90) == 0, worker.output()
        console = HostClient(application, BASE)
        console.login("operator@example.org")
        page = console.get("/console/jobs").get_data(as_text=True)
        assert "Nieudane zadania" in page and job.id in page
        assert "AttributeError" in page and "Gmina Lipiny" in page
        assert console.post(f"/console/jobs/{job.id}/retry").status_code == 303
        assert job.id not in console.get("/console/jobs").get_data(as_text=True)
        with application.app_context():
            assert job.id in jobs.get_queue("documents").job_ids  # queued again
        # Someone else was quicker: a clear message, nothing breaks.
        gone = console.post(f"/console/jobs/{job.id}/retry")
        assert "nie ma już wśród nieudanych" in console.get(gone.headers["Location"]).get_data(
            as_text=True)


def test_staff_read_why_a_cut_off_message_was_not_sent_in_their_language(app):
    from types import SimpleNamespace

    from flask_babel import force_locale

    from core.notifications.models import delivery_problem
    from core.notifications.operations import _interrupted

    cut_off = SimpleNamespace(error=_interrupted(TimeoutError("timed out")))
    refused = SimpleNamespace(error="ConnectionRefusedError: [Errno 111] Connection refused")
    with app.test_request_context(), force_locale("pl"):
        assert delivery_problem(cut_off).startswith("Przerwano w trakcie przekazywania")
        assert "mogła zostać doręczona" in delivery_problem(cut_off)
        assert delivery_problem(refused) == refused.error
