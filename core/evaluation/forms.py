"""Forms of the formal check, the evaluators' assignments, declarations and score cards.

The formal check and the score card have one row per item or criterion, so their form
classes are built for the call at hand (:func:`review_formal_form`, :func:`score_card_form`).
Points are typed as people type them (``7,5``); :mod:`core.evaluation.review` judges
them, so the errors name the criterion and read the same wherever the points come from.
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DecimalField, HiddenField, IntegerField, RadioField,
                     SelectField, StringField, TextAreaField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

BROKEN, MET = "broken", "met"


class ScorePointsField(DecimalField):
    """Points with two decimals at most, typed as people type them (``2,5``)."""

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        text = re.sub(r"[\s\u00a0\u202f]", "", valuelist[0]).replace(",", ".")
        if not text:
            self.data = None
            return
        try:
            value = Decimal(text)
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite() or value != value.quantize(Decimal("0.01")):
            self.data = None
            raise ValueError(_l("Enter a number of points, e.g. 3 or 2,5 (two decimal places "
                                "at most)."))
        self.data = value.quantize(Decimal("0.01"))


class ReviewFormalForm(FlaskForm):
    """The formal check of one application: a state and a reason per item (added by
    :func:`review_formal_form`), a note for the applicant, and what to do."""

    note = TextAreaField(
        _l("Note for the applicant (optional)"), validators=[Optional(), Length(max=2000)],
        description=_l("Sent with the decision and shown on the applicant's page, in "
                       "addition to the broken rules."))

    @property
    def item_fields(self) -> list[tuple]:
        """``[(state field, reason field), …]`` in the items' order."""
        pairs, n = [], 0
        while f"item-{n}-state" in self._fields:
            pairs.append((self[f"item-{n}-state"], self[f"item-{n}-reason"]))
            n += 1
        return pairs


def review_formal_form(items, formdata=None, kept=None) -> ReviewFormalForm:
    """A :class:`ReviewFormalForm` for ``items`` (:class:`core.evaluation.review.ReviewItem`):
    each item's state is preset to what was decided, else to what the engine proposes;
    ``kept`` (``{item ident: (state, reason)}``, as posted) wins over both."""
    fields = {}
    for n, item in enumerate(items):
        fields[f"item-{n}-ident"] = HiddenField(default=item.ident)
        if item.source == "rule":
            choices = [SelectChoice(BROKEN, _l("Broken")), SelectChoice(MET, _l("Not broken"))]
        else:
            choices = [SelectChoice(MET, _l("Met")), SelectChoice(BROKEN, _l("Not met"))]
        fields[f"item-{n}-state"] = RadioField(item.label, choices=choices,
                                               validators=[Optional()])
        fields[f"item-{n}-reason"] = TextAreaField(
            _l("Reason for the override"), validators=[Optional(), Length(max=2000)],
            description=_l("Needed when you decide otherwise than proposed."),
            render_kw={"rows": 2})
    form_class = type("ReviewFormalItemsForm", (ReviewFormalForm,), fields)
    form = form_class(formdata=formdata)
    if formdata is None:
        for n, item in enumerate(items):
            state, reason = (kept or {}).get(item.ident, (None, None))
            form[f"item-{n}-ident"].data = item.ident
            form[f"item-{n}-state"].data = state or (BROKEN if item.is_broken else MET)
            form[f"item-{n}-reason"].data = reason if reason is not None else item.reason or ""
    return form


def review_posted(formdata) -> dict:
    """``{item ident: (state, reason)}`` as posted, whatever the items are now."""
    posted, n = {}, 0
    while f"item-{n}-ident" in formdata:
        posted[formdata[f"item-{n}-ident"]] = (formdata.get(f"item-{n}-state"),
                                               formdata.get(f"item-{n}-reason", ""))
        n += 1
    return posted


def review_decisions(items, form: ReviewFormalForm) -> dict:
    """``{item ident: (broken or None, reason)}`` from a posted form."""
    decisions = {}
    for n, item in enumerate(items):
        state = form[f"item-{n}-state"].data
        broken = {BROKEN: True, MET: False}.get(state)
        decisions[item.ident] = (broken, form[f"item-{n}-reason"].data or "")
    return decisions


class ReviewAssignForm(FlaskForm):
    """Assign one evaluator to an application by hand."""

    evaluator_id = SelectField(_l("Evaluator"), coerce=int, validate_choice=False,
                               validators=[InputRequired(message=_l("Choose an evaluator."))])


class ReviewSettingsForm(FlaskForm):
    """How many evaluators each application gets, and when a third one is asked for."""

    evaluators_per_application = IntegerField(
        _l("Evaluators per application"), default=2,
        validators=[InputRequired(message=_l("Give a number from 1 to 10.")),
                    NumberRange(1, 10, message=_l("Give a number from 1 to 10."))])
    third_evaluator_threshold = ScorePointsField(
        _l("Ask for a third evaluator when two totals differ by more than (points)"),
        validators=[Optional(), NumberRange(min=0, message=_l(
            "The difference cannot be negative."))],
        description=_l("Leave empty for no third evaluator."))


class ReviewDeclarationForm(FlaskForm):
    """The evaluator's statement of no conflict of interest."""

    statement = BooleanField(_l(
        "I declare that I have no conflict of interest with this application: I am not the "
        "applicant, not a member, representative or board member of the applicant, not "
        "related to any of them, and I have no other interest in its result."))


class ReviewRecusalForm(FlaskForm):
    """The evaluator recuses: a conflict of interest, with the reason."""

    reason = TextAreaField(_l("Why you recuse yourself"),
                           validators=[Optional(), Length(max=2000)],
                           description=_l("e.g. “A family member is in the group.” Only "
                                          "the staff read it."))


class ScoreCardForm(FlaskForm):
    """An evaluator's score card: points and a justification per criterion (added by
    :func:`score_card_form`)."""

    @property
    def criterion_fields(self) -> list[tuple]:
        return [(self[f"points-{key}"], self[f"justification-{key}"]) for key in self._keys]


def score_card_form(criteria, card=None, formdata=None) -> ScoreCardForm:
    """A :class:`ScoreCardForm` for ``criteria`` (``Criterion``), filled from ``card``."""
    from flask_babel import format_decimal

    fields = {"_keys": [c.key for c in criteria]}
    for criterion in criteria:
        maximum = format_decimal(criterion.max_points, "#,##0.##")
        fields[f"points-{criterion.key}"] = StringField(
            _l("Points (0 to %(max)s)", max=maximum),
            render_kw={"inputmode": "decimal", "autocomplete": "off", "size": 6})
        fields[f"justification-{criterion.key}"] = TextAreaField(
            _l("Justification"), validators=[Optional(), Length(max=5000)],
            render_kw={"rows": 3})
    form_class = type("ScoreCardCriteriaForm", (ScoreCardForm,), fields)
    form = form_class(formdata=formdata)
    if formdata is None and card is not None:
        for criterion in criteria:
            value = (card.points or {}).get(criterion.key)
            form[f"points-{criterion.key}"].data = \
                format_decimal(value, "#,##0.##") if value not in (None, "") else ""
            form[f"justification-{criterion.key}"].data = \
                (card.justifications or {}).get(criterion.key, "")
    return form
