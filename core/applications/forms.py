"""The generator's steps: the base form, the variant's additions, and the two tables.

Scalar fields are WTForms fields (the base ones below plus what the variant's
``application_form`` hook adds); the budget and the contribution are tables of rows
posted as ``budget-<n>-<column>``, parsed here into normalised rows with an error per
cell.  Nothing here writes: :mod:`core.applications.operations` decides what is saved.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import format_decimal
from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from wtforms import Form
from wtforms.fields import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import Optional, ValidationError

from .models import BUDGET_CATEGORIES, CONTRIBUTION_KINDS

STEPS = ("applicant", "project", "schedule", "budget", "contribution", "summary")
STEP_LABELS = {
    "applicant": _l("Applicant and realizer"),
    "project": _l("Project description"),
    "schedule": _l("Schedule"),
    "budget": _l("Budget"),
    "contribution": _l("Own contribution"),
    "summary": _l("Summary"),
}
# Steps a variant may extend through the application_form hook.
EXTENSIBLE_STEPS = ("project", "schedule", "budget", "contribution")

SHORT_TEXT_MAX = 300
LONG_TEXT_MAX = 10_000
MAX_BUDGET_LINES = 200
MAX_CONTRIBUTION_LINES = 100
MAX_QUANTITY = Decimal(1000000)
MAX_AMOUNT = Decimal(10000000)
GROSZ = Decimal("0.01")
# The categories offered in the table; the others (those regulations forbid) are accepted
# when they come in (an import, an older draft) and judged by the rules.
ORDINARY_CATEGORIES = BUDGET_CATEGORIES[:10]

CONTRIBUTION_LABELS = {
    "financial": _l("financial"),
    "in_kind": _l("in kind"),
    "services": _l("services"),
    "volunteer": _l("volunteer work"),
}

_required_note = _l("Needed before you submit.")


def _number(value, places: int = 0) -> str:
    locale = str(get_locale() or "pl")
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return format_decimal(value, format=pattern, locale=locale)


class MaxChars:
    """Length limit whose message says the limit and how much was typed."""

    def __init__(self, limit: int):
        self.limit = limit

    def __call__(self, form, field):
        text = field.data or ""
        if isinstance(text, str) and len(text) > self.limit:
            raise ValidationError(str(_l("At most %(max)s characters (you entered %(length)s).",
                                         max=_number(self.limit), length=_number(len(text)))))


class LocalDateField(StringField):
    """A date typed as 2025-07-01 (the browser's date picker) or 1.07.2025."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("render_kw", {})["type"] = "date"
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist):
        self.raw = valuelist[0].strip() if valuelist else ""
        self.data = None
        if not self.raw:
            return
        self.data = parse_date(self.raw)
        if self.data is None:
            raise ValueError(str(_l("Enter a date such as 2025-07-01 or 1.07.2025.")))

    def process_data(self, value):
        self.data = value if isinstance(value, dt.date) else parse_date(value or "")

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return self.data.isoformat() if self.data else ""


def parse_date(text: str) -> dt.date | None:
    text = (text or "").strip()
    for pattern in ("%Y-%m-%d", "%d.%m.%Y", "%d-%m-%Y", "%d/%m/%Y"):
        try:
            day = dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
        if 1900 <= day.year <= 2200:
            return day
    return None


class NumberError(ValueError):
    """A number that could not be read, with the message people see."""


def parse_decimal(text, *, what: str = "amount", maximum: Decimal = MAX_AMOUNT) -> Decimal | None:
    """``"3 500,00 zł"`` → ``Decimal("3500.00")``; empty → ``None``; bad → :class:`NumberError`.

    Negative numbers, more than two decimal places and absurd sizes are refused.
    """
    if text is None:
        return None
    raw = str(text).strip()
    if not raw:
        return None
    cleaned = re.sub(r"[\s\u00a0\u202f]", "", raw)
    cleaned = re.sub(r"(?i)(zł|zl|pln)$", "", cleaned)
    if "," in cleaned and "." in cleaned:
        cleaned = cleaned.replace(".", "").replace(",", ".") if cleaned.rfind(",") > \
            cleaned.rfind(".") else cleaned.replace(",", "")
    cleaned = cleaned.replace(",", ".")
    if cleaned.startswith(("-", "−")):
        if what == "quantity":
            raise NumberError(str(_l("The quantity cannot be negative.")))
        raise NumberError(str(_l("The amount cannot be negative.")))
    if not re.fullmatch(r"\d{1,12}(\.\d+)?", cleaned):
        if what == "quantity":
            raise NumberError(str(_l("Enter the quantity as a number, e.g. 2 or 1,5.")))
        raise NumberError(str(_l("Enter the amount as a number, e.g. 350 or 350,00.")))
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:  # pragma: no cover - the pattern above rules it out
        raise NumberError(str(_l("Enter the amount as a number, e.g. 350 or 350,00."))) from exc
    if value != value.quantize(GROSZ, rounding=ROUND_HALF_UP):
        raise NumberError(str(_l("At most two decimal places (grosze).")))
    if value > maximum:
        raise NumberError(str(_l("This number is too large (at most %(max)s).",
                                 max=_number(maximum))))
    return value.quantize(GROSZ)


