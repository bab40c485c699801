"""Forms of the Działaj Lokalnie variant: the call's parameters, and the generator's fields."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import format_decimal
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, IntegerField, SelectChoice, SelectField,
                     TextAreaField)
from wtforms.validators import DataRequired, NumberRange, Optional

from core.plugins.toolkit import (BUDGET_CATEGORY_LABELS, FORBIDDEN_CATEGORIES, LEGAL_FORMS,
                                  LEGAL_FORM_LABELS, MoneyField, format_money, to_decimal)
from core.plugins.toolkit import lazy_gettext as _l
from core.plugins.toolkit import (CUTOFF_POLICY_LABELS, REQUIRED, CheckboxesField, ChoiceField,
                                  LinesField, NumberField, WholeNumberField)
from core.plugins.toolkit import interchange_number as _number
from core.plugins.toolkit import money_text as _money
from core.plugins.toolkit import parse_date as _date
from core.plugins.toolkit import parse_decimal as _decimal
from core.plugins.toolkit import parse_int as _int
from core.plugins.toolkit import plain_number as _plain

from .rules import CRITERIA, DEFAULTS, INSTITUTION_TYPES, criteria_points, param

_date_message = _l("Enter a date, e.g. 2025-03-31.")
_required = REQUIRED
_percent_range = NumberRange(min=0, max=100, message=_l("Give a percentage from 0 to 100."))
_positive = NumberRange(min=Decimal("0.01"), message=_l("The amount must be above zero."))
_points_range = NumberRange(min=0, max=1000, message=_l("Give a number from 0 to 1000."))

CUTOFF_POLICIES = tuple(SelectChoice(key, CUTOFF_POLICY_LABELS[key])
                        for key in ("SKIP_TO_FIT", "STOP", "PARTIAL_LAST"))

# The committee's criteria (section IV of the regulations), as the params form names them.
CRITERION_LABELS = {
    "c1": _l("Criterion 1: a clearly defined need of the community, for the common good"),
    "c2": _l("Criterion 2: activities, schedule and measurable results fit the need"),
    "c3": _l("Criterion 3: residents, volunteers and partners involved"),
    "c4": _l("Criterion 4: attractive activities and varied communication"),
    "c5": _l("Criterion 5: clear, measurable benefits"),
    "c6": _l("Criterion 6: activities continued after the project"),
    "c7": _l("Criterion 7: the own contribution is guaranteed"),
    "c8": _l("Criterion 8: a budget that fits the activities"),
}

INSTITUTION_LABELS = {
    "public_preschool": _l("Public preschool"),
    "public_school": _l("Public school"),
    "culture_institution": _l("Culture institution (e.g. a community centre, a museum)"),
    "public_library": _l("Public library"),
    "social_welfare_centre": _l("Social welfare centre"),
}


def _whole(text=None):
    return NumberRange(min=1, max=1000, message=text or _l("Give a number from 1 to 1000."))


class DlParamsForm(FlaskForm):
    """The parameters of a Działaj Lokalnie call (DOMAIN.md "Variant dzialaj_lokalnie");
    the defaults are the Działaj Lokalnie VIII regulations'."""

    deadline = DateField(_l("Submission deadline"), validators=[Optional()],
                         invalid_value_message=_date_message)
    pool = MoneyField(_l("Pool"), validators=[_required, _positive],
                      description=_l("The money for grants, in złoty."))
    amount_min = MoneyField(_l("Lowest grant"), validators=[Optional(), _positive],
                            description=_l("Leave it empty when the regulations set none."))
    amount_max = MoneyField(_l("Highest grant"), validators=[_required, _positive])
    contribution_total_percent = NumberField(
        _l("Own contribution at least (per cent of the grant)"),
        validators=[_required, _percent_range],
        description=_l("Money, things, services and volunteer work together; a DL Initiative "
                       "has no fixed share."))
    contribution_financial_percent = NumberField(
        _l("Of which in money at least (per cent of the grant)"),
        validators=[_required, _percent_range])
    duration_min_months = IntegerField(_l("A project lasts at least (months)"), validators=[
        _required, NumberRange(min=1, max=60, message=_l("Give a number of months from 1 to 60."))])
    duration_max_months = IntegerField(_l("A project lasts at most (months)"), validators=[
        _required, NumberRange(min=1, max=60, message=_l("Give a number of months from 1 to 60."))])
    window_start = DateField(_l("Projects may start on"), validators=[Optional()],
                             invalid_value_message=_date_message)
    window_end = DateField(_l("Projects must end by"), validators=[Optional()],
                           invalid_value_message=_date_message)
    eligible_gminas = LinesField(
        _l("Municipalities of the call"),
        description=_l("Where applicants have their seat and projects take place; one a "
                       "line, e.g. “Tłuszcz”."))
    large_town_population = WholeNumberField(
        _l("A large town has more residents than"), validators=[
            _required, NumberRange(min=1, max=10_000_000, message=_l(
                "Give a number of residents from 1 to 10 000 000."))],
        description=_l("Projects carried out in a town of more residents draw on the pool for "
                       "large towns."))
    large_town_pool = MoneyField(
        _l("Pool for projects in large towns at most"), validators=[Optional(), _positive],
        description=_l("A cap inside the pool; leave it empty for no cap."))
    one_grant_per_realizer = BooleanField(
        _l("One grant per realizer"),
        description=_l("Any number of applications, but an organisation or group carries out "
                       "at most one funded project; its lower-ranked ones are excluded."))
    excluded_legal_forms = CheckboxesField(
        _l("Legal forms that may not apply"),
        choices=[SelectChoice(key, LEGAL_FORM_LABELS[key]) for key in LEGAL_FORMS],
        description=_l("Organisations in liquidation may not apply in any case."))
    min_group_members = IntegerField(_l("Smallest informal group (adults)"), validators=[
        _required, NumberRange(min=1, max=100, message=_l("Give a number from 1 to 100."))])
    stage1_max_points = IntegerField(_l("Most points of the committee's score card"),
                                     validators=[_required, _whole()],
                                     description=_l("The points of the criteria below add up "
                                                    "to it."))
    points_c1 = IntegerField(CRITERION_LABELS["c1"], validators=[_required, _whole()])
    points_c2 = IntegerField(CRITERION_LABELS["c2"], validators=[_required, _whole()])
    points_c3 = IntegerField(CRITERION_LABELS["c3"], validators=[_required, _whole()])
    points_c4 = IntegerField(CRITERION_LABELS["c4"], validators=[_required, _whole()])
    points_c5 = IntegerField(CRITERION_LABELS["c5"], validators=[_required, _whole()])
    points_c6 = IntegerField(CRITERION_LABELS["c6"], validators=[_required, _whole()])
    points_c7 = IntegerField(CRITERION_LABELS["c7"], validators=[_required, _whole()])
    points_c8 = IntegerField(CRITERION_LABELS["c8"], validators=[_required, _whole()])
    newcomer_points = IntegerField(
        _l("Preference for organisations starting to raise funds (points)"),
        validators=[_required, _points_range],
        description=_l("Points the committee may give organisations and groups with little "
                       "experience of raising outside funds; 0 leaves the preference out of "
                       "the score card."))
    stage1_pass_mark = NumberField(
        _l("Pass mark"), validators=[Optional(), NumberRange(min=0, message=_l(
            "The pass mark cannot be negative."))],
        description=_l("Applications with fewer points are not funded; leave it empty for "
                       "none."))
    cutoff_policy = ChoiceField(_l("When the money runs out"), choices=CUTOFF_POLICIES)
    operator_staff = LinesField(
        _l("Operator's staff"),
        description=_l("They may not apply or take part. One a line: a PESEL, or the name "
                       "and date of birth, e.g. “Anna Nowak, 1980-05-01”."))
    forbidden_categories = CheckboxesField(
        _l("Costs the grant cannot pay"),
        choices=[SelectChoice(key, BUDGET_CATEGORY_LABELS[key]) for key in FORBIDDEN_CATEGORIES],
        description=_l("A DL Initiative cannot buy fixed assets either."))

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
        low, high = self.amount_min.data, self.amount_max.data
        if low is not None and high is not None and low > high:
            ok = self._error(self.amount_max, _l(
                "The highest grant must not be lower than the lowest grant."))
        total, financial = (self.contribution_total_percent.data,
                            self.contribution_financial_percent.data)
        if total is not None and financial is not None and financial > total:
            ok = self._error(self.contribution_financial_percent, _l(
                "The contribution in money is part of the whole contribution: it cannot be a "
                "larger share."))
        shortest, longest = self.duration_min_months.data, self.duration_max_months.data
        if shortest is not None and longest is not None and shortest > longest:
            ok = self._error(self.duration_max_months, _l(
                "The longest project cannot be shorter than the shortest one."))
        start, end = self.window_start.data, self.window_end.data
        if start is not None and end is not None and start > end:
            ok = self._error(self.window_end, _l(
                "Projects must end on or after the day they may start."))
        if not self.eligible_gminas.data and not self.eligible_gminas.errors:
            ok = self._error(self.eligible_gminas, _l(
                "Name at least one municipality of the call."))
        pool, large = self.pool.data, self.large_town_pool.data
        if pool is not None and large is not None and large > pool:
            ok = self._error(self.large_town_pool, _l(
                "The pool for large towns is part of the pool: it cannot be larger."))
        ok = self._validate_points() and ok
        mark, most = self.stage1_pass_mark.data, self.stage1_max_points.data
        if mark is not None and most is not None and mark > most:
            ok = self._error(self.stage1_pass_mark, _l(
                "The pass mark must not be above the most points of the score card."))
        return ok

    def _validate_points(self) -> bool:
        parts = [getattr(self, f"points_{key}").data for key in CRITERIA]
        parts.append(self.newcomer_points.data)
        most = self.stage1_max_points.data
        if most is None or any(p is None for p in parts):
            return True  # each field says what is missing
        if sum(parts) != most:
            return self._error(self.stage1_max_points, _l(
                "The points of the eight criteria and of the preference add up to "
                "%(sum)s, not to the most points of the score card (%(most)s).",
                sum=sum(parts), most=most))
        return True

    def to_params(self) -> dict:
        """The parameters as ``Call.params`` stores them (the interchange form)."""
        params = {
            "pool": _money(self.pool.data),
            "amount_max": _money(self.amount_max.data),
            "contribution_total_percent": _number(self.contribution_total_percent.data),
            "contribution_financial_percent": _number(self.contribution_financial_percent.data),
            "duration_min_months": self.duration_min_months.data,
            "duration_max_months": self.duration_max_months.data,
            "eligible_gminas": list(self.eligible_gminas.data or []),
            "large_town_population": self.large_town_population.data,
            "one_grant_per_realizer": bool(self.one_grant_per_realizer.data),
            "excluded_legal_forms": [key for key in LEGAL_FORMS
                                     if key in (self.excluded_legal_forms.data or [])],
            "min_group_members": self.min_group_members.data,
            "stage1_max_points": self.stage1_max_points.data,
            "criteria_points": {key: getattr(self, f"points_{key}").data for key in CRITERIA},
            "newcomer_points": self.newcomer_points.data,
            "cutoff_policy": self.cutoff_policy.data,
            "operator_staff": list(self.operator_staff.data or []),
            "forbidden_categories": [key for key in FORBIDDEN_CATEGORIES
                                     if key in (self.forbidden_categories.data or [])],
        }
        if self.deadline.data is not None:
            params["deadline"] = self.deadline.data.isoformat()
        if self.amount_min.data is not None:
            params["amount_min"] = _money(self.amount_min.data)
        if self.large_town_pool.data is not None:
            params["large_town_pool"] = _money(self.large_town_pool.data)
        for name in ("window_start", "window_end"):
            value = getattr(self, name).data
            if value is not None:
                params[name] = value.isoformat()
        if self.stage1_pass_mark.data is not None:
            params["stage1_pass_mark"] = _money(self.stage1_pass_mark.data)
        return params

    def from_params(self, params: dict) -> None:
        """Fill the fields from stored parameters (Działaj Lokalnie's defaults where one is
        missing; the criteria's points split the score card's maximum evenly when the call
        gives none)."""
        params = params or {}
        values = {**DEFAULTS, **{k: v for k, v in params.items() if v is not None}}
        if "large_town_pool" in params and params["large_town_pool"] is None:
            values.pop("large_town_pool", None)
        for name in ("pool", "amount_min", "amount_max", "large_town_pool",
                     "contribution_total_percent", "contribution_financial_percent",
                     "stage1_pass_mark"):
            getattr(self, name).data = _decimal(values.get(name))
        for name in ("duration_min_months", "duration_max_months", "large_town_population",
                     "min_group_members", "stage1_max_points", "newcomer_points"):
            getattr(self, name).data = _int(values.get(name))
        for key, points in criteria_points(values).items():
            if key in CRITERIA:
                getattr(self, f"points_{key}").data = _int(points)
        for name in ("deadline", "window_start", "window_end"):
            getattr(self, name).data = _date(values.get(name))
        self.one_grant_per_realizer.data = bool(values.get("one_grant_per_realizer"))
        self.cutoff_policy.data = values.get("cutoff_policy") or "SKIP_TO_FIT"
        self.eligible_gminas.data = [str(g) for g in values.get("eligible_gminas") or []]
        self.operator_staff.data = [str(s) for s in values.get("operator_staff") or []]
        for name in ("excluded_legal_forms", "forbidden_categories"):
            getattr(self, name).data = [str(c) for c in values.get(name) or []]


