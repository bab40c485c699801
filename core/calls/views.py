"""Calls on a tenant's site: the public list and page of each call, and their management.

Public: ``/calls`` (published and closed calls) and ``/calls/<ref>`` (a draft is 404 to
anyone who may not manage calls).  Administration: ``/admin/calls`` for ``tenant.manage``.
"""
from __future__ import annotations

import datetime as dt

from flask import (Blueprint, abort, current_app, flash, g, redirect, render_template, request,
                   send_file, url_for)
from flask_babel import format_date, format_datetime, format_decimal, get_translations, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from core.accounts.permissions import has_permission, host_scope, public, requires
from core.db import db, get_or_404, utcnow
from core.errors import ValidationError
from core.rules.engine import pool_from_params
from core.rules.values import warsaw_date

from . import operations, storage
from .forms import (PARAMS_PREFIX, SHARED_FIELDS, TIMELINE_FIELDS, CallForm, CallTextForm,
                    DocumentForm, PresetForm, default_params, field_names, params_form,
                    pool_presets, shared_names)
from .models import Call, CallDocument, CallStatus

bp = host_scope(Blueprint("calls", __name__), "tenant")

@bp.app_template_filter("warsaw_day")
def warsaw_day(instant: dt.datetime) -> str:
    """The ISO date an instant falls on in Europe/Warsaw."""
    return warsaw_date(instant).isoformat()


@bp.app_template_filter("isodate")
def isodate(value, format: str = "long") -> str:
    """A date given as ISO text (as params and the timeline keep them), in the page's language."""
    day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    return format_date(day, format)


@bp.app_template_filter("filesize")
def filesize(size: int) -> str:
    if size < 1024 * 1024:
        return _("%(num)s kB", num=format_decimal(max(1, round(size / 1024))))
    return _("%(num)s MB", num=format_decimal(round(size / (1024 * 1024), 1)))


def _pm():
    return current_app.extensions["mikrogranty.plugins"]


def _variant_label(key: str) -> str:
    variant = _pm().variant(key)
    return str(variant.label) if variant is not None else key


# --- the countdown ------------------------------------------------------------------------

def deadline_text(deadline_at: dt.datetime) -> str:
    """``31 marca 2025, 23:59``: the exact instant, in Polish time."""
    return format_datetime(deadline_at, "d MMMM y, HH:mm")


def countdown(call: Call, now: dt.datetime | None = None) -> dict | None:
    """What the call's page says about the time left, decided in Europe/Warsaw.

    Returns ``{"state": "open" | "today" | "ended" | "closed", "text": …}`` or ``None``
    when the call has no deadline.  Days are calendar days in Warsaw up to the deadline day.
    """
    if call.status == CallStatus.CLOSED:
        return {"state": "closed", "text": _("Submissions are closed")}
    if call.deadline_at is None:
        return None
    now = now or utcnow()
    time = format_datetime(call.deadline_at, "HH:mm")
    if now > call.deadline_at:
        return {"state": "ended", "text": _(
            "Submissions ended on %(date)s at %(time)s",
            date=format_date(warsaw_date(call.deadline_at), "long"), time=time)}
    days = (warsaw_date(call.deadline_at) - warsaw_date(now)).days
    if days <= 0:
        return {"state": "today", "text": _("Submissions close today at %(time)s", time=time)}
    return {"state": "open", "text": ngettext("%(num)d day left until the deadline",
                                              "%(num)d days left until the deadline", days)}


def countdown_forms() -> dict:
    """The plural forms of the countdown for the page's script, by CLDR plural category
    (``{n}`` stands for the number): the script picks one with ``Intl.PluralRules``."""
    translations = get_translations()
    sample = {"one": 1, "few": 2, "many": 5, "other": 5}
    return {category: translations.ungettext("%(num)d day left until the deadline",
                                             "%(num)d days left until the deadline",
                                             n).replace("%(num)d", "{n}")
            for category, n in sample.items()}


# --- public pages -------------------------------------------------------------------------

def _may_manage() -> bool:
    return has_permission("tenant.manage")


def _public_call_or_404(ref: str) -> Call:
    call = db.session.execute(db.select(Call).where(Call.ref == ref)).scalar_one_or_none()
    if call is None or (call.status == CallStatus.DRAFT and not _may_manage()):
        abort(404)
    return call


@bp.get("/calls")
@public
def index():
    calls = db.session.scalars(
        db.select(Call).where(Call.status.in_([CallStatus.PUBLISHED, CallStatus.CLOSED]))
        .order_by(Call.deadline_at.desc(), Call.id.desc())).all()
    now = utcnow()
    current = [c for c in calls if c.status == CallStatus.PUBLISHED
               and c.deadline_at and c.deadline_at >= now]
    past = [c for c in calls if c not in current]
    return render_template("calls/index.html", current=current, past=past,
                           countdown=countdown, deadline_text=deadline_text)


