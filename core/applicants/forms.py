"""Forms for applicant profiles: one per kind, plus the rows of people (group members or
an organisation's board) that grow and shrink without JavaScript."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.form import _Auto, _is_submitted
from wtforms import BooleanField, Form, HiddenField, RadioField, SelectField, StringField
from wtforms.fields import DateField, EmailField, FieldList, FormField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from .models import LEGAL_FORM_LABELS, LEGAL_FORMS, ApplicantKind
from .validators import IBAN, KRS, NIP, PESEL, REGON, BirthDate, NumberInvalid, clean_pesel

_required = DataRequired(message=_l("This field is required."))
_email = Email(message=_l("Enter a valid e-mail address, e.g. anna@example.org."))
_numeric = {"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"}

# Legal forms that are always entered in the National Court Register.
KRS_REQUIRED = {"association", "foundation"}
GROUP_MIN_ROWS = 3
MONEY_MAX = Decimal("999999999999.99")


class PolishDateField(DateField):
    """A date from a date picker (ISO) or typed the Polish way (31.12.2024)."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("format", ["%Y-%m-%d", "%d.%m.%Y", "%d-%m-%Y", "%d/%m/%Y"])
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        if valuelist and valuelist[0].strip():
            valuelist = [valuelist[0].strip()]
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(str(_l("Enter the date as DD.MM.YYYY, e.g. 01.05.1980."))) from None


class MoneyField(StringField):
    """An amount in złoty typed the Polish way (``12 500,50 zł``), read as ``Decimal``."""

    def process_formdata(self, valuelist):
        self.data = None
        if not valuelist or not valuelist[0].strip():
            return
        text = re.sub(r"(?i)\s|zł|pln|\u00a0", "", valuelist[0]).replace(",", ".")
        try:
            amount = Decimal(text)
            valid = amount.is_finite() and 0 <= amount <= MONEY_MAX \
                and amount == amount.quantize(Decimal("0.01"))
        except InvalidOperation:
            valid = False
        if not valid:
            raise ValueError(str(_l("Enter an amount in złoty, e.g. 12500,00.")))
        self.data = amount.quantize(Decimal("0.01"))

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        return f"{self.data:.2f}".replace(".", ",")


def _iban_field():
    return StringField(_l("Bank account number (IBAN)"), [Optional(), IBAN()],
                       description=_l("26 digits; spaces are fine. Optional until you sign "
                                      "an agreement."),
                       render_kw=_numeric)


# --- one person: a member of a group or of an organisation's board ---------------------

class PersonRowForm(Form):
    """One row of people; a row left completely empty is ignored."""

    person_id = HiddenField()
    name = StringField(_l("Full name"), [Optional(), Length(max=200)],
                       render_kw={"autocomplete": "off"})
    birth_date = PolishDateField(_l("Date of birth"), [Optional(), BirthDate("pesel")])
    pesel = StringField(_l("PESEL (optional)"), [Optional(), PESEL()],
                        description=_l("If you give it, it must match the date of birth."),
                        render_kw=_numeric)

    def is_blank(self) -> bool:
        return not (_typed(self.name) or _typed(self.birth_date) or _typed(self.pesel))

    def validate(self, extra_validators=None):
        if self.is_blank():
            for field in self:
                field.errors = []
            return True
        ok = super().validate(extra_validators)
        if not (self.name.data or "").strip():
            self.name.errors = [*self.name.errors, str(_l("Give the person's full name."))]
            ok = False
        if self.birth_date.data is None and not self.birth_date.errors:
            self.birth_date.errors = [*self.birth_date.errors,
                                      str(_l("Give the date of birth."))]
            ok = False
        return ok

    def row_data(self) -> dict:
        try:
            person_id = int(self.person_id.data) if self.person_id.data else None
        except ValueError:
            person_id = None
        return {"person_id": person_id, "name": " ".join((self.name.data or "").split()),
                "birth_date": self.birth_date.data, "pesel": self.pesel.data or None}


