"""The formal check and the evaluators' work, on the tenant's site.

Staff (``tenant.manage``): ``/admin/evaluation`` (calls), ``/admin/calls/<id>/formal``
(the submitted applications), ``/admin/applications/<id>/formal`` (one formal check),
``/admin/calls/<id>/evaluators`` (assignments, by hand or automatic), and
``/admin/applications/<id>/cards`` (every card of an application).

Evaluators (``evaluation.score``): ``/evaluation`` (their assignments) and
``/evaluation/<assignment id>`` (declaration or recusal, then the application and the
score card).  Someone else's assignment, a recused one or another tenant's is 404.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from core.accounts.permissions import host_scope, requires
from core.applications.models import Application, ApplicationStatus
from core.calls.models import Call, CallStatus
from core.db import db, get_or_404
from core.errors import ValidationError

from . import formal as formal_check
from . import review
from .forms import (ReviewAssignForm, ReviewDeclarationForm, ReviewRecusalForm,
                    ReviewSettingsForm, review_decisions, review_formal_form, review_posted,
                    score_card_form)
from .models import Assignment

bp = host_scope(Blueprint("review", __name__), "tenant")


@bp.app_template_global("formal_outcome")
def formal_outcome(application):
    """For the applicant's pages: what the formal check decided, or ``None``."""
    return formal_check.formal_outcome(application)


@bp.app_template_filter("score_points")
def score_points(value) -> str:
    """Points as people read them: ``7,5`` (at most two decimals, no trailing zeros)."""
    from flask_babel import format_decimal

    if value is None or value == "":
        return "—"
    return format_decimal(value, "#,##0.##")


@bp.app_template_global("review_category_label")
def review_category_label(category: str) -> str:
    from core.rules.labels import category_label

    return str(category_label(category or "other"))


def _messages(exc: ValidationError) -> str:
    return " ".join(str(m) for messages in exc.errors.values() for m in messages)


def _status_label(status: str) -> str:
    from core.applications.operations import status_label

    return status_label(status)


def _content_fields(application: Application) -> dict:
    """The generator's fields by name (labels and choices), core's and the variant's."""
    from core.applications import forms as application_forms
    from core.applications.operations import _option_key, applicant_options

    # The ways to apply by their stored key, so "how do you apply" reads as the applicant
    # chose it, not as "ngo::standard".
    options = [(_option_key(o), o.label) for o in applicant_options(application.call)]
    fields = {}
    for step in ("applicant", *application_forms.EXTENSIBLE_STEPS):
        form = application_forms.step_form_class(step, application.call,
                                                 applicant_options=options)()
        fields.update({name: field for name, field in form._fields.items()
                       if name not in fields})
    return fields


def _content_text(field, value) -> str:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    choices = getattr(field, "choices", None)
    if choices:
        labels = {}
        for choice in choices:
            key, label = (choice.value, choice.label) if hasattr(choice, "value") else choice[:2]
            labels[str(key)] = str(label)
        if isinstance(value, list):
            return ", ".join(labels.get(str(v), str(v)) for v in value)
        return labels.get(str(value), str(value))
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _summary(application: Application) -> dict:
    """The application as the formal check and the evaluators read it."""
    fields = _content_fields(application)
    content = []
    stored = application.content or {}
    names = [n for n in fields if n in stored] + [n for n in stored if n not in fields]
    for name in names:
        value = stored[name]
        if value in (None, "", [], {}):
            continue
        field = fields.get(name)
        label = str(field.label.text) if field is not None else name
        content.append((label, _content_text(field, value)))
    return {"application": application, "content": content,
            "applicant": application.applicant.display_name if application.applicant else "—",
            "realizer": application.realizer.display_name if application.realizer else None,
            "status_label": _status_label(application.status)}


# --- staff: calls -------------------------------------------------------------------------

