"""The application generator, submission with a receipt, and the applicant's dashboard.

Views are thin: parse the request, call one operation, commit, render.  Every page works
without JavaScript (each step has its own "save and continue" button); htmx autosaves
each field and refreshes totals and violations.
"""
from __future__ import annotations

import re
import time

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from core.accounts.permissions import host_scope, requires
from core.calls.models import Call
from core.db import db, get_or_404
from core.errors import ValidationError

from . import forms, operations
from .models import Application, ApplicationStatus
from .receipt import receipt_context, receipt_data, render_receipt_pdf

bp = host_scope(Blueprint("applications", __name__), "tenant")

_REMOVE = re.compile(r"^remove-(budget|contribution)-(\d{1,18})$")


# --- helpers ------------------------------------------------------------------------------

def _application_or_404(application_id: int) -> Application:
    application = get_or_404(Application, application_id)
    if not operations.can_access(current_user, application):
        abort(404)
    return application


def _call_or_404(ref: str) -> Call:
    call = db.session.execute(db.select(Call).where(Call.ref == ref)).scalar_one_or_none()
    if call is None or call.status == "draft":
        abort(404)
    return call


def _htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def _step_url(application, step, **values):
    return url_for(".step", application_id=application.id, step=step, **values)


def _next_step(step: str) -> str:
    index = forms.STEPS.index(step)
    return forms.STEPS[min(index + 1, len(forms.STEPS) - 1)]


def _previous_step(step: str) -> str:
    return forms.STEPS[max(forms.STEPS.index(step) - 1, 0)]


def _budget_rows(application, posted=None, errors=None, extra: int = 0) -> list[dict]:
    """Rows of the budget table to render: as stored, or as posted (with their errors)."""
    rows = []
    if posted is not None:
        for n, row in enumerate(posted):
            values = row.values
            amount = None if row.errors else forms.line_amount(values.get("quantity"),
                                                               values.get("unit_price"))
            rows.append({"index": row.index, "id": row.id, **row.typed, "amount": amount,
                         "errors": row.errors, "position": n, "number": n + 1})
    else:
        for n, line in enumerate(application.budget):
            rows.append({"index": n, "id": line.id, "position": n, "number": n + 1,
                         "category": line.category,
                         "item": line.item, "quantity": operations._decimal_text(line.quantity),
                         "unit_price": operations._decimal_text(line.unit_price),
                         "amount": line.amount, "errors": {}})
    start = max([r["index"] for r in rows], default=-1) + 1
    blank = max(extra, 0 if rows else 1)
    for n in range(start, start + blank):
        rows.append(_blank_budget_row(n))
    return rows


def _blank_budget_row(n: int) -> dict:
    return {"index": n, "id": None, "category": "", "item": "", "quantity": "1",
            "unit_price": "", "amount": None, "errors": {}, "position": None, "number": None}


def _contribution_rows(application, posted=None, extra: int = 0) -> list[dict]:
    rows = []
    if posted is not None:
        for n, row in enumerate(posted):
            rows.append({"index": row.index, "id": row.id, **row.typed, "position": n,
                         "number": n + 1,
                         "amount_value": None if row.errors else row.values.get("amount"),
                         "errors": row.errors})
    else:
        for n, line in enumerate(application.contributions):
            rows.append({"index": n, "id": line.id, "kind": line.kind, "position": n,
                         "number": n + 1,
                         "description": line.description,
                         "hours": operations._decimal_text(line.hours),
                         "rate": operations._decimal_text(line.rate),
                         "amount": operations._decimal_text(line.amount),
                         "amount_value": line.amount, "errors": {}})
    start = max([r["index"] for r in rows], default=-1) + 1
    blank = max(extra, 0 if rows else 1)
    for n in range(start, start + blank):
        rows.append(_blank_contribution_row(n))
    return rows


