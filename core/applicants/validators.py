"""Polish identifiers, checked the way offices check them (python-stdnum), with messages
that name the field.

Each validator accepts what people type (spaces, dashes, a ``PL`` prefix) and, when
the number is valid, puts its compact form back on the field, so the compact form is
what gets stored.  The plain functions (``clean_nip`` …) serve operations and imports;
the classes are WTForms validators built on them.
"""
from __future__ import annotations

import datetime as dt
import re

from flask_babel import lazy_gettext as _l
from stdnum import iban as stdnum_iban
from stdnum.exceptions import InvalidChecksum, InvalidComponent, ValidationError as NumberError
from stdnum.pl import nip as stdnum_nip
from stdnum.pl import pesel as stdnum_pesel
from stdnum.pl import regon as stdnum_regon
from wtforms.validators import ValidationError, StopValidation

MESSAGES = {
    "nip.length": _l("NIP must have 10 digits (dashes and spaces are allowed)."),
    "nip.checksum": _l("NIP has an invalid checksum; check the digits."),
    "regon.length": _l("REGON must have 9 or 14 digits."),
    "regon.checksum": _l("REGON has an invalid checksum; check the digits."),
    "pesel.length": _l("PESEL must have 11 digits."),
    "pesel.checksum": _l("PESEL has an invalid checksum; check the digits."),
    "pesel.date": _l("PESEL holds a date of birth that does not exist; check the digits."),
    "iban.length": _l("The bank account number (IBAN) must have 26 digits; “PL” and spaces "
                      "are optional."),
    "iban.checksum": _l("The bank account number (IBAN) has an invalid checksum; check the "
                        "digits."),
    "iban.country": _l("The bank account number (IBAN) must be a Polish one (PL)."),
    "krs.length": _l("KRS must have exactly 10 digits, e.g. 0000123456."),
    "postal_code": _l("The postal code must look like 00-950."),
    "birth_date.pesel": _l("The date of birth does not match the PESEL."),
    "birth_date.future": _l("The date of birth cannot be in the future."),
    "birth_date.past": _l("The date of birth is too long ago; check the year."),
}


class NumberInvalid(ValueError):
    """A number people typed is wrong; ``message`` names the field and says why."""

    def __init__(self, key: str):
        self.key = key
        super().__init__(key)

    @property
    def message(self):
        return MESSAGES[self.key]


def _digits_only(value: str) -> str:
    return re.sub(r"[\s\-.]", "", value or "")


def clean_nip(value: str) -> str:
    compact = stdnum_nip.compact(value or "")
    if not compact.isdigit() or len(compact) != 10:
        raise NumberInvalid("nip.length")
    try:
        return stdnum_nip.validate(compact)
    except NumberError:
        raise NumberInvalid("nip.checksum") from None


def clean_regon(value: str) -> str:
    compact = stdnum_regon.compact(value or "")
    if not compact.isdigit() or len(compact) not in (9, 14):
        raise NumberInvalid("regon.length")
    try:
        return stdnum_regon.validate(compact)
    except NumberError:
        raise NumberInvalid("regon.checksum") from None


def clean_pesel(value: str) -> str:
    compact = stdnum_pesel.compact(value or "")
    if not compact.isdigit() or len(compact) != 11:
        raise NumberInvalid("pesel.length")
    try:
        return stdnum_pesel.validate(compact)
    except InvalidChecksum:
        raise NumberInvalid("pesel.checksum") from None
    except InvalidComponent:
        raise NumberInvalid("pesel.date") from None
    except NumberError:
        raise NumberInvalid("pesel.checksum") from None


def pesel_birth_date(pesel: str) -> dt.date:
    """The date of birth a valid PESEL encodes."""
    return stdnum_pesel.get_birth_date(pesel)


def clean_iban(value: str) -> str:
    """A Polish account: ``PL`` and 26 digits; the 26-digit NRB alone is accepted too."""
    compact = stdnum_iban.compact(value or "")
    if compact.isdigit():
        compact = "PL" + compact
    if compact[:2].isalpha() and compact[:2] != "PL":
        raise NumberInvalid("iban.country")
    if not compact.startswith("PL") or not compact[2:].isdigit() or len(compact) != 28:
        raise NumberInvalid("iban.length")
    try:
        return stdnum_iban.validate(compact)
    except NumberError:
        raise NumberInvalid("iban.checksum") from None


def clean_krs(value: str) -> str:
    compact = _digits_only(value)
    if not compact.isdigit() or len(compact) != 10:
        raise NumberInvalid("krs.length")
    return compact


def clean_postal_code(value: str) -> str:
    compact = (value or "").strip()
    if re.fullmatch(r"\d{5}", compact):
        compact = f"{compact[:2]}-{compact[2:]}"
    if not re.fullmatch(r"\d{2}-\d{3}", compact):
        raise NumberInvalid("postal_code")
    return compact


def check_birth_date(birth_date: dt.date | None, pesel: str | None = None,
                     today: dt.date | None = None) -> None:
    """Refuse a date of birth in the future, before 1900, or not the one the PESEL holds."""
    if birth_date is None:
        return
    today = today or dt.date.today()
    if birth_date > today:
        raise NumberInvalid("birth_date.future")
    if birth_date.year < 1900:
        raise NumberInvalid("birth_date.past")
    if pesel and pesel_birth_date(pesel) != birth_date:
        raise NumberInvalid("birth_date.pesel")


class _Number:
    """A WTForms validator around one of the ``clean_*`` functions; empty passes
    (combine with ``Optional`` or ``DataRequired``)."""

    clean = staticmethod(lambda value: value)

    def __call__(self, form, field):
        value = field.data
        if value is None or not str(value).strip():
            return
        try:
            field.data = type(self).clean(str(value))
        except NumberInvalid as exc:
            raise StopValidation(str(exc.message)) from None


class NIP(_Number):
    clean = staticmethod(clean_nip)


class REGON(_Number):
    clean = staticmethod(clean_regon)


class PESEL(_Number):
    clean = staticmethod(clean_pesel)


class IBAN(_Number):
    clean = staticmethod(clean_iban)


class KRS(_Number):
    clean = staticmethod(clean_krs)


class PostalCode(_Number):
    clean = staticmethod(clean_postal_code)


class BirthDate:
    """A plausible date of birth; with ``pesel_field`` it must match that field's PESEL."""

    def __init__(self, pesel_field: str | None = None):
        self.pesel_field = pesel_field

    def __call__(self, form, field):
        pesel = None
        if self.pesel_field:
            other = form[self.pesel_field]
            if other.data and not other.errors:
                try:
                    pesel = clean_pesel(other.data)
                except NumberInvalid:
                    pesel = None  # the PESEL field says what is wrong with it
        try:
            check_birth_date(field.data, pesel)
        except NumberInvalid as exc:
            raise ValidationError(str(exc.message)) from None


__all__ = ["BirthDate", "IBAN", "KRS", "MESSAGES", "NIP", "NumberInvalid", "PESEL", "PostalCode",
           "REGON", "check_birth_date", "clean_iban", "clean_krs", "clean_nip", "clean_pesel",
           "clean_postal_code", "clean_regon", "pesel_birth_date"]
