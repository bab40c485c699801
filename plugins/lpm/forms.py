"""Forms of the LPM variant: the call's parameters, and the generator's extra fields."""
from __future__ import annotations

from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, SelectChoice, SelectField
from wtforms.validators import DataRequired, NumberRange, Optional

from core.plugins.toolkit import BUDGET_CATEGORY_LABELS, FORBIDDEN_CATEGORIES, MoneyField
from core.plugins.toolkit import lazy_gettext as _l
from core.plugins.toolkit import (CUTOFF_POLICY_LABELS, REQUIRED, CheckboxesField, ChoiceField,
                                  LinesField, NumberField)
from core.plugins.toolkit import interchange_number as _percent
from core.plugins.toolkit import money_text as _money
from core.plugins.toolkit import parse_date as _date
from core.plugins.toolkit import parse_decimal as _decimal

from .rules import DEFAULTS, PROJECT_TYPES

_required = REQUIRED
_percent_range = NumberRange(min=0, max=100, message=_l("Give a percentage from 0 to 100."))
_positive = NumberRange(min=Decimal("0.01"), message=_l("The amount must be above zero."))

_date_message = _l("Enter a date, e.g. 2025-03-31.")

CUTOFF_POLICIES = tuple(SelectChoice(key, CUTOFF_POLICY_LABELS[key])
                        for key in ("STOP", "SKIP_TO_FIT", "PARTIAL_LAST"))

PROJECT_TYPE_LABELS = {
    "events": _l("Events for the municipality and its residents"),
    "young_ngo_development": _l("Strengthening a young organisation (training, advice, "
                                "equipment, promotion)"),
    "activation": _l("Activating residents"),
    "regional_identity": _l("Local community and regional identity (regional products, "
                            "exhibitions, folk crafts)"),
    "ecology": _l("Ecological education and care for the environment"),
}