# --- the application generator -----------------------------------------------------------

def _population_help(params: dict):
    limit = int(param(params, "large_town_population"))
    pool = params.get("large_town_pool")  # core's allocation reads the call's own value
    if pool is None:
        return _l("The number of residents of the town or village, e.g. 8100 (from the "
                  "municipality's data).")
    return _l("Projects carried out in a town of more than %(limit)s residents draw on the "
              "pool for large towns (at most %(pool)s in this call); projects in smaller "
              "towns and villages draw on the main pool, even when the organisation's seat "
              "is in a large town. Give the number from the municipality's data, e.g. 8100.",
              limit=format_decimal(limit),
              pool=format_money(to_decimal(pool)))


def _contribution_help(params: dict):
    return _l(
        "Organisations and institutions bring at least %(total)s%% of the requested grant, "
        "of which at least %(financial)s%% in money; a DL Initiative brings what fits the "
        "project and its means, and the committee scores it. Money counts when it goes "
        "through the organisation's account or cash desk, but not money from other "
        "programmes of the programme's funder. Things, services and volunteers' work count "
        "when you obtain them for the project – not what the organisation already owns – "
        "at market value; volunteer work as hours × a market hourly rate.",
        total=_plain(to_decimal(param(params, "contribution_total_percent"))),
        financial=_plain(to_decimal(param(params, "contribution_financial_percent"))))


