"""Reminders before a call's deadline: to draft authors, once, at 9:00 Polish time (DST too)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from test_applications import world  # noqa: F401  (the fixture)

UTC = dt.timezone.utc
WARSAW = ZoneInfo("Europe/Warsaw")


def at(*args, tz=UTC) -> dt.datetime:
    return dt.datetime(*args, tzinfo=tz).astimezone(UTC)


def _set_deadline(app, world, day: dt.date):
    from core.calls.models import Call
    from core.db import db, tenant_scope

    with app.app_context(), tenant_scope(world.tenant_id):
        call = db.session.get(Call, world.call_id)
        call.deadline_at = at(day.year, day.month, day.day, 23, 59, 59, tz=WARSAW)
        db.session.commit()


def _draft(app, world, created_by, status="draft", title="Ogród sensoryczny"):
    """A draft of ``created_by`` (Anna's drafts are in her NGO's profile, with Ewa as editor)."""
    from core.applications.models import Application
    from core.db import db, tenant_scope

    with app.app_context(), tenant_scope(world.tenant_id):
        profile = world.profile_id if created_by == world.anna else world.piotr_profile_id
        application = Application(call_id=world.call_id, applicant_id=profile,
                                  created_by_id=created_by, status=status, title=title)
        db.session.add(application)
        db.session.commit()
        return application.id


def _tick(app, now):
    from core.schedule import tick

    with app.app_context():
        return tick(now)


def _reminders(outbox):
    return sorted((to, subject) for to, subject, _, _ in outbox()
                  if "do złożenia" in subject or "left to submit" in subject)


# Spring: CET → CEST on 28 March 2027; autumn: CEST → CET on 31 October 2027.
@pytest.mark.parametrize("deadline, week_before, day_before", [
    (dt.date(2027, 3, 30), at(2027, 3, 23, 8, 0), at(2027, 3, 29, 7, 0)),
    (dt.date(2027, 11, 1), at(2027, 10, 25, 7, 0), at(2027, 10, 31, 8, 0)),
])
def test_reminders_go_once_at_nine_polish_time_across_dst(app, world, outbox, deadline,
                                                           week_before, day_before):
    _set_deadline(app, world, deadline)
    _draft(app, world, world.anna)
    second = dt.timedelta(seconds=1)
    assert _tick(app, week_before - second).reminders == 0
    assert _reminders(outbox) == []
    assert _tick(app, week_before).reminders == 2  # Anna, the author; Ewa, the profile's editor
    assert _reminders(outbox) == [
        ("anna@example.org", "Zostało 7 dni do złożenia: Mikrogranty Lipiny 2027"),
        ("ewa@example.org", "Zostało 7 dni do złożenia: Mikrogranty Lipiny 2027")]
    # Sweeps every five minutes all week long send nothing more …
    assert _tick(app, week_before + dt.timedelta(minutes=5)).reminders == 0
    assert _tick(app, day_before - second).reminders == 0
    # … until the day before, at 9:00 in Warsaw.
    assert _tick(app, day_before).reminders == 2
    assert _tick(app, day_before + dt.timedelta(hours=3)).reminders == 0
    assert [s for _, s in _reminders(outbox)].count(
        "Został 1 dzień do złożenia: Mikrogranty Lipiny 2027") == 2
    # After the deadline, nothing.
    assert _tick(app, at(deadline.year, deadline.month, deadline.day, 23, 0)).reminders == 0
    assert len(_reminders(outbox)) == 4


def test_the_reminder_names_the_deadline_and_the_draft(app, world, outbox):
    _set_deadline(app, world, dt.date(2027, 3, 30))
    application_id = _draft(app, world, world.piotr, title="Turniej szachowy")
    _tick(app, at(2027, 3, 23, 8, 0))
    (to, subject, body, _), = [m for m in outbox() if m[0] == "piotr@example.org"]
    assert "„Turniej szachowy”" in body or "“Turniej szachowy”" in body
    assert "30 marca 2027, 23:59" in body
    assert f"https://gmina-a.mikrogranty.test/applications/{application_id}/summary" in body
    assert "/notices/off/" in body  # an optional notice: it can be turned off in one click


def test_no_reminder_for_submitted_or_withdrawn_applications(app, world, outbox):
    _set_deadline(app, world, dt.date(2027, 3, 30))
    _draft(app, world, world.piotr, status="submitted")
    _draft(app, world, world.piotr, status="withdrawn")
    assert _tick(app, at(2027, 3, 29, 7, 0)).reminders == 0
    assert outbox() == []


def test_a_missed_week_sends_only_the_nearer_reminder(app, world, outbox):
    _set_deadline(app, world, dt.date(2027, 3, 30))
    _draft(app, world, world.piotr)
    # The timer did not run for a week: the first sweep is on the day before.
    assert _tick(app, at(2027, 3, 29, 12, 0)).reminders == 1
    assert _reminders(outbox) == [
        ("piotr@example.org", "Został 1 dzień do złożenia: Mikrogranty Lipiny 2027")]


def test_a_person_who_turned_reminders_off_gets_none(app, world, outbox, clients):
    _set_deadline(app, world, dt.date(2027, 3, 30))
    _draft(app, world, world.anna)
    site = clients("gmina-a")
    site.login("ewa@example.org")
    page = site.get("/account/notices").get_data(as_text=True)
    assert 'name="notice" value="deadline_reminder"' in page and "checked" in page
    response = site.post("/account/notices", data={})  # every box unticked
    assert response.status_code == 303
    assert "checked" not in site.get("/account/notices").get_data(as_text=True)
    assert _tick(app, at(2027, 3, 23, 8, 0)).reminders == 1
    assert [to for to, _ in _reminders(outbox)] == ["anna@example.org"]


def test_the_sweep_command(app, world):
    _set_deadline(app, world, dt.date(2027, 3, 30))
    _draft(app, world, world.piotr)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["jobs", "tick", "--now", "2027-03-23T09:00:00+01:00"])
    assert result.exit_code == 0, result.output
    assert "reminders written: 1" in result.output
    again = runner.invoke(args=["jobs", "tick", "--now", "2027-03-23T09:05:00+01:00"])
    assert "reminders written: 0" in again.output
    naive = runner.invoke(args=["jobs", "tick", "--now", "2027-03-23T09:00:00"])
    assert naive.exit_code != 0 and "timezone" in naive.output


def test_the_sweep_reads_as_many_queries_for_2_drafts_as_for_8(app, world, outbox):
    import sqlalchemy as sa

    from core.applications.reminders import deadline_reminders
    from core.db import db, tenant_scope
    from core.tenancy.models import Tenant

    _set_deadline(app, world, dt.date(2027, 3, 30))

    def queries():
        seen = []

        def count(conn, cursor, statement, *args):
            seen.append(statement)

        with app.app_context(), tenant_scope(world.tenant_id):
            tenant = db.session.get(Tenant, world.tenant_id)
            sa.event.listen(db.engine, "before_cursor_execute", count)
            try:
                found = deadline_reminders(tenant, at(2027, 3, 23, 8, 0))
            finally:
                sa.event.remove(db.engine, "before_cursor_execute", count)
        return len(seen), len(found)

    for _ in range(2):
        _draft(app, world, world.anna)
    few, notices = queries()
    assert notices == 4  # Anna and Ewa for each draft
    for _ in range(6):
        _draft(app, world, world.piotr)
    many, notices = queries()
    assert notices == 10 and many == few
