"""Writing the audit trail; every operation that decides something calls :func:`record`."""
from __future__ import annotations

from flask import has_request_context
from flask_login import current_user

from core.db import current_scope, db

from . import chain  # noqa: F401  (hashes each new event as it is flushed)
from .models import AuditEvent


def _actor_id(actor) -> int | None:
    if actor is not None:
        return getattr(actor, "id", actor)
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.id
    return None


def record(action: str, obj=None, changes: dict | None = None, actor=None,
           tenant_id: int | None = None) -> AuditEvent:
    """Add an audit event to the session (committed with the change it describes).

    ``changes`` maps a field to ``[old, new]`` or to a value; personal data goes in by id only.
    """
    event = AuditEvent(
        action=action,
        actor_id=_actor_id(actor),
        object_type=type(obj).__name__ if obj is not None else None,
        object_id=getattr(obj, "id", None),
        changes=_jsonable(changes or {}),
        tenant_id=tenant_id if tenant_id is not None else current_scope().tenant_id,
    )
    db.session.add(event)
    return event


def diff(obj, values: dict) -> dict:
    """Set attributes on ``obj`` and return ``{field: [old, new]}`` for those that changed."""
    changed = {}
    for field, new in values.items():
        old = getattr(obj, field)
        if old != new:
            changed[field] = [old, new]
            setattr(obj, field, new)
    return changed


def record_platform_scope(reason: str, actor_id: int | None) -> None:
    db.session.add(AuditEvent(action="platform.scope", actor_id=_actor_id(actor_id),
                              changes={"reason": reason}, tenant_id=None))
    db.session.commit()


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