def _blank_contribution_row(n: int) -> dict:
    return {"index": n, "id": None, "kind": "financial", "description": "", "hours": "",
            "rate": "", "amount": "", "amount_value": None, "errors": {}, "position": None,
            "number": None}


def _category_choices(rows) -> list[tuple[str, str]]:
    from core.rules.labels import category_label

    used = {r.get("category") for r in rows if r.get("category")}
    keys = list(forms.ORDINARY_CATEGORIES) + sorted(
        c for c in used if c not in forms.ORDINARY_CATEGORIES and c in forms.BUDGET_CATEGORIES)
    return [(key, category_label(key)) for key in keys]


def _render_step(application, step, *, form=None, errors=None, rows=None, conflict=None,
                 refusal=None, extra=0) -> str:
    """The page of one step: the form (as stored, or as posted with its errors), the
    violations of this step and the others, and the conflict when there is one."""
    found = operations.violations(application)
    by_step = operations.violations_by_step(application, found)
    if form is None:
        form = operations.step_form(application, step, current_user)
    errors = dict(errors or {})
    for name, messages in errors.items():
        if name in form._fields:
            form._fields[name].errors = list(messages)
    rows = rows or {}
    budget = contribution = None
    if step == "budget":
        budget = _budget_rows(application, rows.get("budget"), extra=extra)
    if step == "contribution":
        contribution = _contribution_rows(application, rows.get("contribution"), extra=extra)
    return render_template(
        f"applications/step_{step}.html", application=application, call=application.call,
        step=step, steps=forms.STEPS, step_labels=forms.STEP_LABELS, form=form,
        errors=errors, violations=by_step, all_violations=found,
        formal_count=sum(1 for v in found if v.formal), budget=budget,
        contribution=contribution, categories=_category_choices(budget or []),
        contribution_kinds=[(k, forms.CONTRIBUTION_LABELS[k]) for k in forms.CONTRIBUTION_KINDS],
        conflict=conflict, refusal=refusal,
        version=conflict.version if conflict is not None else application.version,
        token=operations.new_submit_token() if step == "summary" else None,
        field_label=lambda name: operations.field_label(application, name),
        table_error=errors.get(step) if step in ("budget", "contribution") else None,
        profile_url=_profile_url() if step == "applicant" else None, ops=operations)


def _parse_remove(action: str):
    match = _REMOVE.match(action or "")
    return (match.group(1), int(match.group(2))) if match else None


# --- the dashboard and starting -----------------------------------------------------------

@bp.get("/applications")
@requires("application.apply")
def dashboard():
    applications = operations.applications_for(current_user)
    drafts = [a for a in applications if a.status == ApplicationStatus.DRAFT]
    others = [a for a in applications if a.status != ApplicationStatus.DRAFT]
    return render_template("applications/dashboard.html", drafts=drafts, submitted=others,
                           calls=operations.open_calls(), ops=operations)


@bp.route("/calls/<ref>/apply", methods=["GET", "POST"])
@requires("application.apply")
def start(ref):
    call = _call_or_404(ref)
    profiles = operations.profiles_for(current_user)
    if request.method == "POST":
        profile = None
        chosen = request.form.get("profile_id", "")
        if chosen:
            profile = next((p for p in profiles if str(p.id) == chosen), None)
            if profile is None:
                abort(404)
        try:
            application = operations.start_draft(call, current_user, profile)
        except ValidationError as exc:
            db.session.rollback()
            flash("; ".join(str(m) for ms in exc.errors.values() for m in ms), "error")
        else:
            db.session.commit()
            if application.reopened:
                flash(_("You already have a draft for this call: here it is."), "success")
            return redirect(_step_url(application, "applicant"), code=303)
    drafts = [a for a in operations.applications_for(current_user)
              if a.call_id == call.id and a.status == ApplicationStatus.DRAFT]
    return render_template("applications/start.html", call=call, profiles=profiles,
                           drafts=drafts, is_open=operations.is_open(call),
                           profile_url=_profile_url())