def _typed(field) -> bool:
    if field.raw_data:
        return bool(str(field.raw_data[0]).strip())
    return bool(field.data)


class _PeopleForm(FlaskForm):
    """Rows of people; ``people_role`` says what they are to the profile."""

    people_role = "board"
    initial_rows = 1

    def __init__(self, formdata=_Auto, **kwargs):
        super().__init__(formdata=formdata, **kwargs)
        if formdata is _Auto:
            formdata = request.form if _is_submitted() else None
        if formdata and hasattr(self, "representative"):
            # WTForms renumbers posted rows 0..N-1; the radio button carries the number the
            # row had on the page, so translate it to the row's place now.
            pattern = re.compile(rf"^{re.escape(self.people.name)}-(\d+)-")
            indices = sorted({int(m.group(1)) for key in formdata
                              if (m := pattern.match(key))})
            try:
                chosen = int(self.representative.data or "")
            except ValueError:
                chosen = None
            self.representative.data = str(indices.index(chosen)) \
                if chosen is not None and chosen in indices else ""

    def pad_rows(self) -> None:
        """On first display, offer as many empty rows as the kind usually needs."""
        while len(self.people.entries) < self.initial_rows:
            self.people.append_entry()

    # -- the no-JavaScript buttons ---------------------------------------------------------

    def handle_row_buttons(self, action: str) -> bool:
        """Add or remove a row for ``Add a person`` / ``Remove``; True when one was pressed."""
        if action == "add_person":
            entry = self.people.append_entry()
            # The new row's first field takes the focus (after a reload or an htmx swap).
            entry.form.name.render_kw = {**(entry.form.name.render_kw or {}), "autofocus": True}
            return True
        if action.startswith("remove_person:"):
            try:
                position = int(action.split(":", 1)[1])
            except ValueError:
                return True
            if 0 <= position < len(self.people.entries):
                del self.people.entries[position]
                if hasattr(self.people, "_compact_indices"):
                    self.people._compact_indices()
                if hasattr(self, "representative") and self.representative.data:
                    chosen = int(self.representative.data)
                    self.representative.data = ("" if chosen == position else
                                                str(chosen - 1 if chosen > position else chosen))
            return True
        return False

    # -- what operations take --------------------------------------------------------------

    def filled_rows(self) -> list[tuple[int, PersonRowForm]]:
        return [(i, entry.form) for i, entry in enumerate(self.people.entries)
                if not entry.form.is_blank()]

    def people_data(self) -> list[dict]:
        return [row.row_data() for _i, row in self.filled_rows()]

    def representative_index(self) -> int | None:
        """The representative's place among the filled rows (what operations take)."""
        if not hasattr(self, "representative") or not self.representative.data:
            return None
        chosen = int(self.representative.data)
        positions = [i for i, _row in self.filled_rows()]
        return positions.index(chosen) if chosen in positions else None

    def validate_people(self, field):
        seen: dict[str, int] = {}
        for position, row in self.filled_rows():
            data = row.row_data()
            pesel = None
            if data["pesel"]:
                try:
                    pesel = clean_pesel(data["pesel"])
                except NumberInvalid:
                    pesel = None
            key = f"pesel:{pesel}" if pesel else \
                f"{data['name'].lower()}|{data['birth_date']}"
            if key in seen:
                row.name.errors = [*row.name.errors,
                                   str(_l("This person is listed twice."))]
                raise ValidationError(_l("A person is listed twice."))
            seen[key] = position


class GroupMembersForm(_PeopleForm):
    people_role = "member"
    people = FieldList(FormField(PersonRowForm), min_entries=1)
    initial_rows = GROUP_MIN_ROWS
    representative = StringField(_l("Representative of the group"))

    def validate_representative(self, field):
        if self.representative_index() is None:
            raise ValidationError(_l(
                "Choose the group's representative among its members (the “Representative "
                "of the group” option in that person's box)."))


