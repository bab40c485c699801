"""The deadline rush: concurrent submissions, the deadline to the second, and DST days.

A deadline is a date (the call form and the interchange format take dates only); it closes
at 23:59:59 Europe/Warsaw that day.  Warsaw changes its clocks at 02:00/03:00, so 23:59:59
is never skipped nor repeated: every deadline date maps to exactly one instant, which the
tests below prove for every day of several years, DST-change days included.  A deadline
typed with a time of day is refused when the call is saved.
"""
from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest

from conftest import is_postgres, need_service
from test_applications import _fill, _freeze, _load, _login, _start, warsaw, world  # noqa: F401
from test_calls import admin, lpm_form, read_calls, tenant_a  # noqa: F401  (fixtures)

WARSAW = ZoneInfo("Europe/Warsaw")
UTC = dt.UTC


# --- many submits of one application at once ------------------------------------------------

def _submit_concurrently(app, site, application_id, copies: int) -> list[int]:
    """``copies`` threads, each its own client holding the applicant's session, post the
    submission at the same moment; returns the status codes."""
    cookie = site.session_cookie()
    barrier = threading.Barrier(copies)
    statuses: list[int] = []
    failures: list[BaseException] = []

    def one(n: int) -> None:
        http = app.test_client()
        http.set_cookie(cookie.key, cookie.value, domain=site.host)
        try:
            barrier.wait(timeout=30)
            response = http.post(f"/applications/{application_id}/submit",
                                 data={"token": f"tab-{n}"}, headers={"Host": site.host},
                                 base_url=f"https://{site.host}")
            statuses.append(response.status_code)
            if response.status_code == 303:
                assert response.headers["Location"].endswith(
                    f"/applications/{application_id}/receipt")
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if failures:
        raise failures[0]
    return statuses


def _submissions(app, world, application_id) -> list:
    from core.audit.models import AuditEvent
    from core.db import db, tenant_scope

    with app.app_context(), tenant_scope(world.tenant_id):
        return [e for e in db.session.scalars(db.select(AuditEvent).where(
            AuditEvent.action == "application.submitted"))]


def test_twenty_concurrent_submits_give_one_submission_and_one_receipt(app, world, clients,
                                                                        outbox):
    site = _login(clients, "anna@example.org")
    application_id = _start(site, world)
    _fill(site, world, application_id)
    statuses = _submit_concurrently(app, site, application_id, 20)
    # Every tab is sent to the one receipt; none gets an error page.
    assert statuses == [303] * 20, statuses
    saved = _load(app, world, application_id)
    assert saved.status == "submitted" and saved.receipt_number == "LPM-2027/0001"
    assert len(_submissions(app, world, application_id)) == 1
    assert len([m for m in outbox() if "LPM-2027/0001" in m[1]]) == 1
    # The receipt page shows that one number.
    assert "LPM-2027/0001" in site.get(f"/applications/{application_id}/receipt").get_data(
        as_text=True)