@bp.get("/calls/<ref>")
@public
def show(ref):
    call = _public_call_or_404(ref)
    rules = _pm().hook.call_rules_summary(call=call) or []
    response = current_app.make_response(render_template(
        "calls/show.html", call=call, rules=rules, countdown=countdown(call),
        countdown_forms=countdown_forms(), deadline_text=deadline_text,
        variant_label=_variant_label(call.variant), timeline_labels=TIMELINE_LABELS))
    if call.status == CallStatus.DRAFT:
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/calls/<ref>/documents/<int:document_id>")
@public
def document(ref, document_id):
    """A call's document, through the tenant filter: public once the call is published."""
    found = db.session.execute(
        db.select(CallDocument).join(Call, Call.id == CallDocument.call_id)
        .where(CallDocument.id == document_id, Call.ref == ref)).scalar_one_or_none()
    if found is None or (found.call.status == CallStatus.DRAFT and not _may_manage()):
        abort(404)
    path = storage.path_for(found.tenant_id, found.stored_name)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype="application/pdf", as_attachment=True,
                         download_name=found.filename, max_age=0, conditional=True)
    # The file is someone's upload: never run it as a page of this site.
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    if found.call.status == CallStatus.DRAFT:
        response.headers["Cache-Control"] = "no-store"
    return response


# --- administration -----------------------------------------------------------------------

TIMELINE_LABELS = {
    "formal_check": _l("Formal check until"),
    "stage2": _l("Stage II (committee interviews)"),
    "results": _l("Results announced"),
}


@bp.get("/admin/calls")
@requires("tenant.manage")
def admin_index():
    calls = db.session.scalars(db.select(Call).order_by(Call.created_at.desc(),
                                                        Call.id.desc())).all()
    return render_template("calls/admin_index.html", calls=calls, deadline_text=deadline_text,
                           variant_label=_variant_label,
                           has_variants=bool(operations.enabled_variants(g.tenant)))


def _variant_choices(call: Call | None) -> list[SelectChoice]:
    enabled = operations.enabled_variants(g.tenant)
    choices = [SelectChoice(key, str(v.label)) for key, v in enabled.items()]
    if call is not None and call.variant not in enabled:
        choices.append(SelectChoice(call.variant, _variant_label(call.variant)))
    return choices


def _fill(form: CallForm, call: Call | None, variant: str, params: dict) -> None:
    """Put a call's (or a new call's default) values into the form, for a GET."""
    form.variant.data = variant
    if call is not None:
        form.title.data, form.ref.data = call.title, call.ref
        form.description.data = call.description
        form.announced_on.data = call.announced_on
        form.realization_start.data = call.realization_start
        form.realization_end.data = call.realization_end
        for name in TIMELINE_FIELDS:
            value = (call.timeline or {}).get(name)
            getattr(form, name).data = dt.date.fromisoformat(value) if value else None
    if call is not None and call.deadline_at is not None:
        form.deadline.data = warsaw_date(call.deadline_at)
    for core, aliases in SHARED_FIELDS.items():
        given = [params[a] for a in aliases if params.get(a)]
        if given and getattr(form, core).data is None:
            try:
                getattr(form, core).data = dt.date.fromisoformat(str(given[0]))
            except ValueError:
                pass


def _move_shared_errors(form: CallForm, pform) -> None:
    """Errors the variant's form found on a shared field are shown on the call form's field."""
    for alias, core in shared_names(pform).items():
        target = getattr(form, core)
        errors = list(target.errors)
        errors += [e for e in getattr(pform, alias).errors if e not in errors]
        target.errors = errors
        getattr(pform, alias).errors = []


def _apply_errors(exc: ValidationError, form, pform=None) -> None:
    """Put an operation's messages on the fields they name (``params.<name>`` on the
    variant's form, or on the call form's field when the two share it)."""
    shared = shared_names(pform) if pform is not None else {}
    for key, messages in exc.errors.items():
        if key.startswith("params."):
            name = key[len("params."):]
            if name in shared and hasattr(form, shared[name]):
                target = getattr(form, shared[name])
            elif pform is not None and name in pform._fields:
                target = pform[name]
            else:
                target = None
        else:
            target = form[key] if key in form._fields else None
        if target is None:
            form.form_errors = list(form.form_errors) + [str(m) for m in messages]
        else:
            target.errors = list(target.errors) + [str(m) for m in messages]


