"""Sessions: who is logged in, bound to the host (tenant) where they logged in."""
from __future__ import annotations

from flask import g, session
from flask_babel import lazy_gettext as _l
from flask_login import login_user, logout_user

from core.db import db

from .models import User

SESSION_TENANT_KEY = "tenant"


def _host_key() -> str:
    tenant = g.get("tenant")
    return tenant.slug if tenant is not None else ""


def load_user(user_id: str):
    # A session is valid only on the host (tenant) it was created on: a cookie from
    # tenant A replayed on tenant B is anonymous.
    if session.get(SESSION_TENANT_KEY) != _host_key():
        return None
    try:
        user = db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None
    return user if user is not None and user.is_active else None


def start_session(user: User) -> None:
    """Log ``user`` in on this host, with a fresh session (no fixation)."""
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    login_user(user)
    session[SESSION_TENANT_KEY] = _host_key()
    session.permanent = True


def end_session() -> None:
    logout_user()
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale


def init_app(app, login_manager) -> None:
    login_manager.init_app(app)
    login_manager.user_loader(load_user)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Log in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
