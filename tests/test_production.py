"""Smoke test of the production shape: gunicorn with the deployment's settings, a separate
job worker, PostgreSQL, Redis and a real SMTP server.

An applicant logs in and submits her application over HTTP (CSRF on, as in production);
the receipt e-mail leaves through the worker, not the web process, and arrives exactly
once, with the Message-ID the outbox recorded.  The Redis is the test's own (the worker
listens on the default queue names, which a shared Redis may hold for someone else); the
database is the test session's PostgreSQL one.

Runs in CI's second pass (DATABASE_URL on PostgreSQL and REDIS_URL set); skips otherwise.
"""
from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from conftest import BASE, PASSWORD, REDIS_URL, is_postgres, need_service
from services import RedisServer, SmtpSink, WebClient, flask_worker, free_port, gunicorn, \
    worker_env

pytestmark = pytest.mark.production

WARSAW = ZoneInfo("Europe/Warsaw")
SLUG = "gmina-a"
HOST = f"{SLUG}.{BASE}"
APPLICANT = "anna@example.org"


@pytest.fixture(scope="session", autouse=True)
def _production_services():
    """Before the session's app is built: this test needs the second pass's services."""
    need_service("PostgreSQL", is_postgres(), "set DATABASE_URL to a PostgreSQL database")
    need_service("Redis", bool(REDIS_URL), "set REDIS_URL (CI's pass with every service)")


@pytest.fixture
def draft(app, create_tenant, create_user):
    """Gmina A with an open LPM call and Anna's complete draft, ready to be submitted."""
    from werkzeug.datastructures import MultiDict

    from core.accounts.models import User
    from core.applicants.models import ApplicantProfile
    from core.applications import operations
    from core.calls.models import Call
    from core.db import db, tenant_scope

    tenant_id = create_tenant(SLUG, variants=["lpm"])
    anna = create_user(APPLICANT, roles=["applicant"])
    today = dt.datetime.now(WARSAW).date()
    deadline_day = today + dt.timedelta(days=30)
    start = deadline_day + dt.timedelta(days=30)
    with app.test_request_context(base_url=f"https://{HOST}/"), tenant_scope(tenant_id):
        profile = ApplicantProfile(
            kind="ngo", name="Stowarzyszenie Przyjaciół Lipin", legal_form="association",
            krs="0000123456", registered_on=dt.date(2015, 2, 1),
            revenue_last_year=Decimal("120000.00"), seat="Lipiny", owner_id=anna)
        params = {
            "deadline": deadline_day.isoformat(), "pool": "38000.00", "amount_min": "1000.00",
            "amount_max": "4000.00", "young_ngo_amount_max": "5000.00",
            "young_ngo_max_age_months": 30, "young_ngo_max_revenue": "25000.00",
            "admin_max_percent": 10, "min_group_members": 3, "group_requires_patron": True,
            "eligible_gminas": ["Lipiny"], "realization_start": start.isoformat(),
            "realization_end": (start + dt.timedelta(days=180)).isoformat(),
            "stage1_max_points": 18, "stage2": False, "cutoff_policy": "STOP",
            "operator_staff": []}
        call = Call(ref="lpm-2027", title="Mikrogranty Lipiny 2027", variant="lpm",
                    status="published", params=params,
                    deadline_at=dt.datetime(deadline_day.year, deadline_day.month,
                                            deadline_day.day, 23, 59, 59, tzinfo=WARSAW
                                            ).astimezone(dt.UTC),
                    realization_start=start, realization_end=start + dt.timedelta(days=180),
                    pool=Decimal("38000.00"))
        db.session.add_all([profile, call])
        db.session.flush()
        user = db.session.get(User, anna)
        application = operations.start_draft(call, user, profile)
        steps = {
            "applicant": {"applicant_id": str(profile.id), "realizer_id": "",
                          "applicant_option": "ngo::standard"},
            "project": {"title": "Warsztaty rękodzieła w świetlicy",
                        "description": "Cykl warsztatów dla seniorów i dzieci.",
                        "beneficiaries": "Mieszkańcy Lipin",
                        "project_type": "regional_identity", "place_gmina": "Lipiny",
                        "place_locality": "Świetlica wiejska"},
            "schedule": {"start": start.isoformat(),
                         "end": (start + dt.timedelta(days=90)).isoformat(),
                         "activities": "Warsztaty co tydzień"},
            "budget": {"budget-present": "1", "budget-0-category": "admin",
                       "budget-0-item": "Koordynacja", "budget-0-quantity": "1",
                       "budget-0-unit_price": "350", "budget-1-category": "materials",
                       "budget-1-item": "Materiały plastyczne", "budget-1-quantity": "10",
                       "budget-1-unit_price": "315,00"},
            "contribution": {"contribution-present": "1", "contribution-0-kind": "volunteer",
                             "contribution-0-description": "Praca wolontariuszy",
                             "contribution-0-hours": "20", "contribution-0-rate": "30"},
        }
        for step, data in steps.items():
            result = operations.save_step(application, step, MultiDict(
                {"form_step": step, "version": str(application.version), **data}),
                application.version, user)
            assert not result.errors, (step, result.errors)
        db.session.commit()
        assert not operations.violations(application), operations.violations(application)
        return SimpleNamespace(tenant_id=tenant_id, user_id=anna, application_id=application.id)


