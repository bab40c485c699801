"""Who may do what: permissions per role, and the decorators every view declares.

Every route says what it needs with :func:`requires` or :func:`public`; a test walks
the URL map and fails on a view that says nothing.  Objects of another tenant are
never found (the tenant filter), so they give 404, not 403.
"""
from __future__ import annotations

import functools

from flask import abort, current_app, g, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .models import PlatformRole, Role

# Permissions each tenant role grants in its tenant.
ROLE_PERMISSIONS: dict[str, set[str]] = {
    Role.ADMIN: {"tenant.manage", "tenant.members", "tenant.audit", "committee.view", "account"},
    Role.EVALUATOR: {"evaluation.score", "account"},
    # committee.view: the ranking and stage II, for the committee and the staff.
    Role.COMMITTEE: {"committee.decide", "committee.view", "account"},
    Role.APPLICANT: {"application.apply", "account"},
}

# Operator staff may act on any tenant and on the console.
PLATFORM_PERMISSIONS: dict[str, set[str]] = {
    PlatformRole.OPERATOR_STAFF: {"platform.console", "outbox.view"}
    | set().union(*ROLE_PERMISSIONS.values()),
}

# Open to everyone in the demo (``DEMO=1``), to operator staff otherwise.
DEMO_PUBLIC = {"outbox.view"}

ROLE_LABELS = {
    Role.ADMIN: _l("administrator"),
    Role.EVALUATOR: _l("evaluator"),
    Role.COMMITTEE: _l("committee member"),
    Role.APPLICANT: _l("applicant"),
}


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


PUBLIC = "public"
AUTHENTICATED = "authenticated"


def user_roles(user, tenant) -> set[str]:
    """The roles ``user`` holds in ``tenant`` (memberships are read through the tenant filter)."""
    if tenant is None or not user.is_authenticated:
        return set()
    cache = g.setdefault("_roles", {})
    key = (user.id, tenant.id)
    if key not in cache:
        from core.db import db

        from .models import Membership

        cache[key] = set(db.session.scalars(
            db.select(Membership.role).where(Membership.user_id == user.id)))
    return cache[key]


def has_permission(permission: str, user=None, tenant=None) -> bool:
    user = current_user if user is None else user
    if tenant is None:
        tenant = getattr(g, "tenant", None)
    if permission == PUBLIC:
        return True
    if permission in DEMO_PUBLIC and current_app.config.get("DEMO"):
        return True
    if not user or not user.is_authenticated:
        return False
    if permission == AUTHENTICATED:
        return True
    granted: set[str] = set()
    if user.platform_role:
        granted |= PLATFORM_PERMISSIONS.get(user.platform_role, set())
    for role in user_roles(user, tenant):
        granted |= ROLE_PERMISSIONS.get(role, set())
    if permission.startswith("platform."):
        return permission in granted
    return permission in granted and (tenant is not None or user.platform_role is not None)


def requires(permission: str):
    """Guard a view: anonymous people are sent to log in, others without it get 403."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not has_permission(permission):
                if not current_user.is_authenticated:
                    return redirect(url_for("accounts.login", next=request.full_path if request.query_string else request.path))
                abort(403)
            return view(*args, **kwargs)

        wrapped.permission = permission
        return wrapped

    return decorator


def public(view):
    """Mark a view as open to everyone (it still only sees the current tenant's data)."""
    view.permission = PUBLIC
    return view


_HOST_SCOPES: dict[str, str] = {}


def host_scope(blueprint, scope: str):
    """Serve ``blueprint`` on tenant hosts (``"tenant"``, the default), on the operator's
    base host (``"platform"``) or on both (``"any"``)."""
    if scope not in {"tenant", "platform", "any"}:
        raise ValueError(f"unknown host scope {scope!r}")
    _HOST_SCOPES[blueprint.name] = scope
    return blueprint


def blueprint_host_scope(name: str | None) -> str:
    if name is None:
        return "any"
    return _HOST_SCOPES.get(name.split(".")[0], "tenant")
