"""Forms of calls: the call itself, the variant's parameters (from its plugin) and documents.

The parameters form comes from the variant's plugin (``call_params_form``) and is shown
inside the call form with the prefix ``params-``.  Some inputs belong to both: the call
form owns the deadline and the realization window (they are columns core decides on),
and the variant's form may also have fields of those names to check them together with
its other parameters.  Such a field is not shown twice: it gets the value typed into
the call form, and its errors are shown on the call form's field.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.datastructures import MultiDict
from wtforms import (BooleanField, DateField, DecimalField, SelectField, SelectMultipleField,
                     StringField, TextAreaField)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import TextInput

PARAMS_PREFIX = "params"

# A field of the call form → the names a variant's parameters may give it (INTERCHANGE.md).
SHARED_FIELDS = {
    "deadline": ("deadline",),
    "realization_start": ("realization_start", "window_start"),
    "realization_end": ("realization_end", "window_end"),
}

# Dates of the call's stages after the deadline, kept in ``Call.timeline`` by these names.
TIMELINE_FIELDS = ("formal_check", "stage2", "results")

_required = DataRequired(message=_l("This field is required."))
_date_message = _l("Enter a date, e.g. 2025-03-31.")


def date_field(label, description="", required=False):
    return DateField(label, validators=[_required] if required else [Optional()],
                     description=description, invalid_value_message=_date_message)


class MoneyField(DecimalField):
    """An amount in złoty, typed as people type it: ``12 000,50``, ``12000.50 zł``.

    A text input with a decimal keyboard, not ``type=number``: a browser would drop
    ``12 000,50`` from a number input, and the value typed would be lost.
    """

    widget = TextInput()

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("places", 2)
        render_kw = dict(kwargs.pop("render_kw", None) or {})
        render_kw.setdefault("inputmode", "decimal")
        kwargs["render_kw"] = render_kw
        kwargs.setdefault("invalid_value_message",
                          _l("Enter an amount in złoty, e.g. 12000 or 12 000,50."))
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        text = re.sub(r"[\s\u00a0\u202f]|zł$|zl$|PLN$", "", valuelist[0].strip(), flags=re.I)
        if not text:
            self.data = None
            return
        try:
            amount = Decimal(text.replace(",", "."))
        except InvalidOperation:
            self.data = None
            raise ValueError(self.invalid_value_message) from None
        if amount.is_finite() and amount.adjusted() >= 12:
            # More digits than any pool (and than quantize can hold): refuse, never a 500.
            self.data = None
            raise ValueError(_l("This number is too large (at most %(max)s).",
                                max="999\u00a0999\u00a0999\u00a0999"))
        if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
            self.data = None
            raise ValueError(_l("Give the amount in złoty and grosze (two decimal places "
                                "at most)."))
        self.data = amount.quantize(Decimal("0.01"))


class CallForm(FlaskForm):
    title = StringField(_l("Title"), validators=[
        _required, Length(max=300, message=_l("The title is too long (300 characters at most)."))],
        description=_l("As residents will see it, e.g. “Local Micro-grant Programme 2025”."))
    ref = StringField(_l("Address of the call's page"), validators=[
        Optional(), Length(max=80, message=_l("The address is too long (80 characters at most)."))],
        description=_l("Lower-case letters, digits and hyphens, e.g. lpm-2025. Leave it empty "
                       "to make one from the title."))
    description = TextAreaField(_l("Description"), validators=[
        Optional(), Length(max=20000, message=_l("The description is too long (20 000 "
                                                 "characters at most)."))],
        description=_l("What the programme is for and who may apply; a blank line starts "
                       "a new paragraph."))
    variant = SelectField(_l("Regulation variant"), choices=[], validate_choice=False,
                          validators=[_required],
                          description=_l("The regulations the call follows; its parameters "
                                         "are shown below."))
    announced_on = date_field(_l("Announcement date"))
    deadline = date_field(_l("Submission deadline"),
                          _l("Applications are accepted until 23:59 (Polish time) that day."))
    formal_check = date_field(_l("Formal check until"))
    stage2 = date_field(_l("Stage II (committee interviews) on"))
    results = date_field(_l("Results announced on"))
    realization_start = date_field(_l("Projects may start on"))
    realization_end = date_field(_l("Projects must end by"))


class CallTextForm(FlaskForm):
    """What may still change once a call is published: its wording."""

    title = CallForm.title
    description = CallForm.description


class DocumentForm(FlaskForm):
    title = StringField(_l("Document title"), validators=[
        Optional(), Length(max=300, message=_l("The title is too long (300 characters at most)."))],
        description=_l("E.g. “Regulations of the programme”; left empty, the file name is used."))
    file = FileField(_l("PDF file"))  # its description names the limit (set by the view)


class PresetForm(FlaskForm):
    """Chosen in the call form: a preset budget merged into the parameters."""

    preset = SelectField(_l("Budget variant from the offer"), choices=[], validate_choice=False)


class DefaultParamsForm(FlaskForm):
    """Parameters of a variant whose plugin gives no form of its own: just the pool."""

    pool = MoneyField(_l("Pool"), validators=[
        Optional(), NumberRange(min=Decimal("0.01"), message=_l("The pool must be above zero."))],
        description=_l("The money for grants in this call, in złoty."))

    def to_params(self) -> dict:
        return {"pool": f"{self.pool.data:.2f}"} if self.pool.data is not None else {}

    def from_params(self, params: dict) -> None:
        try:
            self.pool.data = Decimal(str(params["pool"])) if params.get("pool") else None
        except InvalidOperation:
            self.pool.data = None


# --- the variant's parameters -----------------------------------------------------------

def _pm():
    return current_app.extensions["mikrogranty.plugins"]


def params_form_class(variant: str | None):
    form_class = _pm().hook.call_params_form(variant=variant) if variant else None
    return form_class or DefaultParamsForm


def default_params(variant: str | None) -> dict:
    return dict((_pm().hook.default_params(variant=variant) if variant else None) or {})


def pool_presets(variant: str | None) -> list:
    return list((_pm().hook.pool_presets(variant=variant) if variant else None) or [])


def field_names(form) -> list[str]:
    """The parameter names a params form has (its fields, without the CSRF token)."""
    return [name for name, field in form._fields.items() if field.type != "CSRFTokenField"]


def shared_names(form) -> dict[str, str]:
    """``{params field name: call form field name}`` for the fields both forms have."""
    names = set(field_names(form))
    return {alias: core for core, aliases in SHARED_FIELDS.items() for alias in aliases
            if alias in names}


def _blank(form_class):
    return form_class(formdata=None, prefix=PARAMS_PREFIX, meta={"csrf": False})


def params_form(variant: str | None, formdata=None, params: dict | None = None,
                overrides: dict | None = None):
    """The variant's params form: filled from ``params`` (a GET), or from ``formdata`` (a
    POST, where the shared fields take the call form's values and ``overrides`` — a chosen
    preset — replace what was typed)."""
    form_class = params_form_class(variant)
    if formdata is None:
        form = _blank(form_class)
        if params:
            form.from_params(params)
        return form
    data = MultiDict(formdata)
    for alias, core in shared_names(_blank(form_class)).items():
        data.setlist(f"{PARAMS_PREFIX}-{alias}", formdata.getlist(core))
    for key, value in (overrides or {}).items():
        data.setlist(f"{PARAMS_PREFIX}-{key}", formdata_values(value))
    return form_class(formdata=data, prefix=PARAMS_PREFIX, meta={"csrf": False})


def formdata_values(value) -> list[str]:
    """How an interchange value is typed into a form: ``[]`` for nothing, ``["y"]`` for true."""
    if value is None or value is False:
        return []
    if value is True:
        return ["y"]
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    if isinstance(value, dt.date):
        return [value.isoformat()]
    return [str(value)]


def as_formdata(form) -> MultiDict:
    """What a browser would send for ``form`` as filled now (to re-check stored params)."""
    data = MultiDict()
    for field in form:
        if field.type == "CSRFTokenField":
            continue
        if isinstance(field, BooleanField):
            if field.data:
                data.add(field.name, "y")
        elif isinstance(field, SelectMultipleField):
            for value in field.data or []:
                data.add(field.name, str(value))
        else:
            data.add(field.name, field._value())
    return data


def params_errors(variant: str, params: dict) -> dict[str, list[str]]:
    """Check stored parameters with the variant's form, as if typed again.

    Returns ``{params field name: [messages]}`` (empty when they are valid).
    """
    form = params_form(variant, params=params)
    form = params_form_class(variant)(formdata=as_formdata(form), prefix=PARAMS_PREFIX,
                                      meta={"csrf": False})
    form.validate()
    return {name: [str(m) for m in field.errors] for name, field in form._fields.items()
            if field.errors}