def application_fields(params: dict) -> dict[str, dict]:
    """The generator's Działaj Lokalnie fields, by step (unbound WTForms fields).

    The project step asks the regulations' questions (the need and the common good,
    partners, volunteers, continuation), takes the place's municipality from a list of the
    call's ``eligible_gminas`` and its number of residents as a number (it decides whether
    the project draws on the large-town pool), and, for an organisation or institution
    applying for a group, the kind of institution and the power of attorney (required in
    that case only: ``check_draft``).  The contribution step asks how the contribution will
    be raised and says what counts.
    """
    params = params or {}
    gminas = [str(g) for g in param(params, "eligible_gminas") or []]
    project: dict = {}
    # A blank first choice in each list: a choice nobody made must not look answered.
    if gminas:
        project["place_gmina"] = SelectField(
            _l("Municipality where the project takes place"),
            choices=[SelectChoice("", _l("— choose —"))] + [SelectChoice(g, g) for g in gminas],
            validators=[DataRequired(message=_l(
                "Choose the municipality where the project takes place."))])
    project["place_population"] = WholeNumberField(
        _l("Number of residents of the town or village where the project takes place"),
        validators=[_required, NumberRange(min=1, max=10_000_000, message=_l(
            "Give a number of residents from 1 to 10 000 000."))],
        description=_population_help(params))
    project["common_good"] = TextAreaField(
        _l("What need of your community does the project answer, and how does meeting it "
           "serve the common good?"),
        validators=[_required],
        description=_l("The common good is the conditions a community creates so that all its "
                       "members can develop fully: everyone may benefit from it and everyone "
                       "shares responsibility for it. Say whom the need concerns and how you "
                       "learnt about it."))
    project["partners"] = TextAreaField(
        _l("Who will you work with? Partners of the project – the local government, "
           "businesses, institutions, organisations – and what each of them brings"),
        validators=[_required])
    project["volunteers"] = TextAreaField(
        _l("How will residents and volunteers take part in preparing and carrying out the "
           "project?"),
        validators=[_required],
        description=_l("How many volunteers you expect and what they will do; their work can "
                       "also be part of your own contribution."))
    project["continuation"] = TextAreaField(
        _l("Which activities will continue after the project ends, and how will you keep "
           "the group or the community active?"),
        validators=[_required])
    if (_int(param(params, "newcomer_points")) or 0) > 0:
        project["fundraising_experience"] = TextAreaField(
            _l("Your experience of raising outside funds so far"),
            validators=[Optional()],
            description=_l("E.g. the grants you received in the last years. The committee "
                           "prefers organisations and groups just starting to raise funds."))
    project["institution_type"] = SelectField(
        _l("Kind of public institution"),
        choices=[SelectChoice("", _l("— choose —"))]
        + [SelectChoice(key, INSTITUTION_LABELS[key]) for key in INSTITUTION_TYPES],
        validators=[Optional()],
        description=_l("Only when a public institution applies for an informal group: of "
                       "public institutions, only these may."))
    project["power_of_attorney"] = TextAreaField(
        _l("Power of attorney for the group"),
        validators=[Optional()],
        description=_l("Only when an organisation or an institution applies for an informal "
                       "group: on what basis you act for the group – the power of attorney or "
                       "the cooperation agreement with the group (who signed it and when); a "
                       "public institution without legal personality also names its power of "
                       "attorney from the body it reports to. The documents are shown to the "
                       "centre before the agreement is signed."))
    contribution = {
        "contribution_plan": TextAreaField(
            _l("How will you raise the own contribution?"), validators=[_required],
            description=_contribution_help(params)),
    }
    return {"project": project, "contribution": contribution}
