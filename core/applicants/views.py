"""Applicant profiles on the tenant's site: what an account applies as.

Every profile is loaded through the tenant filter and then checked against the account:
another account's profile, like another tenant's, is not found (404).
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.accounts.permissions import host_scope, requires
from core.db import db, get_or_404
from core.errors import ValidationError

from . import forms, operations
from .models import ApplicantKind, ApplicantProfile, kind_label, legal_form_label

bp = host_scope(Blueprint("applicants", __name__, url_prefix="/profiles"), "tenant")
APPLY = "application.apply"


@bp.app_context_processor
def _labels():
    return {"kind_label": kind_label, "legal_form_label": legal_form_label}


def _load(profile_id: int, *, owner_only: bool = False) -> ApplicantProfile:
    profile = get_or_404(ApplicantProfile, profile_id)
    if not operations.can_edit(current_user, profile):
        abort(404)
    if owner_only and not operations.is_owner(current_user, profile):
        abort(403)
    return profile


def _safe_next(target: str | None) -> str | None:
    if target and target.startswith("/") and not target.startswith("//") \
            and "\\" not in target and not urlsplit(target).netloc:
        return target
    return None


def _action() -> str:
    return request.form.get("action", "save") if request.method == "POST" else ""


@bp.get("/")
@requires(APPLY)
def index():
    profiles = operations.profiles_for(current_user)
    patronised = {p.id: operations.patronised_groups(p) for p in profiles
                  if p.kind in operations.ORGANISATION_KINDS}
    return render_template("applicants/index.html", profiles=profiles, patronised=patronised,
                           form=forms.EmptyForm())


@bp.route("/new", methods=["GET", "POST"])
@requires(APPLY)
def new():
    kind = request.args.get("kind")
    next_url = _safe_next(request.args.get("next"))
    if kind not in operations.KINDS:
        return render_template("applicants/choose_kind.html", kinds=operations.KINDS,
                               next_url=next_url)
    if kind == ApplicantKind.PERSON:
        existing = operations.personal_profile(current_user)
        if existing is not None:
            flash(_("You have a profile as a person already; change it here."), "info")
            return redirect(url_for(".edit", profile_id=existing.id))
    form = forms.new_profile_form(kind)
    if forms.has_people(kind) and form.handle_row_buttons(_action()):
        pass  # a row was added or removed: show the form again, nothing is saved
    elif form.validate_on_submit():
        try:
            profile = operations.create_profile(
                current_user, kind, form.profile_data(),
                people=form.people_data() if forms.has_people(kind) else None,
                representative=form.representative_index() if kind == ApplicantKind.GROUP
                else None)
        except ValidationError as exc:
            db.session.rollback()
            exc.apply_to(form)
        else:
            db.session.commit()
            flash(_("The profile is saved."), "success")
            return redirect(next_url or url_for(".detail", profile_id=profile.id))
    return render_template("applicants/form.html", form=form, kind=kind, profile=None,
                           data_part=True,
                           people_part=forms.has_people(kind))


@bp.get("/<int:profile_id>")
@requires(APPLY)
def detail(profile_id):
    profile = _load(profile_id)
    return render_template(
        "applicants/detail.html", profile=profile,
        is_owner=operations.is_owner(current_user, profile),
        patronised=operations.patronised_groups(profile)
        if profile.kind in operations.ORGANISATION_KINDS else [],
        editors=operations.editor_emails(profile))


@bp.route("/<int:profile_id>/edit", methods=["GET", "POST"])
@requires(APPLY)
def edit(profile_id):
    profile = _load(profile_id)
    form = forms.data_form(profile.kind, profile)
    if form.validate_on_submit():
        try:
            changed = operations.update_profile(profile, form.profile_data(),
                                                actor=current_user)
        except ValidationError as exc:
            db.session.rollback()
            exc.apply_to(form)
        else:
            db.session.commit()
            flash(_("The changes are saved.") if changed else _("Nothing has changed."),
                  "success")
            return redirect(url_for(".detail", profile_id=profile.id))
    return render_template("applicants/form.html", form=form, kind=profile.kind,
                           profile=profile, data_part=True, people_part=False)


@bp.route("/<int:profile_id>/members", methods=["GET", "POST"])
@requires(APPLY)
def members(profile_id):
    profile = _load(profile_id)
    if not forms.has_people(profile.kind):
        abort(404)
    form = forms.people_form(profile.kind, None if request.method == "POST" else profile)
    if form.handle_row_buttons(_action()):
        pass  # a row was added or removed: show the form again, nothing is saved
    elif form.validate_on_submit():
        try:
            operations.set_people(profile, form.people_data(), form.representative_index(),
                                  actor=current_user)
        except ValidationError as exc:
            db.session.rollback()
            exc.apply_to(form)
        else:
            db.session.commit()
            flash(_("The changes are saved."), "success")
            return redirect(url_for(".detail", profile_id=profile.id))
    return render_template("applicants/form.html", form=form, kind=profile.kind,
                           profile=profile, data_part=False,
                           people_part=True)


# --- patron organisation ------------------------------------------------------------------

@bp.route("/<int:profile_id>/patron", methods=["GET", "POST"])
@requires(APPLY)
def patron(profile_id):
    group = _load(profile_id)
    if group.kind != ApplicantKind.GROUP:
        abort(404)
    form = forms.PatronInviteForm()
    if form.validate_on_submit():
        try:
            operations.invite_patron(group, form.email.data, actor=current_user)
        except ValidationError as exc:
            db.session.rollback()
            exc.apply_to(form)
        else:
            db.session.commit()
            flash(_("The invitation is sent to %(email)s. The organisation confirms by "
                    "opening the link.", email=form.email.data), "success")
            return redirect(url_for(".patron", profile_id=group.id))
    return render_template("applicants/patron.html", profile=group, form=form,
                           button_form=forms.EmptyForm(),
                           days=operations.PATRON_INVITATION_DAYS)


@bp.post("/<int:profile_id>/patron/cancel")
@requires(APPLY)
def patron_cancel(profile_id):
    group = _load(profile_id)
    if forms.EmptyForm().validate_on_submit():
        operations.cancel_patron_invitation(group, actor=current_user)
        db.session.commit()
        flash(_("The invitation is cancelled; its link no longer works."), "success")
    return redirect(url_for(".patron", profile_id=group.id))


@bp.post("/<int:profile_id>/patron/remove")
@requires(APPLY)
def patron_remove(profile_id):
    group = _load(profile_id)
    if forms.EmptyForm().validate_on_submit():
        operations.end_patronage(group, actor=current_user)
        db.session.commit()
        flash(_("The group has no patron organisation now."), "success")
    return redirect(url_for(".patron", profile_id=group.id))


@bp.post("/<int:profile_id>/patronage/<int:group_id>/end")
@requires(APPLY)
def end_patronage(profile_id, group_id):
    organisation = _load(profile_id)
    group = next((g for g in operations.patronised_groups(organisation) if g.id == group_id),
                 None)
    if group is None:
        abort(404)
    if forms.EmptyForm().validate_on_submit():
        operations.end_patronage(group, actor=current_user)
        db.session.commit()
        flash(_("The patronage of “%(name)s” has ended; the group is told by e-mail.",
                name=group.name), "success")
    return redirect(url_for(".detail", profile_id=organisation.id))


@bp.route("/patron/<token>", methods=["GET", "POST"])
@requires(APPLY)
def patron_confirm(token):
    group = operations.find_patron_invitation(token)
    if group is None:
        return render_template(
            "errors/error.html", code=404, title=_("Invitation not found"),
            message=_("This link is invalid, used or expired. Ask the group for a new "
                      "invitation.")), 404
    candidates = operations.patron_candidates(current_user)
    # With one organisation there is nothing to choose: it is chosen already.
    form = forms.PatronConfirmForm(
        organisation=str(candidates[0].id) if len(candidates) == 1 else None)
    form.organisation.choices = [(str(p.id), p.display_name) for p in candidates]
    if _action() == "decline":
        if forms.EmptyForm().validate_on_submit():
            operations.decline_patron(group, actor=current_user)
            db.session.commit()
            flash(_("You have declined; the group is told by e-mail."), "success")
            return redirect(url_for(".index"))
    elif form.validate_on_submit():
        organisation = next(p for p in candidates if str(p.id) == form.organisation.data)
        try:
            operations.confirm_patron(group, organisation, actor=current_user)
        except ValidationError as exc:
            db.session.rollback()
            exc.apply_to(form)
        else:
            db.session.commit()
            flash(_("%(organisation)s is now the patron organisation of “%(group)s”.",
                    organisation=organisation.display_name, group=group.name), "success")
            return redirect(url_for(".detail", profile_id=organisation.id))
    return render_template("applicants/patron_confirm.html", group=group, form=form,
                           candidates=candidates, token=token,
                           members=len(group.people("member")))


# --- editors ------------------------------------------------------------------------------

@bp.route("/<int:profile_id>/editors", methods=["GET", "POST"])
@requires(APPLY)
def editors(profile_id):
    profile = _load(profile_id, owner_only=True)
    form = forms.EditorForm()
    if form.validate_on_submit():
        try:
            operations.add_editor(profile, form.email.data, actor=current_user)
        except ValidationError as exc:
            db.session.rollback()
            exc.apply_to(form)
        else:
            db.session.commit()
            flash(_("%(email)s may now edit this profile and its applications.",
                    email=form.email.data), "success")
            return redirect(url_for(".editors", profile_id=profile.id))
    return render_template("applicants/editors.html", profile=profile, form=form,
                           editors=operations.editor_emails(profile),
                           button_form=forms.EmptyForm())


@bp.post("/<int:profile_id>/editors/<int:editor_id>/remove")
@requires(APPLY)
def remove_editor(profile_id, editor_id):
    profile = _load(profile_id)
    if forms.EmptyForm().validate_on_submit():
        try:
            operations.remove_editor(profile, editor_id, actor=current_user)
        except ValidationError as exc:
            db.session.rollback()
            flash(" ".join(str(m) for ms in exc.errors.values() for m in ms), "error")
        else:
            db.session.commit()
            flash(_("The editor is removed."), "success")
    if operations.is_owner(current_user, profile):
        return redirect(url_for(".editors", profile_id=profile.id))
    return redirect(url_for(".index"))
