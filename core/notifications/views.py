"""The demo's outbox: what would have been sent, readable in the browser.

Shown only when ``DEMO`` is on (``make run``) or to operator staff.
"""
from __future__ import annotations

from flask import Blueprint, current_app, g, render_template
from flask_login import current_user

from core.accounts.permissions import host_scope, requires
from core.db import db, get_or_404, platform_scope

from .models import OutboxMessage

bp = host_scope(Blueprint("outbox", __name__, url_prefix="/outbox"), "any")


def _messages_query():
    return db.select(OutboxMessage).order_by(OutboxMessage.created_at.desc(),
                                             OutboxMessage.id.desc()).limit(100)


@bp.get("/")
@requires("outbox.view")
def index():
    if g.get("tenant") is None:
        # On the base host: the platform's own messages and every tenant's.
        with platform_scope("outbox page on the operator's host",
                            current_user.id if current_user.is_authenticated else None):
            messages = db.session.scalars(_messages_query()).all()
    else:
        messages = db.session.scalars(_messages_query()).all()
    return render_template("outbox/index.html", messages=messages,
                           demo=current_app.config.get("DEMO"))


@bp.get("/<int:message_id>")
@requires("outbox.view")
def message(message_id):
    if g.get("tenant") is None:
        with platform_scope("outbox page on the operator's host",
                            current_user.id if current_user.is_authenticated else None):
            item = get_or_404(OutboxMessage, message_id)
    else:
        item = get_or_404(OutboxMessage, message_id)
    return render_template("outbox/message.html", message=item)
