"""The kinds of notice a person can turn off, and each person's choice.

Messages that answer something the person did or must know for their application
(account confirmation, password reset, receipts, formal and final results, offers,
invitations) are always sent.  The kinds below are optional: reminders and news.
Plugins add their own kinds through the ``notice_kinds`` hook.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from core.db import db


@dataclass(frozen=True)
class NoticeKind:
    """An optional kind of e-mail: ``name`` is its mail template (``mail/<name>.txt``)."""

    name: str
    label: str
    description: str = ""
    default: bool = True
    order: int = 100


def notice_kinds() -> dict[str, NoticeKind]:
    kinds: dict[str, NoticeKind] = {}
    for group in current_app.extensions["mikrogranty.plugins"].hook.notice_kinds():
        for kind in group or ():
            kinds.setdefault(kind.name, kind)
    return dict(sorted(kinds.items(), key=lambda item: (item[1].order, item[0])))


def is_optional(template: str) -> bool:
    return template in notice_kinds()


def preferences(user) -> dict[str, bool]:
    """Every optional kind with the person's choice (or its default)."""
    from .models import NoticePreference

    chosen = {p.notice: p.enabled for p in db.session.scalars(
        db.select(NoticePreference).where(NoticePreference.user_id == user.id))}
    return {name: chosen.get(name, kind.default) for name, kind in notice_kinds().items()}


def wants(user, template: str) -> bool:
    """Whether ``user`` gets messages of ``template`` (always, unless it is optional)."""
    kind = notice_kinds().get(template)
    if kind is None:
        return True
    if user is None:
        return kind.default
    return preferences(user).get(template, kind.default)


def set_preferences(user, choices: dict[str, bool]) -> list[str]:
    """Store the person's choices; returns the kinds whose setting changed."""
    from core.audit.operations import record

    from .models import NoticePreference

    current = preferences(user)
    changed = []
    for name, enabled in choices.items():
        if name not in current or current[name] == bool(enabled):
            continue
        row = db.session.execute(db.select(NoticePreference).where(
            NoticePreference.user_id == user.id, NoticePreference.notice == name)
        ).scalar_one_or_none()
        if row is None:
            db.session.add(NoticePreference(user_id=user.id, notice=name, enabled=bool(enabled)))
        else:
            row.enabled = bool(enabled)
        changed.append(name)
    if changed:
        record("notices.preferences", user, {name: choices[name] for name in changed},
               actor=user, tenant_id=None)
    return changed


# --- one-click unsubscribe links ------------------------------------------------------------

def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="notice-off")


def unsubscribe_token(user_id: int, notice: str, tenant_id: int | None) -> str:
    """A link's proof, valid on the site of the municipality that sent the message."""
    return _serializer().dumps([user_id, notice, tenant_id])


def read_unsubscribe_token(token: str, tenant_id: int | None) -> tuple[int, str] | None:
    try:
        user_id, notice, issued_for = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(user_id, int) or notice not in notice_kinds() or issued_for != tenant_id:
        return None
    return user_id, notice