@bp.get("/admin/evaluation")
@requires("tenant.manage")
def calls():
    rows = db.session.execute(
        db.select(Call, Application.status, db.func.count(Application.id))
        .outerjoin(Application, db.and_(Application.call_id == Call.id,
                                        Application.submitted_at.is_not(None)))
        .where(Call.status != CallStatus.DRAFT)
        .group_by(Call.id, Application.status)
        .order_by(Call.deadline_at.desc(), Call.id.desc())).all()
    by_call: dict = {}
    for call, status, count in rows:
        entry = by_call.setdefault(call.id, {"call": call, "counts": {}})
        if status is not None:
            entry["counts"][status] = count
    for entry in by_call.values():
        # Past the formal check, whatever the evaluation has made of them since.
        entry["passed"] = sum(n for status, n in entry["counts"].items() if status not in (
            ApplicationStatus.SUBMITTED, ApplicationStatus.REJECTED, ApplicationStatus.WITHDRAWN,
            ApplicationStatus.DRAFT))
    return render_template("review/calls.html", calls=list(by_call.values()))


def _call_or_404(call_id: int) -> Call:
    return get_or_404(Call, call_id)


# --- staff: the formal check --------------------------------------------------------------

@bp.get("/admin/calls/<int:call_id>/formal")
@requires("tenant.manage")
def formal_list(call_id):
    call = _call_or_404(call_id)
    return render_template("review/formal_list.html", call=call,
                           rows=formal_check.formal_list(call),
                           status_label=formal_check.formal_status_label)