def _profile_url() -> str | None:
    """Where to create an applicant profile (the profiles pages), if they are installed."""
    from flask import current_app

    for endpoint in ("applicants.new", "applicants.index"):
        if endpoint in current_app.view_functions:
            return url_for(endpoint)
    return None


# --- the steps ----------------------------------------------------------------------------

@bp.route("/applications/<int:application_id>/<step>", methods=["GET", "POST"])
@requires("application.apply")
def step(application_id, step):
    application = _application_or_404(application_id)
    if step not in forms.STEPS:
        abort(404)
    if application.status != ApplicationStatus.DRAFT:
        return redirect(url_for(".receipt", application_id=application.id))
    extra = 1 if request.args.get("add") else 0
    if request.method == "GET" or step == "summary":
        return _render_step(application, step, extra=extra)
    action = request.form.get("action", "next")
    remove = _parse_remove(action)
    try:
        result = operations.save_step(application, step, request.form,
                                      request.form.get("version"), current_user, remove=remove)
    except operations.Conflict as conflict:
        db.session.rollback()
        application = _application_or_404(application_id)
        merged = conflict.merged if conflict.merged is not None else request.form
        form = operations.step_form(application, step, current_user, formdata=merged)
        rows = {}
        if step == "budget":
            rows["budget"] = forms.parse_budget(merged).rows
        if step == "contribution":
            rows["contribution"] = forms.parse_contribution(merged).rows
        return _render_step(application, step, form=form, rows=rows, conflict=conflict), 409
    except operations.Locked as exc:
        db.session.rollback()
        flash(str(exc.errors.get("_", [exc])[0]), "error")
        return redirect(url_for(".receipt", application_id=application.id))
    db.session.commit()
    if result.errors:
        form = operations.step_form(application, step, current_user, formdata=request.form)
        return _render_step(application, step, form=form, errors=result.errors,
                            rows=result.rows), 422
    if remove is not None or action in ("stay", "review"):
        return redirect(_step_url(application, step) + "#step-form", code=303)
    if action.startswith("add-"):
        return redirect(_step_url(application, step, add=1) + "#table-end", code=303)
    if action == "back":
        return redirect(_step_url(application, _previous_step(step)), code=303)
    flash(_("Saved."), "success")
    return redirect(_step_url(application, _next_step(step)), code=303)


@bp.post("/applications/<int:application_id>/<step>/autosave")
@requires("application.apply")
def autosave(application_id, step):
    application = _application_or_404(application_id)
    if step not in operations.EDITABLE_STEPS:
        abort(404)
    try:
        result = operations.save_step(application, step, request.form,
                                      request.form.get("version"), current_user)
    except operations.Conflict as conflict:
        db.session.rollback()
        application = _application_or_404(application_id)
        return render_template("applications/_conflict.html", conflict=conflict,
                               application=application, step=step, fragment=True)
    except ValidationError as exc:
        db.session.rollback()
        return render_template("applications/_save_status.html", locked=True,
                               message=" ".join(str(m) for ms in exc.errors.values()
                                                for m in ms))
    db.session.commit()
    found = operations.violations(application)
    by_step = operations.violations_by_step(application, found)
    return render_template(
        "applications/_save_status.html", application=application, step=step, result=result,
        steps=forms.STEPS, step_labels=forms.STEP_LABELS,
        saved_at=format_datetime(result.saved_at or application.updated_at, "HH:mm"),
        violations=by_step, all_violations=found, ops=operations,
        field_label=lambda name: operations.field_label(application, name),
        budget_rows=_saved_rows(application, result, "budget"),
        contribution_rows=_saved_rows(application, result, "contribution"))


