"""Builders of rule facts for the rule tests (plain values, no database)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from core.rules import (ApplicantFacts, ApplicationFacts, BudgetLineFacts, CallFacts,
                        PersonFacts)
from core.rules.values import WARSAW, deadline_instant

D = Decimal


def person(key, birth=dt.date(1980, 5, 1), name=None, aliases=()):
    return PersonFacts(key=key, name=name or f"Osoba {key}", birth_date=birth, aliases=aliases)


def ngo(ref="P1", board=(), registered_on=dt.date(2010, 1, 1), revenue="50000.00", **values):
    return ApplicantFacts(ref=ref, kind="ngo", name=values.pop("name", f"Stowarzyszenie {ref}"),
                          legal_form="association", registered_on=registered_on,
                          revenue_last_year=D(revenue) if revenue is not None else None,
                          seat=values.pop("seat", "Lipiny"), board=tuple(board), **values)


def group(ref="G1", members=None, representative=None, **values):
    members = tuple(members if members is not None else
                    (person(f"{ref}a"), person(f"{ref}b"), person(f"{ref}c")))
    return ApplicantFacts(ref=ref, kind="group", name=values.pop("name", f"Grupa {ref}"),
                          members=members,
                          representative=representative if representative is not None
                          else (members[0] if members else None), **values)


def alone(ref="I1", who=None):
    who = who or person(f"{ref}p")
    return ApplicantFacts(ref=ref, kind="person", name=who.name, person=who)


def institution(ref="S1"):
    return ApplicantFacts(ref=ref, kind="public_institution", name="Biblioteka", seat="Lipiny")


def warsaw(*args):
    """An aware instant given in Warsaw time."""
    return dt.datetime(*args, tzinfo=WARSAW)


def application(ref="A1", applicant=None, realizer=None, requested="4000.00", budget=None,
                submitted=None, **values):
    applicant = applicant or ngo()
    budget = budget if budget is not None else [("admin", "Koordynacja", "400.00"),
                                                ("materials", "Materiały",
                                                 str(D(requested) - D("400.00")))]
    return ApplicationFacts(
        ref=ref, applicant=applicant, realizer=realizer or applicant,
        has_realizer=realizer is not None, mode=values.pop("mode", "standard"),
        submitted_at=submitted or warsaw(2025, 3, 12, 9, 0), title=values.pop("title", ref),
        requested=D(requested) if requested is not None else None,
        budget=tuple(BudgetLineFacts(c, i, D(a)) for c, i, a in budget),
        contribution=values.pop("contribution", {"volunteer": D("1200.00")}),
        start=values.pop("start", dt.date(2025, 6, 1)), end=values.pop("end", dt.date(2025, 9, 30)),
        place=values.pop("place", {"gmina": "Lipiny"}), **values)


LPM_PARAMS = {
    "deadline": "2025-03-31", "municipality_budget": "15000.00", "operator_fee_percent": 20,
    "amount_min": "1000.00", "amount_max": "4000.00", "young_ngo_amount_max": "5000.00",
    "young_ngo_max_age_months": 30, "young_ngo_max_revenue": "25000.00",
    "admin_max_percent": 10, "min_group_members": 3, "group_requires_patron": True,
    "eligible_gminas": ["Lipiny"], "realization_start": "2025-05-01",
    "realization_end": "2025-11-15", "stage1_max_points": 18, "stage1_pass_mark": "13.00",
    "stage2": True, "stage2_max_points": 12, "cutoff_policy": "STOP",
    "operator_staff": ["E1"],
}


def call(variant="lpm", **params):
    merged = {**LPM_PARAMS, **params}
    return CallFacts(ref="lpm-2025", variant=variant, params=merged,
                     deadline_at=deadline_instant(merged.get("deadline")))
