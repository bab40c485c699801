"""The demo's outbox, and each person's choice of optional notices.

The outbox (what would have been sent, readable in the browser) is shown only when
``DEMO`` is on (``make run``) or to operator staff.  The notice settings belong to the
account and work on every host; the one-click link in an optional e-mail turns one kind
off without logging in (the link is signed).
"""
from __future__ import annotations

from flask import (Blueprint, abort, current_app, flash, g, make_response, redirect,
                   render_template, request, url_for)
from flask_babel import gettext as _
from flask_login import current_user

from core.accounts.models import User
from core.accounts.permissions import host_scope, public, requires
from core.db import db, get_or_404, platform_scope
from core.extensions import csrf

from . import notices
from .models import OutboxMessage

bp = host_scope(Blueprint("outbox", __name__, url_prefix="/outbox"), "any")
notices_bp = host_scope(Blueprint("notices", __name__), "any")


def _messages_query():
    return db.select(OutboxMessage).order_by(OutboxMessage.created_at.desc(),
                                             OutboxMessage.id.desc()).limit(100)


def _platform_reason():
    return platform_scope("outbox page on the operator's host",
                          current_user.id if current_user.is_authenticated else None)


def _message_or_404(message_id):
    if g.get("tenant") is None:
        # On the base host: the platform's own messages and every tenant's.
        with _platform_reason():
            return get_or_404(OutboxMessage, message_id)
    return get_or_404(OutboxMessage, message_id)


@bp.get("/")
@requires("outbox.view")
def index():
    if g.get("tenant") is None:
        with _platform_reason():
            messages = db.session.scalars(_messages_query()).all()
    else:
        messages = db.session.scalars(_messages_query()).all()
    return render_template("outbox/index.html", messages=messages,
                           demo=current_app.config.get("DEMO"))


@bp.get("/<int:message_id>")
@requires("outbox.view")
def message(message_id):
    return render_template("outbox/message.html", message=_message_or_404(message_id))


@bp.get("/<int:message_id>/html")
@requires("outbox.view")
def message_html(message_id):
    """The HTML version as the recipient's mail program would show it, sandboxed."""
    item = _message_or_404(message_id)
    if not item.body_html:
        abort(404)
    response = make_response(item.body_html)
    response.headers["Content-Security-Policy"] = (
        "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:")
    return response


# --- notice settings ------------------------------------------------------------------------

@notices_bp.route("/account/notices", methods=["GET", "POST"])
@requires("authenticated")
def preferences():
    kinds = notices.notice_kinds()
    if request.method == "POST":
        chosen = set(request.form.getlist("notice"))
        changed = notices.set_preferences(current_user,
                                          {name: name in chosen for name in kinds})
        db.session.commit()
        flash(_("Your notice settings are saved.") if changed else _("Nothing changed."),
              "success")
        return redirect(url_for("notices.preferences"), code=303)
    return render_template("notices/preferences.html", kinds=kinds,
                           current=notices.preferences(current_user))


def _read_token(token):
    tenant = g.get("tenant")
    found = notices.read_unsubscribe_token(token, tenant.id if tenant is not None else None)
    if found is None:
        abort(404)
    user = db.session.get(User, found[0])
    if user is None:
        abort(404)
    return user, notices.notice_kinds()[found[1]]


@notices_bp.get("/notices/off/<token>")
@public
def turn_off(token):
    user, kind = _read_token(token)
    return render_template("notices/turn_off.html", kind=kind, token=token,
                           enabled=notices.preferences(user).get(kind.name, kind.default))


@notices_bp.post("/notices/off/<token>")
@public
@csrf.exempt  # RFC 8058 one-click: mail programs POST here; the signed token is the proof
def turn_off_confirmed(token):
    user, kind = _read_token(token)
    notices.set_preferences(user, {kind.name: False})
    db.session.commit()
    return render_template("notices/turn_off.html", kind=kind, token=token, enabled=False,
                           done=True)