@bp.route("/admin/applications/<int:application_id>/formal", methods=["GET", "POST"])
@requires("tenant.manage")
def formal(application_id):
    application = get_or_404(Application, application_id)
    if application.submitted_at is None or application.status == ApplicationStatus.DRAFT:
        abort(404)
    record = formal_check.formal_review_of(application)
    items = formal_check.formal_items(application, record)
    pending = application.status in formal_check.FORMAL_PENDING
    form = review_formal_form(items, request.form if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        outcome = {"accept": "accept", "reject": "reject"}.get(request.form.get("action"))
        if not pending:
            flash(_("The formal check of this application is already decided; nothing was "
                    "changed."), "error")
            return redirect(url_for(".formal", application_id=application.id), code=303)
        posted = review_posted(request.form)
        if list(posted) != [item.ident for item in items]:
            # The rule engine found something else since the page was opened: show the
            # items as they are now, with what was chosen for those still there.
            form = review_formal_form(items, kept=posted)
            form.note.data = request.form.get("note", "")
            form.form_errors.append(_(
                "The rule engine's findings changed since the page was opened. Check the "
                "items again; nothing was saved."))
            status = 409
        elif form.validate():
            try:
                formal_check.decide_formal(application, review_decisions(items, form),
                                           current_user, outcome=outcome,
                                           note=form.note.data or "")
            except ValidationError as exc:
                db.session.rollback()
                exc.apply_to(form)
                status = 422
            else:
                db.session.commit()
                flash({None: _("The decisions are saved."),
                       "accept": _("The application is accepted; the applicant has been told."),
                       "reject": _("The application is rejected; the applicant has been told "
                                   "why.")}[outcome], "success")
                if outcome:
                    return redirect(url_for(".formal_list", call_id=application.call_id),
                                    code=303)
                return redirect(url_for(".formal", application_id=application.id), code=303)
        else:
            status = 422
        application = get_or_404(Application, application_id)
    return render_template(
        "review/formal.html", s=_summary(application), call=application.call, items=items,
        form=form, pending=pending, record=record,
        formal_status=formal_check.formal_status_label(
            formal_check.formal_status(application, record))), status


# --- staff: evaluators --------------------------------------------------------------------

def _assign_form(overview, row) -> ReviewAssignForm:
    form = ReviewAssignForm(prefix=f"a{row['application'].id}", formdata=None)
    taken = {a.evaluator_id for a in row["assignments"]}
    form.evaluator_id.choices = [
        SelectChoice(u.id, ngettext("%(email)s (%(num)d application)",
                                    "%(email)s (%(num)d applications)", load, email=u.email))
        for u, load in overview.evaluators if u.id not in taken]
    return form


def _evaluators_page(call, settings=None, assign_errors=None, status=200):
    overview = review.assignment_overview(call)
    if settings is None:
        settings = ReviewSettingsForm(formdata=None)
        settings.evaluators_per_application.data = overview.per_application
        settings.third_evaluator_threshold.data = overview.threshold
    forms = {row["application"].id: _assign_form(overview, row) for row in overview.rows}
    for application_id, errors in (assign_errors or {}).items():
        if application_id in forms:
            forms[application_id].evaluator_id.errors = list(errors)
    return render_template("review/evaluators.html", call=call, overview=overview,
                           settings=settings, assign_forms=forms,
                           assignment_status=review.assignment_status_label,
                           status_label=_status_label), status


@bp.get("/admin/calls/<int:call_id>/evaluators")
@requires("tenant.manage")
def evaluators(call_id):
    return _evaluators_page(_call_or_404(call_id))


@bp.post("/admin/calls/<int:call_id>/evaluators/settings")
@requires("tenant.manage")
def evaluator_settings(call_id):
    call = _call_or_404(call_id)
    form = ReviewSettingsForm()
    if form.validate():
        try:
            review.update_settings(call, form.evaluators_per_application.data,
                                   form.third_evaluator_threshold.data, current_user)
        except ValidationError as exc:
            db.session.rollback()
            exc.apply_to(form)
        else:
            db.session.commit()
            flash(_("The evaluation settings are saved."), "success")
            return redirect(url_for(".evaluators", call_id=call.id), code=303)
    return _evaluators_page(call, settings=form, status=422)


@bp.post("/admin/calls/<int:call_id>/evaluators/auto")
@requires("tenant.manage")
def assign_automatically(call_id):
    call = _call_or_404(call_id)
    result = review.assign_automatically(call, current_user)
    db.session.commit()
    created = len(result.created)
    flash(ngettext("%(num)d assignment made.", "%(num)d assignments made.", created)
          if created else _("Every application already has its evaluators."), "success")
    if result.short:
        flash(ngettext(
            "%(num)d application still lacks evaluators: nobody else is eligible (the others "
            "recused, are linked to the applicant or are already assigned).",
            "%(num)d applications still lack evaluators: nobody else is eligible (the others "
            "recused, are linked to the applicant or are already assigned).",
            len(result.short)), "error")
    return redirect(url_for(".evaluators", call_id=call.id), code=303)


@bp.post("/admin/applications/<int:application_id>/evaluators")
@requires("tenant.manage")
def assign(application_id):
    application = get_or_404(Application, application_id)
    form = ReviewAssignForm(prefix=f"a{application.id}")
    form.evaluator_id.choices = []
    errors = None
    if not form.validate():
        errors = form.evaluator_id.errors or [_("Choose an evaluator.")]
    else:
        try:
            review.assign(application, form.evaluator_id.data, current_user)
        except ValidationError as exc:
            db.session.rollback()
            errors = [str(m) for messages in exc.errors.values() for m in messages]
        else:
            db.session.commit()
            flash(_("The evaluator is assigned."), "success")
            return redirect(url_for(".evaluators", call_id=application.call_id,
                                    _anchor=f"application-{application.id}"), code=303)
    call = get_or_404(Call, application.call_id)
    return _evaluators_page(call, assign_errors={application.id: errors}, status=422)


@bp.post("/admin/assignments/<int:assignment_id>/remove")
@requires("tenant.manage")
def unassign(assignment_id):
    assignment = get_or_404(Assignment, assignment_id)
    call_id = assignment.application.call_id
    try:
        review.unassign(assignment, current_user)
    except ValidationError as exc:
        db.session.rollback()
        flash(_messages(exc), "error")
    else:
        db.session.commit()
        flash(_("The evaluator is taken off the application."), "success")
    return redirect(url_for(".evaluators", call_id=call_id), code=303)


@bp.get("/admin/applications/<int:application_id>/cards")
@requires("tenant.manage")
def cards(application_id):
    application = get_or_404(Application, application_id)
    assignments = review.assignments_of(application)
    emails = {u.id: u.email for u in review.evaluator_accounts()}
    return render_template("review/cards.html", s=_summary(application), call=application.call,
                           assignments=assignments, emails=emails,
                           criteria=review.criteria(application.call),
                           assignment_status=review.assignment_status_label,
                           points=review.points_value)


# --- evaluators ---------------------------------------------------------------------------

@bp.get("/evaluation")
@requires("evaluation.score")
def my_assignments():
    assignments = review.my_assignments(current_user)
    return render_template("review/my_assignments.html", assignments=assignments,
                           assignment_status=review.assignment_status_label,
                           status_label=_status_label)


def _assignment_page(assignment, *, declaration=None, recusal=None, card_form=None,
                     status=200):
    application = assignment.application
    call = application.call
    criteria = review.criteria(call)
    context = {"assignment": assignment, "call": call,
               "assignment_status": review.assignment_status_label}
    if assignment.status == review.ASSIGNED:
        return render_template(
            "review/declare.html", application=application,
            applicant=application.applicant.display_name if application.applicant else "—",
            realizer=application.realizer.display_name if application.realizer else None,
            declaration=declaration or ReviewDeclarationForm(formdata=None),
            recusal=recusal or ReviewRecusalForm(formdata=None), **context), status
    locked = assignment.status == review.SUBMITTED
    return render_template(
        "review/assignment.html", s=_summary(application), criteria=criteria,
        form=card_form or score_card_form(criteria, assignment.card), locked=locked,
        others=review.visible_cards(assignment), points=review.points_value,
        recusal=recusal or ReviewRecusalForm(formdata=None),
        scoring=application.status == ApplicationStatus.ACCEPTED, **context), status


@bp.get("/evaluation/<int:assignment_id>")
@requires("evaluation.score")
def assignment(assignment_id):
    return _assignment_page(review.my_assignment_or_404(assignment_id, current_user))


@bp.post("/evaluation/<int:assignment_id>/declare")
@requires("evaluation.score")
def declare(assignment_id):
    assignment = review.my_assignment_or_404(assignment_id, current_user)
    form = ReviewDeclarationForm()
    try:
        review.declare(assignment, current_user, bool(form.validate() and form.statement.data))
    except ValidationError as exc:
        db.session.rollback()
        exc.apply_to(form)
        assignment = review.my_assignment_or_404(assignment_id, current_user)
        return _assignment_page(assignment, declaration=form, status=422)
    db.session.commit()
    flash(_("Thank you. The application is open for you to score."), "success")
    return redirect(url_for(".assignment", assignment_id=assignment_id), code=303)


@bp.post("/evaluation/<int:assignment_id>/recuse")
@requires("evaluation.score")
def recuse(assignment_id):
    assignment = review.my_assignment_or_404(assignment_id, current_user)
    form = ReviewRecusalForm()
    try:
        form.validate()
        review.recuse(assignment, current_user, form.reason.data or "")
    except ValidationError as exc:
        db.session.rollback()
        if "reason" not in exc.errors:
            flash(_messages(exc), "error")
            return redirect(url_for(".assignment", assignment_id=assignment_id), code=303)
        exc.apply_to(form)
        assignment = review.my_assignment_or_404(assignment_id, current_user)
        return _assignment_page(assignment, recusal=form, status=422)
    db.session.commit()
    flash(_("You have recused yourself from this application; it goes to another "
            "evaluator. Thank you for saying so."), "success")
    return redirect(url_for(".my_assignments"), code=303)


@bp.post("/evaluation/<int:assignment_id>/card")
@requires("evaluation.score")
def card(assignment_id):
    assignment = review.my_assignment_or_404(assignment_id, current_user)
    criteria = review.criteria(assignment.application.call)
    form = score_card_form(criteria, formdata=request.form)
    submit = request.form.get("action") == "submit"
    form.validate()
    points = {c.key: request.form.get(f"points-{c.key}", "") for c in criteria}
    texts = {c.key: request.form.get(f"justification-{c.key}", "") for c in criteria}
    try:
        review.save_card(assignment, current_user, points, texts, submit=submit)
    except ValidationError as exc:
        if isinstance(exc, review.CardLocked) or set(exc.errors) == {"_"}:
            # Nothing to correct in the form: say why on the page as it is.
            db.session.rollback()
            flash(_messages(exc), "error")
            return redirect(url_for(".assignment", assignment_id=assignment_id), code=303)
        db.session.rollback()
        exc.apply_to(form)
        assignment = review.my_assignment_or_404(assignment_id, current_user)
        return _assignment_page(assignment, card_form=form, status=422)
    db.session.commit()
    flash(_("Your score card is submitted. Thank you!") if submit else
          _("Your score card is saved as a draft; submit it when it is complete."), "success")
    return redirect(url_for(".assignment", assignment_id=assignment_id), code=303)


__all__ = ["bp"]
