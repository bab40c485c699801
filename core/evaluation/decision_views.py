"""Pages of the decisions: the committee's and staff's (blueprint ``committee``) and the
public's and applicant's (blueprint ``results``), on the tenant's host.

Thin views: parse the request, call one operation of :mod:`core.evaluation.decisions`,
commit, and render; a refusal is flashed (or put on the form) and nothing is changed.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from core.accounts.permissions import has_permission, host_scope, public, requires
from core.applications.models import Application
from core.applications.operations import can_access
from core.calls.models import Call, CallStatus
from core.db import db, get_or_404
from core.errors import ValidationError

from . import decision_forms as forms
from . import decisions, publication
from .models import InterviewSlot

bp = host_scope(Blueprint("committee", __name__, url_prefix="/committee"), "tenant")
results_bp = host_scope(Blueprint("results", __name__), "tenant")


# --- helpers ------------------------------------------------------------------------------

def _messages(exc: ValidationError) -> str:
    return " ".join(str(m) for messages in exc.errors.values() for m in messages)


def _refused(exc: ValidationError) -> None:
    db.session.rollback()
    flash(_messages(exc), "error")


def _call(call_id: int) -> Call:
    call = get_or_404(Call, call_id)
    if call.status == CallStatus.DRAFT:
        abort(404)
    return call


def _own_application(application_id: int) -> Application:
    application = get_or_404(Application, application_id)
    if not can_access(current_user, application) or application.status == "draft":
        abort(404)
    return application


def _locale() -> str:
    return str(get_locale() or "pl")


def _may(permission: str) -> bool:
    return has_permission(permission)


@bp.app_context_processor
def _labels():
    return {"outcome_label": decisions.outcome_label, "policy_label": decisions.policy_label,
            "list_label": decisions.kind_label, "award_status": decisions.award_status,
            "ref_of": decisions.ref_of, "may": _may, "Decimal": Decimal,
            "result_text": publication.result_text}


@bp.app_template_filter("points")
def points(value) -> str:
    """Points with two decimals as Polish readers write them (``15,50``); "—" for none."""
    from flask_babel import format_decimal

    if value in (None, ""):
        return "—"
    return format_decimal(Decimal(str(value)), format="#,##0.00")


@bp.app_template_filter("fromiso")
def fromiso(value):
    return dt.datetime.fromisoformat(value) if value else None


@bp.app_template_global()
def decision_link(application) -> Markup:
    """A link to what the applicant should do or read now (for the dashboard)."""
    action = decisions.pending_action(application)
    if action is None:
        return Markup("")
    text = {"book": _("Book an interview"), "interview": _("Your interview"),
            "answer": _("Answer the award offer"), "result": _("See the result")}[action]
    return Markup('<a class="decision-link" href="{}">{}</a>').format(
        url_for("results.application", application_id=application.id), text)


@bp.app_template_global()
def results_published(call) -> bool:
    """Whether the call has a published list (for a link on the call's page)."""
    return bool(publication.published_lists(call))


# --- the committee's start page -----------------------------------------------------------

@bp.get("/")
@requires("committee.view")
def index():
    calls = decisions.calls_in_evaluation()
    return render_template("committee/index.html", calls=calls,
                           counts={c.id: decisions.status_counts(c) for c in calls},
                           stage2={c.id: decisions.committee_stage(c) is not None for c in calls})


# --- stage II -----------------------------------------------------------------------------

def _render_interviews(call, slots_form=None, status=200):
    stage = decisions.committee_stage(call)
    if stage is None:
        abort(404)
    candidates = decisions.stage2_candidates(call)
    scores = decisions.committee_scores(a.id for a in candidates)
    booked = {s.application_id: s for s in decisions.slots_for(call) if s.application_id}
    by_id = {a.id: a for a in candidates}
    return render_template(
        "committee/interviews.html", call=call, stage=stage, slots=decisions.slots_for(call),
        candidates=candidates, scores=scores, booked=booked, applications=by_id, stage2=True,
        names={a.id: decisions.display_name(a) for a in candidates},
        pending=decisions.invitations_pending(call),
        form=slots_form or forms.SlotsForm(formdata=None), confirm=forms.ConfirmForm(
            formdata=None)), status


@bp.get("/calls/<int:call_id>/interviews")
@requires("committee.view")
def interviews(call_id):
    return _render_interviews(_call(call_id))


@bp.post("/calls/<int:call_id>/slots")
@requires("tenant.manage")
def add_slots(call_id):
    call = _call(call_id)
    form = forms.SlotsForm()
    if not form.validate():
        return _render_interviews(call, form, 422)
    try:
        added = decisions.add_slots(call, form.day.data, form.start.data, form.minutes.data,
                                    form.place.data, current_user, count=form.count.data or 1,
                                    publish=form.publish.data)
    except ValidationError as exc:
        db.session.rollback()
        exc.apply_to(form)
        return _render_interviews(call, form, 422)
    db.session.commit()
    flash(_("Interview slots added: %(num)d.", num=len(added)), "success")
    return redirect(url_for(".interviews", call_id=call.id) + "#slots", code=303)


@bp.post("/calls/<int:call_id>/slots/publish")
@requires("tenant.manage")
def publish_slots(call_id):
    call = _call(call_id)
    try:
        count = decisions.publish_slots(call, current_user)
    except ValidationError as exc:
        _refused(exc)
    else:
        db.session.commit()
        flash(_("Interview slots published: %(num)d.", num=count), "success")
    return redirect(url_for(".interviews", call_id=call.id) + "#slots", code=303)


@bp.post("/slots/<int:slot_id>/remove")
@requires("tenant.manage")
def remove_slot(slot_id):
    slot = get_or_404(InterviewSlot, slot_id)
    call_id = slot.call_id
    try:
        decisions.remove_slot(slot, current_user)
    except ValidationError as exc:
        _refused(exc)
    else:
        db.session.commit()
        flash(_("The slot has been removed."), "success")
    return redirect(url_for(".interviews", call_id=call_id) + "#slots", code=303)


@bp.post("/calls/<int:call_id>/invitations")
@requires("tenant.manage")
def send_invitations(call_id):
    call = _call(call_id)
    try:
        count = decisions.send_invitations(call, current_user)
    except ValidationError as exc:
        _refused(exc)
    else:
        db.session.commit()
        flash(_("Invitations sent: %(num)d.", num=count), "success")
    return redirect(url_for(".interviews", call_id=call.id), code=303)


@bp.route("/applications/<int:application_id>/stage2", methods=["GET", "POST"])
@requires("committee.decide")
def stage2(application_id):
    application = get_or_404(Application, application_id)
    call = application.call
    stage = decisions.committee_stage(call)
    if stage is None or call.status == CallStatus.DRAFT:
        abort(404)
    members = decisions.committee_members()
    existing = decisions.committee_scores([application.id])[application.id]
    values = {s.member_id: s.points for s in existing if not s.no_show and s.member_id}
    form = forms.stage2_form(members, stage.max_points, values=values,
                             formdata=request.form if request.method == "POST" else None)
    confirm = forms.ConfirmForm(formdata=None)
    status = 200
    if request.method == "POST":
        no_show = request.form.get("action") == "no_show"
        if no_show:
            confirm = forms.ConfirmForm()
        valid = confirm.validate() if no_show else form.validate()
        if valid:
            points = {m.id: request.form.get(f"member_{m.id}", "") for m in members}
            try:
                decisions.record_stage2(application, {} if no_show else points, current_user,
                                        no_show=no_show)
            except ValidationError as exc:
                db.session.rollback()
                exc.apply_to(confirm if no_show else form)
                status = 422
            else:
                db.session.commit()
                flash(_("The applicant did not come: the application is disqualified.")
                      if no_show else _("Stage II points saved."), "success")
                return redirect(url_for(".interviews", call_id=call.id) + "#candidates",
                                code=303)
        else:
            status = 422
    return render_template(
        "committee/stage2.html", application=application, call=call, stage=stage,
        members=members, form=form, confirm=confirm, no_show=any(s.no_show for s in existing),
        booked=decisions.booked_slot(application), name=decisions.display_name(application),
        ref=decisions.ref_of(application)), status


# --- the ranking, "what if", awards, approval ---------------------------------------------

@bp.get("/calls/<int:call_id>/ranking")
@requires("committee.view")
def ranking(call_id):
    call = _call(call_id)
    table = decisions.ranking_table(call)
    return render_template("committee/ranking.html", call=call, table=table,
                           policies=decisions.POLICIES, lists=decisions.result_lists(call),
                           stage2=decisions.committee_stage(call) is not None,
                           accepting=decisions.accepts_applications(call),
                           confirm=forms.ConfirmForm(formdata=None))


@bp.route("/applications/<int:application_id>/award", methods=["GET", "POST"])
@requires("committee.decide")
def award(application_id):
    application = get_or_404(Application, application_id)
    if application.call.status == CallStatus.DRAFT:
        abort(404)
    current = decisions.award_of(application)
    form = forms.AwardForm(formdata=request.form if request.method == "POST" else None,
                           data={"amount": current.amount} if current else None)
    status = 200
    if request.method == "POST":
        if request.form.get("action") == "cancel":
            try:
                decisions.cancel_award(application, current_user)
            except ValidationError as exc:
                _refused(exc)
            else:
                db.session.commit()
                flash(_("The offer has been taken back."), "success")
            return redirect(url_for(".ranking", call_id=application.call_id), code=303)
        if form.validate():
            try:
                decisions.offer_award(application, form.amount.data, current_user)
            except ValidationError as exc:
                db.session.rollback()
                exc.apply_to(form)
                status = 422
            else:
                db.session.commit()
                flash(_("The award has been offered; the applicant is asked to accept it."),
                      "success")
                return redirect(url_for(".ranking", call_id=application.call_id), code=303)
        else:
            status = 422
    return render_template("committee/award.html", application=application,
                           call=application.call, form=form, current=current,
                           name=decisions.display_name(application),
                           ref=decisions.ref_of(application)), status


@bp.post("/calls/<int:call_id>/lists/<any(stage1, final):kind>/approve")
@requires("committee.decide")
def approve(call_id, kind):
    call = _call(call_id)
    confirm = forms.ConfirmForm()
    if not confirm.validate():
        flash(_("Tick the box to confirm the approval."), "error")
        return redirect(url_for(".ranking", call_id=call.id) + "#lists", code=303)
    try:
        if kind == "final":
            decisions.approve_final_list(call, current_user)
        else:
            decisions.approve_stage1_list(call, current_user)
    except ValidationError as exc:
        _refused(exc)
    else:
        db.session.commit()
        flash(_("The list has been approved. It is not public until you publish it.")
              if _may("tenant.manage") else
              _("The list has been approved. It is not public until the municipality's "
                "administrator publishes it."), "success")
    return redirect(url_for(".ranking", call_id=call.id) + "#lists", code=303)


@bp.post("/calls/<int:call_id>/lists/<any(stage1, final):kind>/publish")
@requires("tenant.manage")
def publish(call_id, kind):
    call = _call(call_id)
    try:
        decisions.publish_list(call, kind, current_user)
    except ValidationError as exc:
        _refused(exc)
    else:
        db.session.commit()
        flash(_("The list is published on the call's results page."), "success")
    return redirect(url_for(".ranking", call_id=call.id) + "#lists", code=303)


@bp.route("/applications/<int:application_id>/resign", methods=["GET", "POST"])
@requires("tenant.manage")
def record_resignation(application_id):
    application = get_or_404(Application, application_id)
    if application.call.status == CallStatus.DRAFT:
        abort(404)
    form = forms.ResignForm(formdata=request.form if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.validate():
            try:
                moved = decisions.resign(application, current_user,
                                         reason=form.reason.data or "recorded_by_staff")
            except ValidationError as exc:
                _refused(exc)
                return redirect(url_for(".ranking", call_id=application.call_id), code=303)
            db.session.commit()
            flash(_("The resignation is recorded; projects moved up to funding: %(num)d.",
                    num=len(moved)), "success")
            return redirect(url_for(".ranking", call_id=application.call_id), code=303)
        status = 422
    return render_template("committee/resign.html", application=application,
                           call=application.call, form=form,
                           name=decisions.display_name(application),
                           ref=decisions.ref_of(application)), status


# --- the applicant ------------------------------------------------------------------------

def _render_application(application, status=200, booking=None, answer=None, resign_form=None):
    decision = decisions.applicant_decision(application)
    if booking is None:
        booking = forms.BookingForm(formdata=None)
    booking.slot.choices = [(s.id, s.id) for s in decision.free_slots]
    return render_template(
        "results/application.html", application=application, call=application.call,
        decision=decision, booking=booking, answer=answer or forms.AnswerForm(formdata=None),
        resign_form=resign_form or forms.ResignForm(formdata=None)), status


@results_bp.get("/applications/<int:application_id>/result")
@requires("application.apply")
def application(application_id):
    return _render_application(_own_application(application_id))


@results_bp.post("/applications/<int:application_id>/interview")
@requires("application.apply")
def book(application_id):
    application = _own_application(application_id)
    booking = forms.BookingForm()
    booking.slot.choices = [(s.id, s.id) for s in decisions.slots_for(application.call, True)]
    if not booking.validate():
        return _render_application(application, 422, booking=booking)
    slot = get_or_404(InterviewSlot, booking.slot.data)
    try:
        decisions.book_slot(application, slot, current_user)
    except ValidationError as exc:
        _refused(exc)
        return _render_application(application, 409)
    db.session.commit()
    flash(_("Your interview is booked."), "success")
    return redirect(url_for(".application", application_id=application.id), code=303)


@results_bp.post("/applications/<int:application_id>/interview/cancel")
@requires("application.apply")
def cancel_booking(application_id):
    application = _own_application(application_id)
    try:
        decisions.cancel_booking(application, current_user)
    except ValidationError as exc:
        _refused(exc)
    else:
        db.session.commit()
        flash(_("The booking has been cancelled; choose another time."), "success")
    return redirect(url_for(".application", application_id=application.id), code=303)


@results_bp.post("/applications/<int:application_id>/offer")
@requires("application.apply")
def answer(application_id):
    application = _own_application(application_id)
    form = forms.AnswerForm()
    if not form.validate():
        return _render_application(application, 422, answer=form)
    try:
        decisions.answer_award(application, form.answer.data == "accept", current_user)
    except ValidationError as exc:
        _refused(exc)
    else:
        db.session.commit()
        flash(_("Thank you: the lower amount is accepted.") if form.answer.data == "accept"
              else _("The offer is declined and the application withdrawn."), "success")
    return redirect(url_for(".application", application_id=application.id), code=303)


@results_bp.route("/applications/<int:application_id>/resign", methods=["GET", "POST"])
@requires("application.apply")
def resign(application_id):
    application = _own_application(application_id)
    if request.method == "GET":
        if not decisions.may_resign(application):
            return redirect(url_for(".application", application_id=application.id))
        return render_template("results/resign.html", application=application,
                               call=application.call, form=forms.ResignForm(formdata=None))
    form = forms.ResignForm()
    if not form.validate():
        return render_template("results/resign.html", application=application,
                               call=application.call, form=form), 422
    try:
        decisions.resign(application, current_user, reason=form.reason.data or None)
    except ValidationError as exc:
        _refused(exc)
    else:
        db.session.commit()
        flash(_("You have resigned from the grant. Thank you for telling us."), "success")
    return redirect(url_for(".application", application_id=application.id), code=303)


# --- public results -----------------------------------------------------------------------

def _published_call(ref: str) -> Call:
    call = db.session.execute(db.select(Call).where(Call.ref == ref)).scalar_one_or_none()
    if call is None or call.status == CallStatus.DRAFT:
        abort(404)
    return call


@results_bp.get("/results")
@public
def index():
    calls = [(call, publication.published_lists(call)) for call in decisions.calls_in_evaluation()]
    return render_template("results/index.html", calls=[(c, lists) for c, lists in calls if lists])


@results_bp.get("/calls/<ref>/results")
@public
def public_results(ref):
    call = _published_call(ref)
    lists = publication.published_lists(call)
    if not lists:
        abort(404)
    data = {kind: publication.publication_data(call, found, g.tenant)
            for kind, found in lists.items()}
    return render_template("results/public.html", call=call, lists=data,
                           result_text=publication.result_text)


@results_bp.get("/calls/<ref>/results/<any(stage1, final):kind>.<any(pdf, xlsx):fmt>")
@public
def download(ref, kind, fmt):
    call = _published_call(ref)
    found = publication.published_lists(call).get(kind)
    if found is None:
        abort(404)
    data = publication.publication_data(call, found, g.tenant)
    if fmt == "pdf":
        body, mimetype = publication.render_pdf(data, _locale()), "application/pdf"
    else:
        body = publication.render_xlsx(data, _locale())
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{publication.filename(data, fmt)}"'})
