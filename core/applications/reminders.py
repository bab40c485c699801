"""Reminders before a call's deadline, to the people whose application is still a draft.

The periodic sweep asks for them through the ``scheduled_notices`` hook (core's defaults
answer with :func:`deadline_reminders`).  Each reminder is due at ``REMINDER_HOUR``
(9:00) Polish time, ``DEADLINE_REMINDER_DAYS`` (7 and 1) days before the deadline's day,
and is sent once; when a sweep finds two due (it did not run for a week), only the
nearer one goes.
"""
from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy.orm import selectinload

from core.calls.models import Call, CallStatus
from core.db import db
from core.notifications.operations import ScheduledNotice
from core.rules.values import warsaw_date, warsaw_time
from core.tenancy.resolve import tenant_url

from .models import Application, ApplicationStatus


def _due_reminder(call: Call, now: dt.datetime) -> tuple[int, dt.datetime] | None:
    """The nearest reminder of ``call`` whose time has come: (days before, due at)."""
    config = current_app.config
    deadline_day = warsaw_date(call.deadline_at)
    due = [(days, warsaw_time(deadline_day - dt.timedelta(days=days), config["REMINDER_HOUR"]))
           for days in sorted(set(config["DEADLINE_REMINDER_DAYS"]))]
    for days, due_at in due:  # nearest to the deadline first
        if due_at <= now:
            return days, due_at
    return None


def _recipients(drafts: list[Application]) -> dict[int, list]:
    """Each draft's people (its author, and the owners and editors of its applicant and
    realizer profiles), read in three queries for all the drafts of a call."""
    from core.accounts.models import User
    from core.applicants.models import ProfileEditor

    profile_ids = {p.id for a in drafts for p in (a.applicant, a.realizer) if p is not None}
    editors: dict[int, list[int]] = {}
    if profile_ids:
        for profile_id, user_id in db.session.execute(
                db.select(ProfileEditor.profile_id, ProfileEditor.user_id)
                .where(ProfileEditor.profile_id.in_(profile_ids))):
            editors.setdefault(profile_id, []).append(user_id)
    wanted = {}
    for application in drafts:
        ids = [application.created_by_id]
        for profile in (application.applicant, application.realizer):
            if profile is not None:
                ids += [profile.owner_id, *editors.get(profile.id, [])]
        wanted[application.id] = list(dict.fromkeys(i for i in ids if i is not None))
    every = {i for ids in wanted.values() for i in ids}
    users = {u.id: u for u in db.session.scalars(db.select(User).where(
        User.id.in_(every), User.active.is_(True)))} if every else {}
    return {application_id: [users[i] for i in ids if i in users]
            for application_id, ids in wanted.items()}


def deadline_reminders(tenant, now: dt.datetime) -> list[ScheduledNotice]:
    horizon = now + dt.timedelta(days=max(current_app.config["DEADLINE_REMINDER_DAYS"]) + 1)
    calls = db.session.scalars(db.select(Call).where(
        Call.status == CallStatus.PUBLISHED, Call.deadline_at > now,
        Call.deadline_at <= horizon)).all()
    notices = []
    for call in calls:
        due = _due_reminder(call, now)
        if due is None:
            continue
        days, due_at = due
        days_left = (warsaw_date(call.deadline_at) - warsaw_date(now)).days
        drafts = db.session.scalars(db.select(Application).where(
            Application.call_id == call.id, Application.status == ApplicationStatus.DRAFT)
            .options(selectinload(Application.applicant), selectinload(Application.realizer))
            .order_by(Application.id)).all()
        people = _recipients(drafts)
        for application in drafts:
            for user in people[application.id]:
                notices.append(ScheduledNotice(
                    key=f"deadline:{call.id}:{application.id}:{user.id}:{days}d",
                    recipient=user.email, template="deadline_reminder", due_at=due_at,
                    until=call.deadline_at, user=user, locale=user.locale,
                    context={"call": call, "application": application, "days_left": days_left,
                             "url": tenant_url(tenant, f"/applications/{application.id}/summary")}))
    return notices
