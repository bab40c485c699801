"""The engine over models: facts from rows, the call's other applications as context, and
every plugin's ``check_application`` (core's shared rules and the variant's)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from core.db import db, tenant_scope
from core.rules.values import WARSAW

D = Decimal

PARAMS = {
    "deadline": "2025-03-31", "pool": "12000.00", "amount_min": "1000.00",
    "amount_max": "4000.00", "young_ngo_amount_max": "5000.00", "young_ngo_max_age_months": 30,
    "young_ngo_max_revenue": "25000.00", "admin_max_percent": 10, "min_group_members": 3,
    "group_requires_patron": True, "eligible_gminas": ["Lipiny"],
    "realization_start": "2025-05-01", "realization_end": "2025-11-15",
    "operator_staff": ["Robert Król, 1975-06-12", "80010112345"],
}


@pytest.fixture
def world(app, create_tenant):
    tenant_id = create_tenant("gmina-a", variants=["lpm"])
    with app.app_context(), tenant_scope(tenant_id):
        yield World(tenant_id)
        db.session.rollback()


class World:
    def __init__(self, tenant_id):
        from core.calls.models import Call

        self.tenant_id = tenant_id
        self.call = Call(ref="lpm-2025", title="LPM", variant="lpm", params=dict(PARAMS))
        db.session.add(self.call)
        db.session.flush()

    def person(self, name, birth=dt.date(1980, 5, 1), pesel=None):
        from core.applicants.models import Person

        person = Person(name=name, birth_date=birth, pesel=pesel)
        db.session.add(person)
        return person

    def ngo(self, name="Stowarzyszenie Lipin", board=(), krs=None):
        from core.applicants.models import ApplicantProfile, ProfileMember

        profile = ApplicantProfile(kind="ngo", name=name, legal_form="association", krs=krs,
                                   registered_on=dt.date(2010, 1, 1),
                                   revenue_last_year=D("50000.00"), seat="Lipiny")
        profile.members = [ProfileMember(person=p, role="board") for p in board]
        db.session.add(profile)
        return profile

    def group(self, name="Grupa", members=None, patron=None):
        from core.applicants.models import ApplicantProfile, ProfileMember

        members = members or [self.person(f"{name} {i}") for i in range(3)]
        profile = ApplicantProfile(kind="group", name=name, representative=members[0],
                                   patron=patron)
        profile.members = [ProfileMember(person=p, role="member") for p in members]
        db.session.add(profile)
        return profile

    def application(self, applicant, realizer=None, status="draft", submitted=None,
                    requested="3000.00", **values):
        from core.applications.models import Application, BudgetLine, ContributionLine

        application = Application(
            call=self.call, applicant=applicant, realizer=realizer, status=status,
            submitted_at=submitted, title=values.pop("title", "Projekt"),
            requested=D(requested), start=dt.date(2025, 6, 1), end=dt.date(2025, 9, 30),
            place=values.pop("place", {"gmina": "Lipiny"}), **values)
        application.budget = [BudgetLine(position=0, category="admin", item="Koordynacja",
                                         amount=D("300.00")),
                              BudgetLine(position=1, category="materials", item="Materiały",
                                         amount=D(requested) - D("300.00"))]
        application.contributions = [ContributionLine(position=0, kind="volunteer",
                                                      amount=D("500.00"))]
        db.session.add(application)
        db.session.flush()
        return application


def ids(violations):
    return sorted({v.rule_id for v in violations})


def at(*args):
    return dt.datetime(*args, tzinfo=WARSAW)


def test_a_draft_is_judged_as_of_now(world):
    from core.rules.engine import check

    draft = world.application(world.ngo())
    assert check(world.call, draft, now=at(2025, 3, 20, 12)) == []
    assert ids(check(world.call, draft, now=at(2025, 4, 1, 0, 0, 1))) == ["submission.late"]


def test_facts_from_models(world):
    from core.rules.engine import facts_from_models

    patron = world.ngo(krs="0000123456")
    group = world.group("Sąsiedzi", patron=patron)
    application = world.application(group, content={"place_gmina": "Lipiny"}, place={})
    call, facts = facts_from_models(world.call, application)
    assert call.deadline_at.isoformat() == "2025-03-31T21:59:59+00:00"
    assert call.variant == "lpm" and call.params["amount_max"] == "4000.00"
    # A group profile with a patron applying without a named realizer: the patron applies.
    assert facts.applicant.kind == "ngo" and facts.applicant.identity == "krs:0000123456"
    assert facts.realizer.kind == "group" and facts.has_realizer
    assert facts.realizer.representative.key == "sąsiedzi 0|1980-05-01"
    assert facts.place == {"gmina": "Lipiny"}
    assert facts.ref == f"#{application.id}"
    assert facts.contribution == {"volunteer": D("500.00")}
    assert [line.amount for line in facts.budget] == [D("300.00"), D("2700.00")]


def test_the_realization_window_of_the_call_is_checked_when_params_omit_it(world):
    """A call made with its window in the columns only (as the demo and imports without
    the variant's form make it) still keeps projects inside the window."""
    from core.rules.engine import call_facts, check

    world.call.params = {k: v for k, v in PARAMS.items()
                         if k not in ("realization_start", "realization_end")}
    world.call.realization_start = dt.date(2025, 6, 15)
    world.call.realization_end = dt.date(2025, 9, 1)
    facts = call_facts(world.call)
    assert facts.params["realization_start"] == "2025-06-15"
    assert facts.params["window_end"] == "2025-09-01"
    early = world.application(world.ngo())  # 1 June – 30 September
    found = [v for v in check(world.call, early, now=at(2025, 3, 20, 12))
             if v.rule_id == "duration.outside_window"]
    assert sorted(v.field for v in found) == ["end", "start"]
    # Parameters that name the window win over the columns.
    world.call.params = dict(PARAMS)
    assert call_facts(world.call).params["realization_start"] == "2025-05-01"


def test_other_submitted_applications_are_the_context(world):
    from core.rules.engine import check

    club = world.ngo()
    first = world.application(club, status="submitted", submitted=at(2025, 3, 10, 10), ref="A1")
    later = world.application(club, status="submitted", submitted=at(2025, 3, 12, 10), ref="A2")
    assert check(world.call, first) == []
    found = check(world.call, later)
    assert ids(found) == ["applicant.duplicate_application"]
    # A rejected earlier application still stands in the way ("whatever becomes of it") …
    first.status = "rejected"
    assert ids(check(world.call, later)) == ["applicant.duplicate_application"]
    # … a withdrawn one or a draft does not.
    first.status = "withdrawn"
    assert check(world.call, later) == []
    first.status, first.submitted_at = "draft", None
    assert check(world.call, later) == []


def test_others_may_be_given(world):
    from core.rules.engine import check

    club = world.ngo()
    first = world.application(club, status="submitted", submitted=at(2025, 3, 10, 10), ref="A1")
    later = world.application(club, status="submitted", submitted=at(2025, 3, 12, 10), ref="A2")
    assert check(world.call, later, others=[]) == []
    assert ids(check(world.call, later, others=[first])) == ["applicant.duplicate_application"]


def test_operator_staff_by_name_and_birth_date_or_pesel(world):
    from core.rules.engine import check

    staff = world.person("Robert  Król", dt.date(1975, 6, 12), pesel="75061212345")
    other = world.person("Ewa Nowak", dt.date(1980, 1, 1), pesel="80010112345")
    by_name = world.application(world.ngo(board=[staff]))
    by_pesel = world.application(world.ngo("Fundacja", board=[other]))
    found = check(world.call, by_name, now=at(2025, 3, 20))
    assert ids(found) == ["applicant.conflict_of_interest"]
    assert "Robert  Król jest pracownikiem operatora" in found[0].message
    assert ids(check(world.call, by_pesel, now=at(2025, 3, 20))) == [
        "applicant.conflict_of_interest"]


def test_lpm_rules_come_from_the_plugin(world):
    from core.rules.engine import check

    found = check(world.call, world.application(world.ngo(), requested="4500.00",
                                                place={"gmina": "Kraków"}),
                  now=at(2025, 3, 20))
    assert ids(found) == ["amount.above_max", "applicant.territory"]
    assert found == sorted(found, key=lambda v: (v.rule_id, v.field or "", v.message))


def test_check_all_judges_each_against_the_others(world):
    from core.rules.engine import check_all

    shared = world.person("Jan Wspólny")
    a = world.application(world.ngo("P1"), world.group("G1", [shared, world.person("a"),
                                                              world.person("b")]),
                          status="submitted", submitted=at(2025, 3, 10), ref="A1")
    b = world.application(world.ngo("P2"), world.group("G2", [shared, world.person("c"),
                                                              world.person("d")]),
                          status="submitted", submitted=at(2025, 3, 11), ref="A2")
    judged = check_all(world.call, [a, b])
    assert ids(judged[a]) == ids(judged[b]) == ["group.member_in_other_group"]