def test_concurrent_submits_of_different_applications_get_distinct_numbers(
        app, world, clients, create_user):
    """PostgreSQL only: real concurrent transactions race for the next receipt number of
    one call; each submission must get its own number, none lost."""
    need_service("PostgreSQL", is_postgres(), "concurrent transactions")
    from core.applicants.models import ApplicantProfile
    from core.db import db, tenant_scope

    sites, ids = [], []
    for n in range(8):
        email = f"wnioskodawca{n}@example.org"
        user_id = create_user(email, roles=["applicant"])
        with app.app_context(), tenant_scope(world.tenant_id):
            profile = ApplicantProfile(kind="ngo", name=f"Stowarzyszenie {n}",
                                       legal_form="association", krs=f"00001{n:05d}",
                                       registered_on=dt.date(2015, 2, 1), seat="Lipiny",
                                       owner_id=user_id)
            db.session.add(profile)
            db.session.commit()
            profile_id = profile.id
        site = _login(clients, email)
        response = site.post("/calls/lpm-2027/apply", data={"profile_id": str(profile_id)})
        application_id = int(response.headers["Location"].split("/")[-2])
        applicant = {"applicant_id": str(profile_id), "realizer_id": "",
                     "applicant_option": "ngo::standard"}
        _fill(site, world, application_id, applicant=applicant)
        sites.append(site)
        ids.append(application_id)
    barrier = threading.Barrier(len(sites))
    statuses: dict[int, int] = {}

    def one(site, application_id):
        barrier.wait(timeout=30)
        statuses[application_id] = site.post(f"/applications/{application_id}/submit",
                                             data={"token": "t"}).status_code

    threads = [threading.Thread(target=one, args=pair) for pair in zip(sites, ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(statuses.values()) == [303] * len(ids), statuses
    numbers = sorted(_load(app, world, i).receipt_number for i in ids)
    assert numbers == [f"LPM-2027/{n:04d}" for n in range(1, len(ids) + 1)]


# --- the deadline to the second ----------------------------------------------------------------

@pytest.mark.parametrize("offset, accepted", [
    (dt.timedelta(seconds=-1), True),                 # 23:59:58
    (dt.timedelta(0), True),                          # 23:59:59 itself
    (dt.timedelta(microseconds=999_999), True),       # within the deadline's second
    (dt.timedelta(seconds=1), False),                 # 00:00:00 the next day
    (dt.timedelta(seconds=1, microseconds=1), False),
])
def test_one_second_around_the_deadline(app, world, clients, monkeypatch, offset, accepted):
    site = _login(clients, "anna@example.org")
    application_id = _start(site, world)
    _fill(site, world, application_id)
    day = world.deadline_day
    instant = warsaw(day.year, day.month, day.day, 23, 59, 59) + offset
    _freeze(monkeypatch, instant)
    response = site.post(f"/applications/{application_id}/submit", data={"token": "t1"})
    saved = _load(app, world, application_id)
    if accepted:
        assert response.status_code == 303
        assert saved.status == "submitted" and saved.submitted_at == instant
    else:
        assert response.status_code == 422
        assert "Nabór wniosków zakończył się" in response.get_data(as_text=True)
        assert saved.status == "draft" and len(saved.budget) == 2


@pytest.mark.parametrize("day, utc", [
    (dt.date(2025, 3, 30), dt.datetime(2025, 3, 30, 21, 59, 59, tzinfo=UTC)),    # CET → CEST
    (dt.date(2025, 10, 26), dt.datetime(2025, 10, 26, 22, 59, 59, tzinfo=UTC)),  # CEST → CET
])
def test_a_deadline_on_a_clock_change_day_closes_at_its_own_2359_59(
        app, world, clients, monkeypatch, day, utc):
    from core.calls.models import Call
    from core.db import db, tenant_scope
    from core.rules.values import deadline_instant

    assert deadline_instant(day) == utc
    with app.app_context(), tenant_scope(world.tenant_id):
        call = db.session.execute(db.select(Call)).scalar_one()
        call.deadline_at = deadline_instant(day)
        call.params = {**call.params, "deadline": day.isoformat()}
        db.session.commit()
    _freeze(monkeypatch, utc - dt.timedelta(hours=1))  # the draft is written that evening
    site = _login(clients, "anna@example.org")
    first = _start(site, world)
    _fill(site, world, first)
    _freeze(monkeypatch, utc + dt.timedelta(seconds=1))
    late = site.post(f"/applications/{first}/submit", data={"token": "late"})
    assert late.status_code == 422 and _load(app, world, first).status == "draft"
    _freeze(monkeypatch, utc - dt.timedelta(seconds=1))
    on_time = site.post(f"/applications/{first}/submit", data={"token": "on-time"})
    assert on_time.status_code == 303 and _load(app, world, first).status == "submitted"


# --- a date-only deadline is one instant ------------------------------------------------------

def test_every_deadline_date_maps_to_exactly_one_instant():
    """23:59:59 in Warsaw exists once on every day: neither skipped (spring) nor repeated
    (autumn), the clock changes being at 02:00 and 03:00."""
    from core.rules.values import deadline_instant, warsaw_date

    day, last = dt.date(2024, 1, 1), dt.date(2031, 12, 31)
    while day <= last:
        instant = deadline_instant(day)
        assert instant.tzinfo is not None and instant.utcoffset() == dt.timedelta(0)
        local = instant.astimezone(WARSAW)
        assert (local.date(), local.time()) == (day, dt.time(23, 59, 59))
        assert warsaw_date(instant) == day
        # Not ambiguous: both readings of a repeated hour give the same instant.
        naive = dt.datetime.combine(day, dt.time(23, 59, 59))
        assert naive.replace(tzinfo=WARSAW, fold=0).astimezone(UTC) == \
            naive.replace(tzinfo=WARSAW, fold=1).astimezone(UTC) == instant
        # One second later is the next day.
        assert warsaw_date(instant + dt.timedelta(seconds=1)) == day + dt.timedelta(days=1)
        day += dt.timedelta(days=1)


@pytest.mark.parametrize("typed", [
    "2025-03-30 02:30",   # does not exist in Warsaw (the clocks jump from 02:00 to 03:00)
    "2025-10-26 02:30",   # happens twice in Warsaw (the clocks go back from 03:00 to 02:00)
    "2025-03-30T02:30",
])
def test_the_call_form_takes_a_date_only_and_refuses_a_time(app, admin, tenant_a, typed):
    response = admin.post("/admin/calls/new", data=lpm_form(deadline=typed))
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Wpisz datę, np. 2025-03-31." in body and 'id="deadline-error"' in body
    assert read_calls(app, tenant_a) == []


def test_the_operation_refuses_a_deadline_with_a_time_too(app, tenant_a):
    """Interchange and the CLI pass values to the operation directly."""
    from core.calls import operations
    from core.errors import ValidationError
    from core.tenancy.models import Tenant
    from core.db import db

    with app.test_request_context():
        tenant = db.session.get(Tenant, tenant_a)
        with pytest.raises(ValidationError) as caught:
            operations.create_call(tenant, {"title": "Mikrogranty 2025", "variant": "lpm",
                                            "deadline": "2025-10-26T02:30:00"})
        assert "deadline" in caught.value.errors
