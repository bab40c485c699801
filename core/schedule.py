"""The periodic sweep: one idempotent pass, started by a timer (``flask jobs tick``).

A systemd timer, a Kubernetes CronJob or cron runs it every few minutes; running it twice,
or two at once, sends nothing twice.  It asks every municipality's plugins for the
reminders due now (``scheduled_notices``) and writes each one once, then enqueues the
e-mails still waiting in the outbox (their job was lost while Redis was down) and marks
those whose delivery was cut off mid-way.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from flask import current_app

from core.db import db, platform_scope, tenant_scope, utcnow
from core.notifications.models import OutboxMessage
from core.notifications.operations import send_scheduled, sweep_outbox
from core.tenancy.models import Tenant

log = logging.getLogger(__name__)


@dataclass
class TickReport:
    reminders: int = 0
    enqueued: int = 0
    interrupted: int = 0
    errors: list[str] = field(default_factory=list)


def _already_written(tenant, key: str) -> bool:
    full_key = f"{tenant.id}:{key}"
    return db.session.execute(db.select(OutboxMessage.id).where(
        OutboxMessage.key == full_key)).first() is not None


def send_due_reminders(tenant, now: dt.datetime) -> int:
    pm = current_app.extensions["mikrogranty.plugins"]
    written = 0
    for group in pm.hook.scheduled_notices(tenant=tenant, now=now):
        for notice in group or ():
            if notice.due_at > now or (notice.until is not None and now >= notice.until):
                continue
            if _already_written(tenant, notice.key):
                continue
            if send_scheduled(tenant, notice) is not None:
                written += 1
    return written


def tick(now: dt.datetime | None = None) -> TickReport:
    now = now or utcnow()
    report = TickReport()
    tenants = db.session.scalars(db.select(Tenant).order_by(Tenant.id)).all()
    for tenant in tenants:
        try:
            with tenant_scope(tenant):
                report.reminders += send_due_reminders(tenant, now)
                db.session.commit()
        except Exception as exc:  # one municipality's failure does not stop the others
            db.session.rollback()
            log.exception("reminders of %s failed", tenant.slug)
            report.errors.append(f"{tenant.slug}: {type(exc).__name__}: {exc}")
    with platform_scope("jobs tick: the outbox of every municipality"):
        outbox = sweep_outbox(now)
    report.enqueued, report.interrupted = outbox["enqueued"], outbox["interrupted"]
    return report
