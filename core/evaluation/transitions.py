"""The one door through which evaluation and allocation change an application's status.

:func:`set_status` writes the audit event (``application.<new status>`` with the old and
new status and, where given, the rules), flushes, and fires ``application_state_changed``
for every plugin.  The formal check, scoring, stage II, the allocation, awards and
resignations all call it, so every change of status is audited the same way.
"""
from __future__ import annotations

from flask import current_app

from core.applications.models import Application, ApplicationStatus
from core.audit.operations import record
from core.db import db, utcnow

#: The statuses an application may hold after its formal check, in the lifecycle's order.
EVALUATION_STATUSES = (
    ApplicationStatus.ACCEPTED, ApplicationStatus.BELOW_THRESHOLD, ApplicationStatus.INVITED,
    ApplicationStatus.DISQUALIFIED, ApplicationStatus.RANKED, ApplicationStatus.FUNDED,
    ApplicationStatus.RESERVE, ApplicationStatus.EXCLUDED,
)


def set_status(application: Application, new: str, actor=None, rules: list[str] | None = None,
               changes: dict | None = None, action: str | None = None) -> bool:
    """Move ``application`` to the status ``new``.

    ``rules``: rule ids that decided it (a rejection's formal rules, ``pool.area_quota``,
    ``realizer.already_funded``); stored on the application and in the audit event.
    ``changes``: more fields for the audit event (e.g. ``{"amount": [old, new]}``).
    ``action``: the audit action, by default ``application.<new>``.  ``actor``: the user,
    or ``None`` for imports and jobs.

    Returns ``True`` when something changed (status or rules); then the audit event is
    written and ``application_state_changed`` fired (the hook only when the status moved).
    """
    new = ApplicationStatus(new)
    old = ApplicationStatus(application.status)
    rules_changed = rules is not None and list(rules) != list(application.rules or [])
    if old == new and not rules_changed:
        return False
    application.status = new
    if rules is not None:
        application.rules = list(rules)
    if new == ApplicationStatus.WITHDRAWN and application.withdrawn_at is None:
        application.withdrawn_at = utcnow()
    event = {"status": [old.value, new.value]}
    if rules is not None:
        event["rules"] = list(rules)
    event.update(changes or {})
    db.session.flush()
    record(action or f"application.{new.value}", application, changes=event, actor=actor)
    if old != new:
        current_app.extensions["mikrogranty.plugins"].hook.application_state_changed(
            application=application, old=old.value, new=new.value, actor=actor)
    return True