def _values(form: CallForm, pform, call: Call | None) -> dict:
    # Parameters the form does not show (e.g. imported with a call) are kept.
    names = set(field_names(pform))
    params = {k: v for k, v in ((call.params or {}) if call else {}).items() if k not in names}
    params.update(pform.to_params())
    return {
        "title": form.title.data, "ref": form.ref.data, "description": form.description.data,
        "variant": form.variant.data, "params": params,
        "announced_on": form.announced_on.data, "deadline": form.deadline.data,
        "realization_start": form.realization_start.data,
        "realization_end": form.realization_end.data,
        "timeline": {name: getattr(form, name).data for name in TIMELINE_FIELDS},
    }


def _computed_pool(pform):
    try:
        return pool_from_params(pform.to_params())
    except Exception:  # half-typed values: nothing to show yet
        return None


def _document_form() -> DocumentForm:
    form = DocumentForm(prefix="document")
    form.file.description = _("A PDF file of at most %(size)s MB.",
                              size=operations._megabytes(storage.max_bytes()))
    return form


def _render_editor(call, form, pform, variant, *, doc_form=None, notice=None, status=200):
    presets = pool_presets(variant) if pform is not None else []
    preset_form = PresetForm(prefix="preset", meta={"csrf": False})
    preset_form.preset.choices = [SelectChoice("", _("— choose —"))] + [
        SelectChoice(str(i), str(label)) for i, (label, _params) in enumerate(presets)]
    shared = shared_names(pform) if pform is not None else {}
    rules = (_pm().hook.call_rules_summary(call=call) or []) if call is not None else []
    return render_template(
        "calls/admin_form.html", call=call, form=form, pform=pform, variant=variant,
        shared=shared, presets=presets, preset_form=preset_form,
        doc_form=doc_form or _document_form(), notice=notice, rules=rules,
        computed_pool=_computed_pool(pform) if pform is not None else None,
        deadline_text=deadline_text, variant_label=_variant_label,
        timeline_labels=TIMELINE_LABELS, params_prefix=PARAMS_PREFIX,
        before_deadline=bool(call is not None and call.deadline_at
                             and utcnow() < call.deadline_at)), status


def _editor(call: Call | None):
    """Build, check and save the call form; returns a response."""
    form = CallForm()
    form.variant.choices = _variant_choices(call)
    enabled = operations.enabled_variants(g.tenant)
    if not form.is_submitted():
        if call is not None:
            variant, params = call.variant, call.params or {}
        else:
            asked = request.args.get("variant")
            variant = asked if asked in enabled else next(iter(enabled), None)
            params = default_params(variant)
        _fill(form, call, variant, params)
        return _render_editor(call, form, params_form(variant, params=params), variant)

    chosen = form.variant.data
    shown = request.form.get("shown_variant") or chosen
    if chosen != shown and chosen in enabled:
        # Another variant was chosen: show its parameters with their defaults first.
        pform = params_form(chosen, params=default_params(chosen))
        _fill(form, None, chosen, default_params(chosen))
        return _render_editor(call, form, pform, chosen, notice=_(
            "The parameters of “%(variant)s” are shown below with their usual values. "
            "Check them and save.", variant=_variant_label(chosen)))
    variant = shown
    if request.form.get("action") == "preset":
        presets = pool_presets(variant)
        choice = request.form.get("preset-preset", "")
        if choice.isdigit() and int(choice) < len(presets):
            label, preset_params = presets[int(choice)]
            pform = params_form(variant, request.form, overrides=preset_params)
            return _render_editor(call, form, pform, variant, notice=_(
                "“%(label)s” is filled in below. Nothing is saved yet: check the form and "
                "save.", label=label))
        pform = params_form(variant, request.form)
        return _render_editor(call, form, pform, variant,
                              notice=_("Choose a budget variant from the list first."))

    pform = params_form(variant, request.form)
    valid = form.validate()
    valid = pform.validate() and valid
    _move_shared_errors(form, pform)
    if valid:
        try:
            if call is None:
                call = operations.create_call(g.tenant, _values(form, pform, None),
                                              actor=current_user)
                changes = True
            else:
                changes = operations.update_call(call, _values(form, pform, call),
                                                 actor=current_user)
        except ValidationError as exc:
            db.session.rollback()
            _apply_errors(exc, form, pform)
        else:
            db.session.commit()
            if request.form.get("action") == "publish":
                return _publish(call, saved=True)
            flash(_("The call is saved.") if changes else _("Nothing changed."), "success")
            return redirect(url_for(".admin_edit", call_id=call.id))
    return _render_editor(call if call is not None and call.id else None, form, pform,
                          variant, status=422)