def line_amount(quantity: Decimal | None, unit_price: Decimal | None) -> Decimal:
    """Quantity × unit price, rounded half-up to the grosz (zero while one is missing)."""
    if quantity is None or unit_price is None:
        return Decimal("0.00")
    return (quantity * unit_price).quantize(GROSZ, rounding=ROUND_HALF_UP)


# --- the scalar fields of each step -----------------------------------------------------

def base_fields(step: str, call, *, profile_choices=(), realizer_choices=(),
                applicant_options=()) -> dict:
    """The core generator's unbound fields of ``step`` (before the variant's additions)."""
    if step == "applicant":
        fields = {}
        if len(applicant_options) > 1:
            fields["applicant_option"] = RadioField(
                _l("How do you apply?"), choices=list(applicant_options),
                validators=[Optional()], validate_choice=False)
        fields["applicant_id"] = SelectField(
            _l("Applicant (who signs the application)"), choices=list(profile_choices),
            validators=[Optional()], validate_choice=False,
            description=_l("The organisation or person applying; the profiles you may use "
                           "are listed."))
        fields["realizer_id"] = SelectField(
            _l("Realizer (who carries the project out)"), choices=list(realizer_choices),
            validators=[Optional()], validate_choice=False,
            description=_l("Choose an informal group when an organisation applies on its "
                           "behalf; otherwise the applicant carries the project out."))
        if (call.params or {}).get("young_ngo_amount_max"):
            fields["claims_young_ngo"] = BooleanField(
                _l("We apply as a young organisation (higher grant limit)"),
                description=_l("Only for organisations registered recently that earned "
                               "little last year; the rules check it."))
        return fields
    if step == "project":
        return {
            "title": StringField(_l("Project title"), validators=[MaxChars(SHORT_TEXT_MAX)],
                                 description=_required_note),
            "description": TextAreaField(
                _l("What do you want to do and why?"), validators=[MaxChars(LONG_TEXT_MAX)],
                description=_l("The need, the activities and what will change; at most "
                               "10 000 characters.")),
            "beneficiaries": TextAreaField(
                _l("Who is the project for?"), validators=[MaxChars(LONG_TEXT_MAX)]),
            "place_gmina": StringField(_l("Municipality (gmina) where it happens"),
                                       validators=[MaxChars(SHORT_TEXT_MAX)]),
            "place_locality": StringField(_l("Place (village, neighbourhood, address)"),
                                          validators=[MaxChars(SHORT_TEXT_MAX)]),
        }
    if step == "schedule":
        return {
            "start": LocalDateField(_l("Start of the project"), description=_required_note),
            "end": LocalDateField(_l("End of the project"), description=_required_note),
            "activities": TextAreaField(
                _l("Plan of activities (what happens when)"),
                validators=[MaxChars(LONG_TEXT_MAX)],
                description=_l("One activity a line, e.g. “May: workshops in the library”.")),
        }
    return {}


# Fields stored in the application's own columns; ``place_<key>`` goes to ``place[key]``;
# everything else (the variant's fields included) to ``content[name]``.
COLUMN_FIELDS = ("title", "start", "end", "claims_young_ngo", "applicant_id", "realizer_id")
REQUIRED_FIELDS = ("applicant_id", "title", "description", "start", "end")


def plugin_fields(call) -> dict[str, dict]:
    """The variant's additions, by step: ``{step: {name: unbound field}}``."""
    pm = current_app.extensions["mikrogranty.plugins"]
    found: dict[str, dict] = {}
    for result in pm.hook.application_form(call=call) or []:
        for form_step in result or []:
            if form_step.step in EXTENSIBLE_STEPS:
                found.setdefault(form_step.step, {}).update(form_step.fields or {})
    return found


def step_form_class(step: str, call, **choices) -> type[Form]:
    """The form of ``step``: core's fields, then the variant's.

    A variant's field with the name of a core field replaces it, in the step the variant
    puts it (e.g. ``place_gmina`` as a list of the call's municipalities).
    """
    base = base_fields(step, call, **choices)
    added = plugin_fields(call)  # made after core's: a variant's new fields come last
    replaced = {name for fields in added.values() for name in fields}
    fields = {name: unbound for name, unbound in base.items() if name not in replaced}
    for name, unbound in added.get(step, {}).items():
        if name in base:  # a replacement takes the place of core's field in the page
            unbound.creation_counter = base[name].creation_counter
        fields[name] = unbound
    # WTForms' own messages ("Not a valid choice") in the page's language.
    fields["Meta"] = type("Meta", (), {"locales": [str(get_locale() or "pl"), "en"],
                                       "cache_translations": True})
    return type(f"{step.title()}StepForm", (Form,), fields)


