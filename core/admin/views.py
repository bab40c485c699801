"""A tenant's administration: people and their roles, the audit trail."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.accounts import operations as accounts
from core.accounts.forms import InviteForm
from core.accounts.models import Membership, Role, User
from core.accounts.permissions import host_scope, requires, role_label
from core.audit.models import AuditEvent
from core.db import db, get_or_404
from core.errors import ValidationError

bp = host_scope(Blueprint("admin", __name__, url_prefix="/admin"), "tenant")

def role_choices():
    return [(role.value, role_label(role)) for role in Role if role != Role.APPLICANT]


@bp.route("/members", methods=["GET", "POST"])
@requires("tenant.members")
def members():
    form = InviteForm()
    form.role.choices = role_choices()
    if form.validate_on_submit():
        try:
            accounts.invite(g.tenant, form.email.data, form.role.data, actor=current_user)
        except ValidationError as exc:
            db.session.rollback()
            exc.apply_to(form)
        else:
            db.session.commit()
            flash(_("The invitation is sent to %(email)s.", email=form.email.data), "success")
            return redirect(url_for(".members"))
    rows = db.session.execute(
        db.select(Membership, User.email).join(User, User.id == Membership.user_id)
        .order_by(User.email, Membership.role)).all()
    return render_template("admin/members.html", rows=rows, form=form)


@bp.get("/members/<int:membership_id>")
@requires("tenant.members")
def member(membership_id):
    membership = get_or_404(Membership, membership_id)
    events = db.session.scalars(db.select(AuditEvent).where(
        AuditEvent.object_type == "Membership", AuditEvent.object_id == membership.id)
        .order_by(AuditEvent.created_at.desc())).all()
    return render_template("admin/member.html", membership=membership, events=events)


@bp.post("/members/<int:membership_id>/remove")
@requires("tenant.members")
def remove_member(membership_id):
    membership = get_or_404(Membership, membership_id)
    if membership.user_id == current_user.id and membership.role == Role.ADMIN:
        flash(_("You cannot remove your own administrator role."), "error")
        return redirect(url_for(".members"))
    accounts.remove_role(membership, actor=current_user)
    db.session.commit()
    flash(_("The role is removed."), "success")
    return redirect(url_for(".members"))


@bp.get("/audit")
@requires("tenant.audit")
def audit():
    page = max(request.args.get("page", 1, type=int), 1)
    events = db.paginate(db.select(AuditEvent).order_by(AuditEvent.created_at.desc(),
                                                        AuditEvent.id.desc()),
                         page=page, per_page=50, error_out=False)
    return render_template("admin/audit.html", events=events)


@bp.get("/audit/<int:event_id>")
@requires("tenant.audit")
def audit_event(event_id):
    event = get_or_404(AuditEvent, event_id)
    if event.tenant_id is None:
        abort(404)
    return render_template("admin/audit_event.html", event=event)
