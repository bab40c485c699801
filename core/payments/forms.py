"""Forms of the ledger: recording a purchase and cancelling one.

The forms parse what people type (``1 234,50 zł``, dates); the operations judge it, so a
refusal reads the same whoever records the purchase.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import TextInput

from core.calls.forms import MoneyField

from .operations import INVOICE_NUMBER_MAX, NOTE_MAX, REASON_MAX, SUPPLIER_MAX

_required = DataRequired(message=_l("This field is required."))
_CHOOSE_LINE = _l("Choose the line of the budget the purchase is paid from.")


def _line_id(value):
    """A line's id, or ``None`` for the empty first choice ("choose a line")."""
    return None if value in (None, "") else int(value)


class PurchaseForm(FlaskForm):
    """An invoice the operator paid; ``line`` choices are the ledger's lines (set by the view)."""

    line = SelectField(_l("Budget line"), coerce=_line_id, choices=[], validate_choice=False,
                       validators=[InputRequired(message=_CHOOSE_LINE)],
                       invalid_value_message=_CHOOSE_LINE)
    supplier = StringField(_l("Supplier"), validators=[_required, Length(
        max=SUPPLIER_MAX, message=_l("The supplier's name is too long (%(max)d characters at "
                                     "most).", max=SUPPLIER_MAX))],
        description=_l("Who issued the invoice, e.g. “Hurtownia Papiernicza Sp. z o.o.”."))
    invoice_number = StringField(_l("Invoice number"), validators=[_required, Length(
        max=INVOICE_NUMBER_MAX, message=_l("The invoice number is too long (%(max)d characters "
                                           "at most).", max=INVOICE_NUMBER_MAX))])
    invoice_date = DateField(_l("Invoice date"), validators=[_required],
                             invalid_value_message=_l("Enter a date, e.g. 2025-06-30."))
    # InputRequired, not DataRequired: a zero is typed, and the operation says why not.
    # A text field (not type=number): "349,99" typed the Polish way stays as typed.
    amount = MoneyField(_l("Amount (gross)"), validators=[InputRequired(
        message=_l("This field is required."))], widget=TextInput(),
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
                        description=_l("The invoice's total in złoty, e.g. 349,99."))
    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(
        max=NOTE_MAX, message=_l("The note is too long (%(max)d characters at most).",
                                 max=NOTE_MAX))],
        description=_l("What was bought, if the invoice does not say it plainly."))
    confirm_date = BooleanField(_l("The date is right: record the invoice although it is "
                                   "dated outside the project's period."))


class CancelForm(FlaskForm):
    """The reason a purchase is cancelled (it stays on the ledger, marked cancelled); the
    operation refuses an empty one.  Each purchase's form has its own prefix."""

    reason = StringField(_l("Reason for cancelling"), validators=[Length(
        max=REASON_MAX, message=_l("The reason is too long (%(max)d characters at most).",
                                   max=REASON_MAX))])