@pytest.fixture
def production(app, app_config):
    """gunicorn (deploy/gunicorn.conf.py, two workers) and ``flask jobs worker`` on the
    session's database, the test's own Redis and an SMTP sink."""
    with SmtpSink() as sink, RedisServer() as redis:
        env = worker_env(app_config, REDIS_URL=redis.url, MAIL_BACKEND="smtp",
                         MAIL_SERVER="127.0.0.1", MAIL_PORT=str(sink.port),
                         MAIL_DEFAULT_SENDER="nabor@mikrogranty.test",
                         SECRET_KEY="production-smoke-" + "7" * 32)
        port = free_port()
        with gunicorn(env, port) as web, flask_worker(env) as worker:
            yield SimpleNamespace(sink=sink, redis=redis, web=web, worker=worker, port=port)


def _outbox(app, recipient):
    from core.db import db, platform_scope
    from core.notifications.models import OutboxMessage

    with app.app_context(), platform_scope("test: the outbox"):
        return [SimpleNamespace(message_id=m.message_id, status=m.status, subject=m.subject)
                for m in db.session.scalars(db.select(OutboxMessage).where(
                    OutboxMessage.recipient == recipient).order_by(OutboxMessage.id))]


def _application(app, draft):
    from core.applications.models import Application
    from core.db import db, tenant_scope

    with app.app_context(), tenant_scope(draft.tenant_id):
        a = db.session.get(Application, draft.application_id)
        return SimpleNamespace(status=a.status, receipt_number=a.receipt_number)


def test_submission_over_http_sends_one_receipt_through_the_worker(app, draft, production):
    browser = WebClient(production.port, HOST)

    def diagnostics() -> str:
        return (f"\n--- gunicorn:\n{production.web.output()[-3000:]}"
                f"\n--- worker:\n{production.worker.output()[-3000:]}")

    page = browser.get("/login")
    assert page.status == 200, diagnostics()
    csrf = page.field("csrf_token")
    assert csrf, "the login form carries a CSRF token in production"
    refused = browser.post("/login", {"email": APPLICANT, "password": PASSWORD})
    assert refused.status == 400, "a form without its CSRF token is refused"
    answer = browser.post("/login", {"email": APPLICANT, "password": PASSWORD,
                                     "csrf_token": csrf})
    assert answer.status in (302, 303), (answer.status, answer.text[:2000], diagnostics())

    summary = browser.get(f"/applications/{draft.application_id}/summary")
    assert summary.status == 200, (summary.status, diagnostics())
    form = {"csrf_token": summary.field("csrf_token"), "token": summary.field("token")}
    assert form["csrf_token"] and form["token"], summary.text[:3000]
    answer = browser.post(f"/applications/{draft.application_id}/submit", form)
    assert answer.status == 303, (answer.status, answer.text[:2000], diagnostics())
    assert answer.headers["location"].endswith(f"/applications/{draft.application_id}/receipt")

    stored = _application(app, draft)
    assert stored.status == "submitted" and stored.receipt_number == "LPM-2027/0001"
    receipt = browser.get(f"/applications/{draft.application_id}/receipt")
    assert receipt.status == 200 and stored.receipt_number in receipt.text

    try:
        production.sink.wait_for(1, timeout=60)
    except AssertionError as exc:
        raise AssertionError(f"{exc}{diagnostics()}") from None
    delivered = production.sink.wait_quiet(2.0)
    assert len(delivered) == 1, [m["Subject"] for m in delivered]
    mail = delivered[0]
    assert mail["To"] == APPLICANT
    assert stored.receipt_number in mail["Subject"]
    assert production.sink.envelopes[0][1] == [APPLICANT]

    # The outbox row records the delivery, under the Message-ID the recipient got.
    deadline = time.monotonic() + 15
    while (rows := _outbox(app, APPLICANT)) and rows[0].status != "sent" and \
            time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(rows) == 1 and rows[0].status == "sent", rows
    assert mail["Message-ID"] == rows[0].message_id and rows[0].message_id
    assert "deliver_message" in production.worker.output(), "the worker delivered it"

    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text is not None and stored.receipt_number in text.get_content()
    assert html is not None and stored.receipt_number in html.get_content()