@bp.route("/admin/calls/new", methods=["GET", "POST"])
@requires("tenant.manage")
def admin_new():
    if not operations.enabled_variants(g.tenant):
        flash(_("This municipality runs no regulation variant installed here yet; the "
                "operator enables them in the console."), "error")
        return redirect(url_for(".admin_index"))
    return _editor(None)


def _text_editor(call: Call):
    """A published or closed call: only its wording may change."""
    form = CallTextForm()
    if not form.is_submitted():
        form.title.data, form.description.data = call.title, call.description
    elif form.validate():
        try:
            changes = operations.update_call(
                call, {"title": form.title.data, "description": form.description.data},
                actor=current_user)
        except ValidationError as exc:
            db.session.rollback()
            _apply_errors(exc, form)
        else:
            db.session.commit()
            flash(_("The call is saved.") if changes else _("Nothing changed."), "success")
            return redirect(url_for(".admin_edit", call_id=call.id))
    status = 422 if form.is_submitted() else 200
    return _render_editor(call, form, None, call.variant, status=status)


@bp.route("/admin/calls/<int:call_id>", methods=["GET", "POST"])
@requires("tenant.manage")
def admin_edit(call_id):
    call = get_or_404(Call, call_id)
    if call.status != CallStatus.DRAFT:
        return _text_editor(call)
    return _editor(call)


def _form_for_errors(call: Call):
    """The edit form as stored, to show an operation's errors on its fields."""
    if call.status != CallStatus.DRAFT:
        form = CallTextForm(formdata=None)
        form.title.data, form.description.data = call.title, call.description
        return form, None
    form = CallForm(formdata=None)
    form.variant.choices = _variant_choices(call)
    _fill(form, call, call.variant, call.params or {})
    return form, params_form(call.variant, params=call.params or {})


def _publish(call: Call, saved: bool = False):
    try:
        operations.publish_call(call, actor=current_user)
    except ValidationError as exc:
        db.session.rollback()
        form, pform = _form_for_errors(call)
        _apply_errors(exc, form, pform)
        message = (_("The call is saved, but it cannot be published yet: correct what is "
                     "marked below and publish again.") if saved else
                   _("The call cannot be published yet: correct what is marked below and "
                     "save."))
        form.form_errors = [message] + list(form.form_errors)
        return _render_editor(call, form, pform, call.variant, status=422)
    db.session.commit()
    flash(_("The call is published at %(url)s.", url=url_for(".show", ref=call.ref,
                                                              _external=True)), "success")
    return redirect(url_for(".admin_edit", call_id=call.id))


@bp.post("/admin/calls/<int:call_id>/publish")
@requires("tenant.manage")
def admin_publish(call_id):
    return _publish(get_or_404(Call, call_id))


@bp.post("/admin/calls/<int:call_id>/close")
@requires("tenant.manage")
def admin_close(call_id):
    call = get_or_404(Call, call_id)
    try:
        operations.close_call(call, actor=current_user,
                              early_confirmed=request.form.get("confirm_early") == "y")
    except ValidationError as exc:
        db.session.rollback()
        for messages in exc.errors.values():
            for message in messages:
                flash(str(message), "error")
    else:
        db.session.commit()
        flash(_("The call is closed."), "success")
    return redirect(url_for(".admin_edit", call_id=call.id))


@bp.post("/admin/calls/<int:call_id>/documents")
@requires("tenant.manage")
def admin_upload(call_id):
    call = get_or_404(Call, call_id)
    doc_form = _document_form()
    if doc_form.validate_on_submit():
        try:
            operations.attach_document(call, doc_form.file.data, doc_form.title.data,
                                       actor=current_user)
        except ValidationError as exc:
            db.session.rollback()
            exc.apply_to(doc_form)
        else:
            db.session.commit()
            flash(_("The document is attached."), "success")
            return redirect(url_for(".admin_edit", call_id=call.id) + "#documents")
    form, pform = _form_for_errors(call)
    return _render_editor(call, form, pform, call.variant, doc_form=doc_form, status=422)


@bp.post("/admin/calls/<int:call_id>/documents/<int:document_id>/remove")
@requires("tenant.manage")
def admin_remove_document(call_id, document_id):
    call = get_or_404(Call, call_id)
    found = get_or_404(CallDocument, document_id)
    if found.call_id != call.id:
        abort(404)
    operations.remove_document(found, actor=current_user)
    db.session.commit()
    flash(_("The document is removed."), "success")
    return redirect(url_for(".admin_edit", call_id=call.id) + "#documents")
