"""A refused CSRF token never costs a person what they typed.

Tokens have no time limit (WTF_CSRF_TIME_LIMIT None), yet a token can still be refused:
the session ended (logged out in another tab, the browser dropped the cookie, the server's
key changed) or the page was opened before a new login.  Instead of a bare 400 the same
page comes back with everything posted filled in, a fresh token and a clear message:

* forms that write only after ``validate_on_submit`` are shown again by running their own
  view: the form's CSRF field fails, so nothing is saved and the form keeps the posted data;
* a step of the application generator (which saves whatever is posted) is re-rendered from
  the posted data without saving;
* any other form gets a page listing what was sent, with a "send again" button carrying
  it (a person must press it: nothing is ever written without a valid token).
"""
from __future__ import annotations

from flask import current_app, flash, g, make_response, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import HTTPException

# Views that write only when their form validates (the CSRF field is part of it).
PUBLIC_FORMS = {"accounts.login", "accounts.register", "accounts.reset_request",
                "accounts.reset", "accounts.accept_invitation"}
ACCOUNT_FORMS = {"applicants.new", "applicants.edit", "applicants.members", "applicants.patron",
                 "applicants.editors", "calls.admin_new", "calls.admin_edit"}
SECRET_FIELDS = {"csrf_token"}


def expired_message() -> str:
    return _("This form had expired (after a long break, or you logged in or out in "
             "another window), so nothing was saved yet. Everything you typed is kept "
             "below: check it and send it again.")


def csrf_failed(error):
    """The handler of flask_wtf.csrf.CSRFError."""
    if g.get("unknown_host") or request.url_rule is None:
        from core.web import bad_request

        return bad_request(error)
    if request.method == "POST":
        response = _again(request.endpoint)
        if response is not None:
            return response
    return _resend_page()


def _again(endpoint: str | None):
    try:
        if endpoint in PUBLIC_FORMS or (endpoint in ACCOUNT_FORMS
                                        and current_user.is_authenticated):
            flash(expired_message(), "error")
            rv = current_app.view_functions[endpoint](**(request.view_args or {}))
        elif endpoint == "applications.step" and current_user.is_authenticated:
            rv = _generator_step(**(request.view_args or {}))
        else:
            return None
    except HTTPException:
        return None  # not this person's page after all: the neutral page below
    if rv is None:
        return None
    response = make_response(rv)
    if response.status_code >= 300:
        return None
    response.status_code = 400
    return response


def _generator_step(application_id: int, step: str):
    from core.accounts.permissions import has_permission
    from core.applications import forms, operations, views
    from core.applications.models import ApplicationStatus

    if not has_permission("application.apply") or step not in operations.EDITABLE_STEPS:
        return None
    application = views._application_or_404(application_id)
    if application.status != ApplicationStatus.DRAFT:
        return None
    flash(expired_message(), "error")
    form = operations.step_form(application, step, current_user, formdata=request.form)
    rows = {}
    if step == "budget":
        rows["budget"] = forms.parse_budget(request.form).rows
    if step == "contribution":
        rows["contribution"] = forms.parse_contribution(request.form).rows
    return views._render_step(application, step, form=form, rows=rows)


def _resend_page():
    fields = [(name, value) for name, values in request.form.lists() for value in values
              if name not in SECRET_FIELDS and "password" not in name]
    return render_template(
        "errors/csrf.html", fields=fields, action=request.full_path.rstrip("?"),
        files=bool(request.files), message=expired_message(),
        logged_out=not current_user.is_authenticated), 400