# --- tables -----------------------------------------------------------------------------

@dataclass
class Row:
    """One posted row of a table: normalised values, the typed text and errors per cell."""

    index: int
    id: int | None = None
    values: dict = field(default_factory=dict)
    typed: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)


@dataclass
class Table:
    rows: list[Row]
    error: str | None = None      # about the table as a whole (too many lines)


_ROW_KEY = re.compile(r"^(budget|contribution)-(\d{1,18})-([a-z_]+)$")
BUDGET_COLUMNS = ("category", "item", "quantity", "unit_price")
CONTRIBUTION_COLUMNS = ("kind", "description", "hours", "rate", "amount")


def row_indexes(formdata, table: str) -> list[int]:
    indexes = set()
    for key in formdata:
        match = _ROW_KEY.match(key)
        if match and match.group(1) == table:
            indexes.add(int(match.group(2)))
    return sorted(indexes)


def has_table(formdata, table: str) -> bool:
    return f"{table}-present" in formdata or bool(row_indexes(formdata, table))


def _get(formdata, key: str) -> str:
    value = formdata.get(key)
    return value if isinstance(value, str) else ("" if value is None else str(value))


def parse_budget(formdata) -> Table:
    indexes = row_indexes(formdata, "budget")
    if len(indexes) > MAX_BUDGET_LINES:
        return Table([], str(_l("The budget may have at most %(max)s lines; you sent %(num)s. "
                                "Join similar costs into one line.",
                                max=_number(MAX_BUDGET_LINES), num=_number(len(indexes)))))
    rows = []
    for n in indexes:
        typed = {c: _get(formdata, f"budget-{n}-{c}").strip() for c in BUDGET_COLUMNS}
        if not (typed["category"] or typed["item"] or typed["unit_price"]):
            continue  # a blank row
        row = Row(index=n, id=_int(_get(formdata, f"budget-{n}-id")), typed=typed)
        category = typed["category"]
        if category and category not in BUDGET_CATEGORIES:
            row.errors["category"] = str(_l("Choose a category from the list."))
            category = None
        item = typed["item"]
        if len(item) > SHORT_TEXT_MAX:
            row.errors["item"] = str(_l("At most %(max)s characters (you entered %(length)s).",
                                        max=_number(SHORT_TEXT_MAX), length=_number(len(item))))
            item = None
        quantity = unit_price = None
        try:
            quantity = parse_decimal(typed["quantity"], what="quantity", maximum=MAX_QUANTITY)
        except NumberError as exc:
            row.errors["quantity"] = str(exc)
        try:
            unit_price = parse_decimal(typed["unit_price"])
        except NumberError as exc:
            row.errors["unit_price"] = str(exc)
        row.values = {"category": category if category is not None else "", "item": item,
                      "quantity": quantity, "unit_price": unit_price}
        rows.append(row)
    return Table(rows)


def parse_contribution(formdata) -> Table:
    indexes = row_indexes(formdata, "contribution")
    if len(indexes) > MAX_CONTRIBUTION_LINES:
        return Table([], str(_l("The contribution may have at most %(max)s lines; you sent "
                                "%(num)s.", max=_number(MAX_CONTRIBUTION_LINES),
                                num=_number(len(indexes)))))
    rows = []
    for n in indexes:
        typed = {c: _get(formdata, f"contribution-{n}-{c}").strip()
                 for c in CONTRIBUTION_COLUMNS}
        if not (typed["description"] or typed["hours"] or typed["rate"] or typed["amount"]):
            continue
        row = Row(index=n, id=_int(_get(formdata, f"contribution-{n}-id")), typed=typed)
        kind = typed["kind"]
        if kind not in CONTRIBUTION_KINDS:
            row.errors["kind"] = str(_l("Choose the kind of contribution."))
            kind = None
        description = typed["description"]
        if len(description) > SHORT_TEXT_MAX:
            row.errors["description"] = str(_l(
                "At most %(max)s characters (you entered %(length)s).",
                max=_number(SHORT_TEXT_MAX), length=_number(len(description))))
            description = None
        values = {"kind": kind, "description": description, "hours": None, "rate": None,
                  "amount": None}
        for column, what, maximum in (("hours", "quantity", Decimal(100000)),
                                      ("rate", "amount", MAX_AMOUNT),
                                      ("amount", "amount", MAX_AMOUNT)):
            try:
                values[column] = parse_decimal(typed[column], what=what, maximum=maximum)
            except NumberError as exc:
                row.errors[column] = str(exc)
        if kind == "volunteer" and (values["hours"] is not None or values["rate"] is not None):
            values["amount"] = line_amount(values["hours"], values["rate"])
        elif kind != "volunteer":
            values["hours"] = values["rate"] = None
        row.values = values
        rows.append(row)
    return Table(rows)


def _int(text: str) -> int | None:
    return int(text) if text and text.isdigit() and len(text) < 12 else None
