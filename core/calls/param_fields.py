"""Fields and value helpers for a variant's call-parameter form (``call_params_form``).

A variant's form shows the call's parameters as people type them (``12,5``, ``20 000``,
one gmina a line) and gives them back in the interchange form (``"4000.00"``, ISO dates,
integers where a percentage is whole); these are the pieces every such form needs.
Plugins take them from :mod:`core.plugins.toolkit`.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, SelectField, SelectMultipleField, TextAreaField, widgets
from wtforms.validators import InputRequired

from core.rules.values import to_decimal

from .forms import MoneyField

REQUIRED = InputRequired(message=_l("This field is required."))

CUTOFF_POLICY_LABELS = {
    "STOP": _l("Stop at the first project that does not fit"),
    "SKIP_TO_FIT": _l("Skip a project that does not fit and fund lower ones that fit"),
    "PARTIAL_LAST": _l("Offer the rest of the pool to the first project that does not fit"),
}


def plain_number(number) -> str:
    """``Decimal("10.00")`` → ``"10"``, ``Decimal("12.50")`` → ``"12.5"``."""
    text = f"{Decimal(number):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def interchange_number(number):
    """A percentage or points as the interchange stores them: an integer, or ``"12.5"``."""
    if number is None:
        return None
    number = Decimal(number)
    return int(number) if number == number.to_integral_value() else plain_number(number)


def money_text(amount) -> str | None:
    """An amount as the interchange stores it: ``"4000.00"``."""
    return None if amount is None else f"{Decimal(amount):.2f}"


def parse_date(value) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def parse_decimal(value) -> Decimal | None:
    try:
        return to_decimal(value)
    except (TypeError, ValueError, InvalidOperation):
        return None


def parse_int(value) -> int | None:
    try:
        return int(Decimal(str(value))) if value not in (None, "") else None
    except (InvalidOperation, ValueError):
        return None


class CheckboxesField(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class ChoiceField(SelectField):
    """A select whose value can be shown again as typed (``_value``)."""

    def _value(self):
        return "" if self.data is None else str(self.data)


class LinesField(TextAreaField):
    """A list typed one item a line (blank lines and repeats dropped).

    Several values of the field (a list sent item by item) are read as lines too.
    """

    def process_formdata(self, valuelist):
        if valuelist:
            seen, items = set(), []
            for line in "\n".join(valuelist).splitlines():
                item = " ".join(line.split())
                if item and item.casefold() not in seen:
                    seen.add(item.casefold())
                    items.append(item)
            self.data = items

    def _value(self):
        return "\n".join(self.data or [])


class NumberField(MoneyField):
    """A number typed as people type it (``12,5``), for percentages and points."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("invalid_value_message", _l("Enter a number, e.g. 10 or 12,5."))
        super().__init__(label, validators, **kwargs)

    def _value(self):
        if self.data is None:
            return super()._value()
        return plain_number(self.data)


class WholeNumberField(IntegerField):
    """A whole number that may be typed with spaces between the thousands (``20 000``)."""

    def process_formdata(self, valuelist):
        if valuelist:
            valuelist = [re.sub(r"[\s\u00a0\u202f]", "", valuelist[0])]
        super().process_formdata(valuelist)
