"""Forms of the committee's decisions and the applicant's answers.

Points and amounts are typed as people type them (``7,5``; ``3 000,50 zł``); the
operations judge the ranges, so a refusal reads the same from the web and from imports.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, RadioField, StringField, TimeField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from core.calls.forms import MoneyField

_required = DataRequired(message=_l("This field is required."))


class SlotsForm(FlaskForm):
    """Interview slots: a day, the first start time, the length, how many in a row, where."""

    day = DateField(_l("Day"), validators=[_required],
                    invalid_value_message=_l("Enter a date, e.g. 2025-04-20."))
    start = TimeField(_l("Start (Polish time)"), validators=[_required],
                      description=_l("e.g. 16:00"))
    minutes = IntegerField(_l("Length of one interview (minutes)"), default=20,
                           validators=[InputRequired(message=_l("This field is required.")),
                                       NumberRange(5, 240, message=_l(
                                           "A slot lasts from 5 to 240 minutes."))])
    count = IntegerField(_l("Number of slots in a row"), default=1,
                         validators=[Optional(), NumberRange(1, 40, message=_l(
                             "Add from 1 to 40 slots at once."))],
                         description=_l("Slots follow one another without a break."))
    place = StringField(_l("Place"), validators=[_required, Length(max=300, message=_l(
        "The place is too long (300 characters at most)."))],
        description=_l("e.g. Municipal office, room 12, ul. Główna 1"))
    publish = BooleanField(_l("Publish now (invited applicants can book them)"), default=True)


class Stage2Form(FlaskForm):
    """The committee's points for one application; fields ``member_<id>`` are added per
    committee member by :func:`stage2_form`."""


def stage2_form(members, max_points, values=None, formdata=None) -> Stage2Form:
    """A form with one points field per committee member (``values``: id → current)."""
    from flask import request

    class Form(Stage2Form):
        pass

    for member in members:
        setattr(Form, f"member_{member.id}", StringField(
            member.email, validators=[Optional()],
            description=_l("From 0 to %(max)s points; leave empty if this member did not "
                           "score.", max=str(max_points))))
    data = {f"member_{k}": str(v).replace(".", ",") if v is not None else ""
            for k, v in (values or {}).items()}
    return Form(formdata=formdata if formdata is not None else (request.form or None),
                data=data)


class AwardForm(FlaskForm):
    amount = MoneyField(_l("Amount granted"), validators=[_required],
                        description=_l("Less than the amount requested; the applicant is asked "
                                       "to accept it."))


class ConfirmForm(FlaskForm):
    """A decision that cannot be undone here: the person ticks that they mean it."""

    confirm = BooleanField(_l("I confirm"), validators=[DataRequired(message=_l(
        "Tick the box to confirm."))])


class BookingForm(FlaskForm):
    slot = RadioField(_l("Choose a time"), coerce=int, validators=[InputRequired(
        message=_l("Choose a time."))])


class AnswerForm(FlaskForm):
    answer = RadioField(_l("Your answer"), choices=[
        ("accept", _l("I accept the lower amount")),
        ("decline", _l("I decline it (the application is withdrawn)"))],
        validators=[InputRequired(message=_l("Choose an answer."))])


class ResignForm(FlaskForm):
    confirm = BooleanField(_l("I confirm the resignation; I understand it cannot be undone."),
                           validators=[DataRequired(message=_l("Tick the box to confirm."))])
    reason = StringField(_l("Reason (optional)"), validators=[Optional(), Length(
        max=300, message=_l("The reason is too long (300 characters at most)."))])