def _saved_rows(application, result, table):
    """For each posted row: its line id, as saved (so the next autosave updates it)."""
    rows = result.rows.get(table)
    if rows is None:
        return None
    lines = application.budget if table == "budget" else application.contributions
    saved = []
    for row, line in zip(rows, lines):
        saved.append({"index": row.index, "line": line, "errors": row.errors})
    return saved


@bp.get("/applications/<int:application_id>/<step>/row")
@requires("application.apply")
def new_row(application_id, step):
    """One blank row of the budget or contribution table (the "add a line" button)."""
    application = _application_or_404(application_id)
    if step not in ("budget", "contribution") or application.status != ApplicationStatus.DRAFT:
        abort(404)
    # A fresh index, after every row already in the page (they are saved in index order).
    index = time.time_ns() // 1000
    if step == "budget":
        row = _blank_budget_row(index)
        return render_template("applications/_budget_row.html", row=row,
                               categories=_category_choices([]), application=application)
    return render_template(
        "applications/_contribution_row.html", row=_blank_contribution_row(index),
        contribution_kinds=[(k, forms.CONTRIBUTION_LABELS[k]) for k in forms.CONTRIBUTION_KINDS],
        application=application)


# --- submission, receipt, withdrawal ------------------------------------------------------

@bp.post("/applications/<int:application_id>/submit")
@requires("application.apply")
def submit(application_id):
    application = _application_or_404(application_id)
    token = request.form.get("token", "")
    for _attempt in range(3):
        try:
            application = operations.submit(application, current_user, token)
            db.session.commit()
            break
        except IntegrityError:  # two submissions in one call took the same number: again
            db.session.rollback()
            application = _application_or_404(application_id)
        except operations.SubmissionRefused as exc:
            db.session.rollback()
            application = _application_or_404(application_id)
            return _render_step(application, "summary", refusal=exc), 422
        except operations.Conflict:
            db.session.rollback()
            application = _application_or_404(application_id)
        except ValidationError as exc:
            db.session.rollback()
            flash(" ".join(str(m) for ms in exc.errors.values() for m in ms), "error")
            return redirect(url_for(".receipt", application_id=application_id), code=303)
    if application.status == ApplicationStatus.DRAFT:
        abort(409)
    return redirect(url_for(".receipt", application_id=application.id), code=303)


@bp.get("/applications/<int:application_id>/receipt")
@requires("application.apply")
def receipt(application_id):
    application = _application_or_404(application_id)
    if not application.receipt_number:
        return redirect(_step_url(application, "summary"))
    data = receipt_data(application, g.tenant)
    return render_template("applications/receipt.html", application=application,
                           r=receipt_context(data, _locale()), call=application.call,
                           may_withdraw=operations.may_withdraw(application),
                           status_label=operations.status_label(application.status))


def _locale() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "pl")


@bp.get("/applications/<int:application_id>/receipt.pdf")
@requires("application.apply")
def receipt_pdf(application_id):
    application = _application_or_404(application_id)
    if not application.receipt_number:
        abort(404)
    pdf = render_receipt_pdf(receipt_data(application, g.tenant), _locale())
    filename = "potwierdzenie-" + re.sub(r"[^A-Za-z0-9_-]+", "-",
                                         application.receipt_number).strip("-") + ".pdf"
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})


@bp.route("/applications/<int:application_id>/withdraw", methods=["GET", "POST"])
@requires("application.apply")
def withdraw(application_id):
    application = _application_or_404(application_id)
    if request.method == "POST":
        try:
            operations.withdraw(application, current_user)
        except ValidationError as exc:
            db.session.rollback()
            flash(" ".join(str(m) for ms in exc.errors.values() for m in ms), "error")
        else:
            db.session.commit()
            flash(_("The application has been withdrawn."), "success")
        return redirect(url_for(".receipt", application_id=application.id), code=303)
    if not operations.may_withdraw(application):
        return redirect(url_for(".receipt", application_id=application.id))
    return render_template("applications/withdraw.html", application=application,
                           call=application.call)