class LpmParamsForm(FlaskForm):
    """The parameters of an LPM call (DOMAIN.md "Variant lpm"); the defaults are the
    Lubochnia 2020 regulations'."""

    deadline = DateField(_l("Submission deadline"), validators=[Optional()],
                         invalid_value_message=_date_message)
    pool = MoneyField(_l("Pool"), validators=[Optional(), _positive],
                      description=_l("The money for grants, in złoty. Or leave it empty and "
                                     "give the municipality's budget and the operator's fee."))
    municipality_budget = MoneyField(
        _l("Municipality's budget"), validators=[Optional(), _positive],
        description=_l("What the municipality pays; the pool is this less the operator's fee."))
    operator_fee_percent = NumberField(_l("Operator's fee (%)"),
                                       validators=[Optional(), _percent_range])
    amount_min = MoneyField(_l("Smallest grant"), validators=[_required, _positive])
    amount_max = MoneyField(_l("Largest grant"), validators=[_required, _positive])
    young_ngo_amount_max = MoneyField(_l("Largest grant for a young organisation"),
                                      validators=[_required, _positive])
    young_ngo_max_age_months = IntegerField(
        _l("A young organisation is registered at most (months before submission)"),
        validators=[_required, NumberRange(min=1, max=600, message=_l(
            "Give a number of months from 1 to 600."))])
    young_ngo_max_revenue = MoneyField(
        _l("A young organisation's revenue last year at most"),
        validators=[_required, NumberRange(min=0, message=_l("The amount cannot be negative."))])
    admin_max_percent = NumberField(_l("Project handling costs at most (per cent of the grant)"),
                                    validators=[_required, _percent_range])
    min_group_members = IntegerField(_l("Smallest informal group (adults)"), validators=[
        _required, NumberRange(min=1, max=100, message=_l("Give a number from 1 to 100."))])
    group_requires_patron = BooleanField(_l("A group applies through a patron organisation"))
    eligible_gminas = LinesField(
        _l("Municipalities where projects take place"),
        description=_l("One a line, e.g. “Lubochnia”."))
    realization_start = DateField(_l("Projects may start on"), validators=[Optional()],
                                  invalid_value_message=_date_message)
    realization_end = DateField(_l("Projects must end by"), validators=[Optional()],
                                invalid_value_message=_date_message)
    stage1_max_points = IntegerField(_l("Stage I: most points"), validators=[
        _required, NumberRange(min=1, max=1000, message=_l("Give a number from 1 to 1000."))])
    stage1_pass_mark = NumberField(
        _l("Stage I: pass mark"), validators=[Optional(), NumberRange(min=0, message=_l(
            "The pass mark cannot be negative."))],
        description=_l("Applications with fewer points do not go on to stage II; leave it "
                       "empty to invite every application that passed the formal check."))
    stage2 = BooleanField(_l("Stage II: presentations to the committee"))
    stage2_max_points = IntegerField(_l("Stage II: most points"), validators=[
        Optional(), NumberRange(min=1, max=1000, message=_l("Give a number from 1 to 1000."))])
    cutoff_policy = ChoiceField(_l("When the money runs out"), choices=CUTOFF_POLICIES)
    operator_staff = LinesField(
        _l("Operator's staff"),
        description=_l("They may not apply or take part. One a line: a PESEL, or the name "
                       "and date of birth, e.g. “Anna Nowak, 1980-05-01”."))
    forbidden_categories = CheckboxesField(
        _l("Costs the grant cannot pay"),
        choices=[SelectChoice(key, BUDGET_CATEGORY_LABELS[key]) for key in FORBIDDEN_CATEGORIES])

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        return self._validate_together() and valid

    def _error(self, field, message) -> bool:
        errors = list(field.errors)
        errors.append(message)
        field.errors = errors
        return False

    def _validate_together(self) -> bool:
        ok = True
        if self.pool.data is None and self.municipality_budget.data is None \
                and not self.pool.errors and not self.municipality_budget.errors:
            ok = self._error(self.pool, _l(
                "Give the pool, or the municipality's budget and the operator's fee."))
        if self.pool.data is not None and self.municipality_budget.data is not None:
            ok = self._error(self.pool, _l(
                "Give either the pool or the municipality's budget, not both."))
        if self.municipality_budget.data is not None and self.operator_fee_percent.data is None \
                and not self.operator_fee_percent.errors:
            ok = self._error(self.operator_fee_percent, _l(
                "Give the operator's fee, in per cent of the municipality's budget."))
        if self.operator_fee_percent.data is not None and self.operator_fee_percent.data >= 100:
            ok = self._error(self.operator_fee_percent, _l(
                "The operator's fee must be less than 100%."))
        low, high = self.amount_min.data, self.amount_max.data
        young = self.young_ngo_amount_max.data
        if low is not None and high is not None and low > high:
            ok = self._error(self.amount_max, _l(
                "The largest grant must not be smaller than the smallest grant."))
        if high is not None and young is not None and young < high:
            ok = self._error(self.young_ngo_amount_max, _l(
                "The largest grant for a young organisation must not be smaller than the "
                "largest grant."))
        start, end = self.realization_start.data, self.realization_end.data
        if start is not None and end is not None and start > end:
            ok = self._error(self.realization_end, _l(
                "Projects must end on or after the day they may start."))
        if not self.eligible_gminas.data and not self.eligible_gminas.errors:
            ok = self._error(self.eligible_gminas, _l(
                "Name at least one municipality where projects take place."))
        mark, most = self.stage1_pass_mark.data, self.stage1_max_points.data
        if mark is not None and most is not None and mark > most:
            ok = self._error(self.stage1_pass_mark, _l(
                "The pass mark must not be above the most points of stage I."))
        if self.stage2.data and self.stage2_max_points.data is None \
                and not self.stage2_max_points.errors:
            ok = self._error(self.stage2_max_points, _l(
                "Give the most points of stage II, or switch stage II off."))
        return ok

    def to_params(self) -> dict:
        """The parameters as ``Call.params`` stores them (the interchange form)."""
        params = {
            "amount_min": _money(self.amount_min.data),
            "amount_max": _money(self.amount_max.data),
            "young_ngo_amount_max": _money(self.young_ngo_amount_max.data),
            "young_ngo_max_age_months": self.young_ngo_max_age_months.data,
            "young_ngo_max_revenue": _money(self.young_ngo_max_revenue.data),
            "admin_max_percent": _percent(self.admin_max_percent.data),
            "min_group_members": self.min_group_members.data,
            "group_requires_patron": bool(self.group_requires_patron.data),
            "eligible_gminas": list(self.eligible_gminas.data or []),
            "stage1_max_points": self.stage1_max_points.data,
            "stage2": bool(self.stage2.data),
            "cutoff_policy": self.cutoff_policy.data,
            "operator_staff": list(self.operator_staff.data or []),
            "forbidden_categories": [key for key in FORBIDDEN_CATEGORIES
                                     if key in (self.forbidden_categories.data or [])],
        }
        if self.deadline.data is not None:
            params["deadline"] = self.deadline.data.isoformat()
        if self.municipality_budget.data is not None:
            params["municipality_budget"] = _money(self.municipality_budget.data)
        else:
            params["pool"] = _money(self.pool.data)
        if self.operator_fee_percent.data is not None:
            params["operator_fee_percent"] = _percent(self.operator_fee_percent.data)
        for name in ("realization_start", "realization_end"):
            value = getattr(self, name).data
            if value is not None:
                params[name] = value.isoformat()
        if self.stage1_pass_mark.data is not None:
            params["stage1_pass_mark"] = _money(self.stage1_pass_mark.data)
        if self.stage2.data and self.stage2_max_points.data is not None:
            params["stage2_max_points"] = self.stage2_max_points.data
        return params

    def from_params(self, params: dict) -> None:
        """Fill the fields from stored parameters (LPM's defaults where one is missing)."""
        values = {**DEFAULTS, **{k: v for k, v in (params or {}).items() if v is not None}}
        if params and params.get("municipality_budget") is not None and "pool" not in params:
            values.pop("pool", None)
        for name in ("pool", "municipality_budget", "amount_min", "amount_max",
                     "young_ngo_amount_max", "young_ngo_max_revenue", "operator_fee_percent",
                     "admin_max_percent", "stage1_pass_mark"):
            getattr(self, name).data = _decimal(values.get(name))
        for name in ("young_ngo_max_age_months", "min_group_members", "stage1_max_points",
                     "stage2_max_points"):
            value = values.get(name)
            getattr(self, name).data = int(value) if value not in (None, "") else None
        for name in ("deadline", "realization_start", "realization_end"):
            getattr(self, name).data = _date(values.get(name))
        self.group_requires_patron.data = bool(values.get("group_requires_patron"))
        self.stage2.data = bool(values.get("stage2"))
        self.cutoff_policy.data = values.get("cutoff_policy") or "STOP"
        self.eligible_gminas.data = [str(g) for g in values.get("eligible_gminas") or []]
        self.operator_staff.data = [str(s) for s in values.get("operator_staff") or []]
        self.forbidden_categories.data = [str(c) for c in values.get("forbidden_categories")
                                          or []]


def application_fields(params: dict) -> dict:
    """The generator's LPM fields of the project step (unbound WTForms fields).

    ``project_type`` is the kind of project the Lubochnia regulations name (I.1 a–e);
    ``place_gmina`` replaces the generator's free-text municipality with a choice among the
    call's ``eligible_gminas`` (the rules check it).  The young-organisation claim is core's
    own field of the applicant step, shown when the call has ``young_ngo_amount_max``.
    """
    gminas = [str(g) for g in (params or {}).get("eligible_gminas") or []]
    fields = {
        "project_type": SelectField(
            _l("Type of project"),
            # A blank first choice: a list showing a choice nobody made would look answered.
            choices=[SelectChoice("", _l("— choose —"))]
            + [SelectChoice(key, PROJECT_TYPE_LABELS[key]) for key in PROJECT_TYPES],
            validators=[DataRequired(message=_l("Choose the type of your project."))]),
    }
    if gminas:
        fields["place_gmina"] = SelectField(
            _l("Municipality where the project takes place"),
            choices=[SelectChoice("", _l("— choose —"))] + [SelectChoice(g, g) for g in gminas],
            validators=[DataRequired(message=_l(
                "Choose the municipality where the project takes place."))])
    return fields
