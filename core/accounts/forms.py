from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

_required = DataRequired(message=_l("This field is required."))
_email = Email(message=_l("Enter a valid e-mail address, e.g. anna@example.org."))


def _new_password(label, again_label):
    """A new password and its repetition (the rules are checked by the operation)."""
    return (
        PasswordField(label, validators=[_required],
                      description=_l("At least 10 characters; not a common password."),
                      render_kw={"autocomplete": "new-password"}),
        PasswordField(again_label, validators=[
            _required, EqualTo("password", message=_l("The passwords differ."))],
            render_kw={"autocomplete": "new-password"}),
    )


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[_required, _email],
                       render_kw={"autocomplete": "username"})
    password = PasswordField(_l("Password"), validators=[_required],
                             render_kw={"autocomplete": "current-password"})
    next = HiddenField()


class RegisterForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[_required, _email, Length(max=254)],
                       render_kw={"autocomplete": "email"})
    password, password_again = _new_password(_l("Password"), _l("Password again"))


class ResetRequestForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[_required, _email],
                       render_kw={"autocomplete": "email"})


class ResetForm(FlaskForm):
    password, password_again = _new_password(_l("New password"), _l("New password again"))


class AcceptInvitationForm(FlaskForm):
    password = PasswordField(_l("Password"),
                             description=_l("At least 10 characters; not a common password."),
                             render_kw={"autocomplete": "new-password"})


class LanguageForm(FlaskForm):
    locale = SelectField(_l("Language"), choices=[])
    next = HiddenField()


class InviteForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[_required, _email])
    role = SelectField(_l("Role"), choices=[])
    name = StringField(_l("Note (optional)"), validators=[Length(max=200)])