class BoardForm(_PeopleForm):
    people_role = "board"
    people = FieldList(FormField(PersonRowForm), min_entries=1)


# --- each kind's own data ---------------------------------------------------------------

def legal_form_choices():
    return [("", _l("— choose —"))] + [(key, LEGAL_FORM_LABELS[key]) for key in LEGAL_FORMS]


class OrganisationForm(FlaskForm):
    name = StringField(_l("Full name of the organisation"), [_required, Length(max=300)],
                       description=_l("As in the register, e.g. “Stowarzyszenie Przyjaciół "
                                      "Lipin”."), render_kw={"autocomplete": "organization"})
    legal_form = SelectField(_l("Legal form"), [_required], choices=legal_form_choices)
    krs = StringField(_l("KRS number"), [Optional(), KRS()],
                      description=_l("10 digits, e.g. 0000123456; associations and "
                                     "foundations always have one."), render_kw=_numeric)
    nip = StringField(_l("NIP"), [Optional(), NIP()], render_kw=_numeric)
    regon = StringField(_l("REGON"), [Optional(), REGON()], render_kw=_numeric)
    registered_on = PolishDateField(_l("Date of registration"), [Optional()],
                                    description=_l("Needed to apply as a young "
                                                   "organisation."))
    revenue_last_year = MoneyField(_l("Revenue last year (zł)"), [Optional()],
                                   description=_l("All revenue in the last calendar year, "
                                                  "e.g. 12500,00."),
                                   render_kw={"inputmode": "decimal", "autocomplete": "off"})
    seat = StringField(_l("Seat (town or municipality)"), [_required, Length(max=200)])
    in_liquidation = BooleanField(_l("The organisation is in liquidation"))
    iban = _iban_field()

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        # Not an inline validator: ``Optional`` would stop it when the field is empty.
        if self.legal_form.data in KRS_REQUIRED and not (self.krs.data or "").strip():
            self.krs.errors = [*self.krs.errors, str(_l(
                "Associations and foundations are entered in KRS: give the KRS number."))]
            ok = False
        return ok

    def validate_registered_on(self, field):
        import datetime as dt

        if field.data and field.data > dt.date.today():
            raise ValidationError(_l("The date of registration cannot be in the future."))

    def profile_data(self) -> dict:
        return {name: _clean(getattr(self, name).data) for name in (
            "name", "legal_form", "krs", "nip", "regon", "registered_on", "revenue_last_year",
            "seat", "in_liquidation", "iban")}


class InstitutionForm(FlaskForm):
    name = StringField(_l("Full name of the institution"), [_required, Length(max=300)],
                       description=_l("E.g. “Gminna Biblioteka Publiczna w Lipinach”."),
                       render_kw={"autocomplete": "organization"})
    nip = StringField(_l("NIP"), [Optional(), NIP()], render_kw=_numeric)
    regon = StringField(_l("REGON"), [Optional(), REGON()], render_kw=_numeric)
    seat = StringField(_l("Seat (town or municipality)"), [_required, Length(max=200)])
    iban = _iban_field()

    def profile_data(self) -> dict:
        return {name: _clean(getattr(self, name).data)
                for name in ("name", "nip", "regon", "seat", "iban")}


class GroupForm(FlaskForm):
    name = StringField(_l("Name of the group"), [_required, Length(max=300)],
                       description=_l("E.g. “Przyjaciele parku w Lipinach”; it helps the "
                                      "committee recognise you."))
    iban = _iban_field()

    def profile_data(self) -> dict:
        return {name: _clean(getattr(self, name).data) for name in ("name", "iban")}


