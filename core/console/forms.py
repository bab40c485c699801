from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (EmailField, SelectMultipleField, StringField, TextAreaField, widgets)
from wtforms.validators import DataRequired, Email, Length, Optional

_required = DataRequired(message=_l("This field is required."))


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class TenantForm(FlaskForm):
    slug = StringField(_l("Address (subdomain)"), validators=[_required, Length(max=63)],
                       description=_l("Lower-case letters, digits and hyphens, e.g. "
                                      "“lubochnia”; the site will be at "
                                      "lubochnia.%(domain)s."))
    name = StringField(_l("Name"), validators=[_required, Length(max=200)],
                       description=_l("As residents know it, e.g. “Gmina Lubochnia”."))
    hosts = TextAreaField(_l("Other addresses"), validators=[Optional()],
                          description=_l("One host a line, e.g. mikrogranty.lubochnia.pl; "
                                         "they redirect to the main address."))
    locales = CheckboxesField(_l("Languages"), choices=[])
    variants = CheckboxesField(_l("Regulation variants"), choices=[])
    primary_color = StringField(_l("Main colour"), validators=[Optional(), Length(max=7)],
                                description=_l("A dark colour as #RRGGBB, e.g. #1d4f91; "
                                               "white text must be readable on it."))
    contact_email = EmailField(_l("Contact e-mail"), validators=[
        Optional(), Email(message=_l("Enter a valid e-mail address, e.g. anna@example.org."))])
    description = TextAreaField(_l("Description on the home page"),
                                validators=[Optional(), Length(max=2000)])


class InviteAdminForm(FlaskForm):
    email = EmailField(_l("Administrator's e-mail"), validators=[
        _required, Email(message=_l("Enter a valid e-mail address, e.g. anna@example.org."))])
