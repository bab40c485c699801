from __future__ import annotations

from urllib.parse import urlsplit

from flask import (Blueprint, current_app, flash, g, redirect, render_template, request,
                   session, url_for)
from flask_babel import gettext as _
from flask_login import current_user

from core.db import db
from core.errors import ValidationError
from core.extensions import limiter

from . import auth, operations
from .forms import (AcceptInvitationForm, LanguageForm, LoginForm, RegisterForm, ResetForm,
                    ResetRequestForm)
from .permissions import host_scope, public, requires

bp = host_scope(Blueprint("accounts", __name__), "any")


def _safe_next(target: str | None) -> str:
    if target and not urlsplit(target).netloc and target.startswith("/") \
            and not target.startswith("//"):
        return target
    return url_for("site.home") if g.get("tenant") is not None else url_for("console.tenants")


def _login_key() -> str:
    email = operations.normalise_email(request.form.get("email", ""))
    return f"{request.remote_addr}|{request.host}|{email}"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], key_func=_login_key,
               methods=["POST"])
@public
def login():
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = operations.authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append(_("Wrong e-mail or password."))
        elif user.confirmed_at is None:
            form.email.errors.append(_("Confirm your e-mail address first: open the link we "
                                       "sent you. You can also reset your password."))
        else:
            auth.start_session(user)
            operations.log_in(user, g.get("tenant"))
            db.session.commit()
            flash(_("You are logged in."), "success")
            return redirect(_safe_next(form.next.data))
    return render_template("accounts/login.html", form=form)


@bp.post("/logout")
@requires("authenticated")
def logout():
    auth.end_session()
    flash(_("You are logged out."), "success")
    return redirect(_safe_next(None))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
@public
def register():
    if g.get("tenant") is None:
        # The operator's console has no public registration: staff are invited.
        return render_template("errors/error.html", code=404, title=_("Page not found"),
                               message=_("Register on your municipality's site.")), 404
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            operations.check_password(form.password.data, form.email.data)
            operations.register(form.email.data, form.password.data, g.tenant,
                                locale=session.get("locale"))
        except ValidationError as exc:
            db.session.rollback()
            exc.apply_to(form)
        else:
            db.session.commit()
            target = request.args.get("next")
            if target and _safe_next(target) == target:
                # Where the person was going (a patron's link, a call): back there after login.
                session["next_after_confirm"] = target
            return render_template("accounts/check_email.html", email=form.email.data)
    return render_template("accounts/register.html", form=form)


@bp.get("/confirm/<token>")
@public
def confirm(token):
    user = operations.confirm(token, g.get("tenant"))
    if user is None:
        flash(_("This confirmation link is invalid or expired. Log in to get a new one, "
                "or reset your password."), "error")
        return redirect(url_for("accounts.login"))
    db.session.commit()
    flash(_("Your e-mail address is confirmed. You can log in now."), "success")
    return redirect(url_for("accounts.login", next=session.pop("next_after_confirm", None)))


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
@public
def reset_request():
    form = ResetRequestForm()
    if form.validate_on_submit():
        operations.request_password_reset(form.email.data, g.get("tenant"))
        db.session.commit()
        return render_template("accounts/check_email.html", email=form.email.data, reset=True)
    return render_template("accounts/reset_request.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@public
def reset(token):
    form = ResetForm()
    if form.validate_on_submit():
        try:
            operations.reset_password(token, form.password.data)
        except ValidationError as exc:
            db.session.rollback()
            exc.apply_to(form)
        else:
            db.session.commit()
            auth.end_session()
            flash(_("Your password is changed. Log in with the new one."), "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/reset.html", form=form)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@public
def accept_invitation(token):
    invitation = operations.find_invitation(token) if g.get("tenant") is not None else None
    if invitation is None:
        return render_template("errors/error.html", code=404, title=_("Invitation not found"),
                               message=_("This invitation is invalid, used or expired. Ask "
                                         "for a new one.")), 404
    existing = operations.find_user(invitation.email)
    form = AcceptInvitationForm()
    if form.validate_on_submit():
        user = current_user if current_user.is_authenticated else None
        try:
            if existing is None:
                operations.check_password(form.password.data or "", invitation.email)
            user = operations.accept_invitation(invitation, g.tenant, user=user,
                                                password=form.password.data)
        except ValidationError as exc:
            db.session.rollback()
            exc.apply_to(form)
        else:
            db.session.commit()
            if existing is None:
                auth.start_session(user)
                return redirect(url_for("site.home"))
            flash(_("The invitation is accepted. Log in to continue."), "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/invitation.html", form=form, invitation=invitation,
                           existing=existing)


@bp.post("/language")
@public
def language():
    from core.i18n import tenant_locales

    form = LanguageForm()
    form.locale.choices = tenant_locales()
    if form.validate_on_submit():
        session["locale"] = form.locale.data
        if current_user.is_authenticated:
            operations.set_locale(current_user, form.locale.data)
            db.session.commit()
    return redirect(_safe_next(form.next.data or request.referrer and urlsplit(
        request.referrer).path))