class PersonProfileForm(FlaskForm):
    name = StringField(_l("Full name"), [_required, Length(max=200)],
                       render_kw={"autocomplete": "name"})
    birth_date = PolishDateField(_l("Date of birth"), [_required, BirthDate("pesel")],
                                 render_kw={"autocomplete": "bday"})
    pesel = StringField(_l("PESEL (optional)"), [Optional(), PESEL()],
                        description=_l("If you give it, it must match the date of birth."),
                        render_kw=_numeric)
    phone = StringField(_l("Phone (optional)"), [Optional(), Length(max=40)],
                        render_kw={"autocomplete": "tel", "inputmode": "tel"})
    iban = _iban_field()

    def profile_data(self) -> dict:
        return {name: _clean(getattr(self, name).data)
                for name in ("name", "birth_date", "pesel", "phone", "iban")}


def _clean(value):
    if isinstance(value, str):
        value = " ".join(value.split())
        return value or None
    return value


DATA_FORMS = {
    ApplicantKind.NGO: OrganisationForm,
    ApplicantKind.PUBLIC_INSTITUTION: InstitutionForm,
    ApplicantKind.GROUP: GroupForm,
    ApplicantKind.PERSON: PersonProfileForm,
}
PEOPLE_FORMS = {ApplicantKind.NGO: BoardForm, ApplicantKind.GROUP: GroupMembersForm}
_COMBINED: dict[str, type] = {}


def has_people(kind: str) -> bool:
    return kind in PEOPLE_FORMS


def new_profile_form(kind: str):
    """The form to create a profile: its data and, for groups and organisations, people."""
    if kind not in PEOPLE_FORMS:
        return DATA_FORMS[kind]()
    if kind not in _COMBINED:
        _COMBINED[kind] = type(f"New{DATA_FORMS[kind].__name__}",
                               (DATA_FORMS[kind], PEOPLE_FORMS[kind]), {})
    form = _COMBINED[kind]()
    if not _is_submitted():
        form.pad_rows()
    return form


def data_form(kind: str, profile=None):
    """The form to change a profile's own data, filled from ``profile`` on first display."""
    return DATA_FORMS[kind](data=profile_values(profile) if profile is not None else None)


def people_form(kind: str, profile=None):
    """The form to change a profile's people, filled from ``profile`` on first display."""
    form_class = PEOPLE_FORMS[kind]
    if profile is None:
        form = form_class()
        if not _is_submitted():
            form.pad_rows()
        return form
    role = form_class.people_role
    people = profile.people(role)
    rows = [{"person_id": str(p.id), "name": p.name, "birth_date": p.birth_date,
             "pesel": p.pesel or ""} for p in people]
    data = {"people": rows}
    if role == "member" and profile.representative_id:
        ids = [p.id for p in people]
        if profile.representative_id in ids:
            data["representative"] = str(ids.index(profile.representative_id))
    form = form_class(data=data)
    form.pad_rows()
    return form


def profile_values(profile) -> dict:
    values = {name: getattr(profile, name) for name in (
        "name", "legal_form", "krs", "nip", "regon", "registered_on", "revenue_last_year",
        "seat", "in_liquidation", "iban")}
    if profile.kind == ApplicantKind.PERSON and profile.person is not None:
        person = profile.person
        values.update(name=person.name, birth_date=person.birth_date, pesel=person.pesel,
                      phone=person.phone)
    return values


# --- patron and editors -----------------------------------------------------------------

class PatronInviteForm(FlaskForm):
    email = EmailField(_l("E-mail of the organisation's representative"),
                       [_required, _email, Length(max=254)],
                       description=_l("We will send a link; the organisation confirms that "
                                      "it takes the group under its wing."),
                       render_kw={"autocomplete": "email"})


class PatronConfirmForm(FlaskForm):
    organisation = RadioField(_l("Which organisation takes the group under its wing?"),
                              [_required], choices=[], coerce=str)


class EditorForm(FlaskForm):
    email = EmailField(_l("E-mail of the account"), [_required, _email, Length(max=254)],
                       description=_l("The person needs an account on this site already."),
                       render_kw={"autocomplete": "email"})


class EmptyForm(FlaskForm):
    """Only the CSRF token: for buttons that change something."""
