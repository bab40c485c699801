"""The formal check, evaluators' assignments, declarations and score cards (HTTP)."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

WARSAW = ZoneInfo("Europe/Warsaw")


def warsaw(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=WARSAW).astimezone(dt.UTC)


PARAMS = {
    "deadline": "2025-03-31", "pool": "38000.00", "amount_min": "1000.00",
    "amount_max": "4000.00", "young_ngo_amount_max": "5000.00",
    "young_ngo_max_age_months": 30, "young_ngo_max_revenue": "25000.00",
    "admin_max_percent": 10, "min_group_members": 3, "group_requires_patron": True,
    "eligible_gminas": ["Lipiny"], "realization_start": "2025-05-01",
    "realization_end": "2025-11-30", "stage1_max_points": 18, "stage1_pass_mark": "10",
    "stage2": True, "stage2_max_points": 12, "cutoff_policy": "STOP", "operator_staff": []}


# --- setting up -------------------------------------------------------------------------

@pytest.fixture
def world(app, create_tenant, create_user):
    """Gmina A with a closed LPM call, its administrator, four evaluators, Anna (who
    applies) and Gmina B with a call of its own."""
    from core.calls.models import Call
    from core.db import db, tenant_scope

    tenant_id = create_tenant("gmina-a", variants=["lpm"])
    other_id = create_tenant("gmina-b", variants=["lpm"])
    admin = create_user("admin@example.org", roles=["admin"])
    evaluators = [create_user(f"ocena{n}@example.org", roles=["evaluator"]) for n in (1, 2, 3, 4)]
    anna = create_user("anna@example.org", roles=["applicant"])
    create_user("ocena1@example.org", roles=["evaluator"], tenant="gmina-b")
    calls = {}
    for tid in (tenant_id, other_id):
        with app.app_context(), tenant_scope(tid):
            call = Call(ref="lpm-2025", title="Mikrogranty Lipiny 2025", variant="lpm",
                        status="closed", params=dict(PARAMS),
                        deadline_at=warsaw(2025, 3, 31, 23, 59, 59),
                        realization_start=dt.date(2025, 5, 1),
                        realization_end=dt.date(2025, 11, 30), pool=Decimal("38000.00"))
            db.session.add(call)
            db.session.commit()
            calls[tid] = call.id
    return SimpleNamespace(app=app, tenant_id=tenant_id, other_id=other_id, admin=admin,
                           evaluators=evaluators, anna=anna, call_id=calls[tenant_id],
                           other_call_id=calls[other_id])


def scoped(world, tenant_id=None):
    from core.db import tenant_scope

    class _Scope:
        def __enter__(self):
            self.ctx = world.app.app_context()
            self.ctx.__enter__()
            self.scope = tenant_scope(tenant_id or world.tenant_id)
            self.scope.__enter__()

        def __exit__(self, *exc):
            self.scope.__exit__(*exc)
            self.ctx.__exit__(*exc)

    return _Scope()


def add_application(world, n, *, status="submitted", profile_id=None, tenant_id=None,
                    call_id=None, title=None, minute=0):
    """A submitted application of an NGO (its own profile unless ``profile_id``)."""
    from core.applicants.models import ApplicantProfile
    from core.applications.models import Application, BudgetLine, ContributionLine
    from core.db import db

    with scoped(world, tenant_id):
        if profile_id is None:
            profile = ApplicantProfile(
                kind="ngo", name=f"Stowarzyszenie nr {n}", legal_form="association",
                krs=f"{n:010d}", registered_on=dt.date(2015, 2, 1),
                revenue_last_year=Decimal("120000.00"), seat="Lipiny", owner_id=world.anna)
            db.session.add(profile)
            db.session.flush()
            profile_id = profile.id
        application = Application(
            call_id=call_id or (world.other_call_id if tenant_id == world.other_id
                                else world.call_id),
            applicant_id=profile_id, status=status, title=title or f"Projekt nr {n}",
            content={"description": f"Opis projektu nr {n}: warsztaty dla sąsiadów.",
                     "place_gmina": "Lipiny", "project_type": "activation"},
            place={"gmina": "Lipiny"}, requested=Decimal("3500.00"),
            start=dt.date(2025, 5, 5), end=dt.date(2025, 8, 4),
            submitted_at=warsaw(2025, 3, 20, 12, minute), receipt_number=f"LPM-2025/{n:04d}",
            created_by_id=world.anna)
        application.budget = [
            BudgetLine(position=0, category="admin", item="Koordynacja", quantity=Decimal(1),
                       unit_price=Decimal("350.00"), amount=Decimal("350.00")),
            BudgetLine(position=1, category="materials", item="Materiały plastyczne",
                       quantity=Decimal(10), unit_price=Decimal("315.00"),
                       amount=Decimal("3150.00"))]
        application.contributions = [
            ContributionLine(position=0, kind="volunteer", description="Praca wolontariuszy",
                             hours=Decimal(20), rate=Decimal("30.00"), amount=Decimal("600.00"))]
        db.session.add(application)
        db.session.commit()
        return application.id


def add_assignment(world, application_id, evaluator, *, status="assigned", reason=None,
                   tenant_id=None):
    from core.db import db, utcnow
    from core.evaluation.models import Assignment

    with scoped(world, tenant_id):
        assignment = Assignment(application_id=application_id, evaluator_id=evaluator,
                                stage=1, status=status,
                                declared_at=utcnow() if status == "declared" else None,
                                recused_at=utcnow() if status == "recused" else None,
                                recusal_reason=reason)
        db.session.add(assignment)
        db.session.commit()
        return assignment.id


def load(world, model, **where):
    from core.db import db

    with scoped(world):
        query = db.select(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        rows = db.session.scalars(query.order_by(model.id)).all()
        for row in rows:
            db.session.expunge(row)
        return rows


def application(world, application_id):
    from core.applications.models import Application

    return load(world, Application, id=application_id)[0]


def assignments(world, application_id=None):
    from core.evaluation.models import Assignment

    where = {"application_id": application_id} if application_id else {}
    return load(world, Assignment, **where)


def card_of(world, assignment_id):
    from core.evaluation.models import ScoreCard

    found = load(world, ScoreCard, assignment_id=assignment_id)
    return found[0] if found else None


def audit(world, action):
    from core.audit.models import AuditEvent

    return [e.changes for e in load(world, AuditEvent, action=action)]


def criteria(world):
    from core.calls.models import Call
    from core.db import db
    from core.evaluation import review

    with scoped(world):
        call = db.session.execute(db.select(Call).where(Call.id == world.call_id)).scalar_one()
        return [(c.key, Decimal(c.max_points)) for c in review.criteria(call)]


def criterion_label(world, key):
    from flask_babel import force_locale

    from core.calls.models import Call
    from core.db import db
    from core.evaluation import review

    with scoped(world), world.app.test_request_context(), force_locale("pl"):
        call = db.session.execute(db.select(Call).where(Call.id == world.call_id)).scalar_one()
        return next(str(c.label) for c in review.criteria(call) if c.key == key)


def login(clients, email):
    site = clients("gmina-a")
    site.login(email)
    return site


def formal_form(page: str, **overrides) -> dict:
    """The posted formal check: every item as preset on the page, with ``overrides``."""
    data = {}
    for match in re.finditer(r"<input[^>]*>", page):
        tag = match.group(0)
        name = re.search(r'name="(item-\d+-(state|ident))"', tag)
        if name and ("checked" in tag or name.group(2) == "ident"):
            data[name.group(1)] = re.search(r'value="([^"]*)"', tag).group(1)
    data.update(overrides)
    return data


def item_index(page: str, ident: str) -> int:
    """The index of the item ``ident`` (``checklist:<key>`` or ``rule:<id>``) on the page."""
    match = re.search(rf'id="item-(\d+)" data-item="{re.escape(ident)}"', page)
    assert match, f"no item {ident!r}"
    return int(match.group(1))


def accept(site, application_id):
    page = site.get(f"/admin/applications/{application_id}/formal").get_data(True)
    response = site.post(f"/admin/applications/{application_id}/formal",
                         data={**formal_form(page), "action": "accept"})
    assert response.status_code == 303, response.get_data(True)[:3000]


# --- the formal check -------------------------------------------------------------------

def test_formal_check_lists_and_accepts_with_applicant_told_in_polish(world, clients, outbox):
    from core.evaluation.models import FormalReview

    first = add_application(world, 1)
    site = login(clients, "admin@example.org")
    listing = site.get(f"/admin/calls/{world.call_id}/formal")
    assert listing.status_code == 200
    body = listing.get_data(True)
    assert "LPM-2025/0001" in body and "czeka na ocenę formalną" in body
    page = site.get(f"/admin/applications/{first}/formal").get_data(True)
    # The variant's checklist, in Polish, with the application itself.
    assert "Projekt nr 1" in page and "Opis projektu nr 1" in page
    assert 'name="item-0-state"' in page
    response = site.post(f"/admin/applications/{first}/formal",
                         data={**formal_form(page), "action": "accept"})
    assert response.status_code == 303
    assert application(world, first).status == "accepted"
    review = load(world, FormalReview, application_id=first)[0]
    assert review.status == "accepted" and review.decided_by_id == world.admin
    assert all(item["decision"] == "confirmed" for item in review.items)
    decided = audit(world, "formal.item_decided")
    assert len(decided) == len(review.items) and {d["decision"] for d in decided} == {"confirmed"}
    assert audit(world, "application.accepted")[0]["status"] == ["submitted", "accepted"]
    (recipient, subject, body, _tenant), = outbox()
    assert recipient == "anna@example.org"
    assert subject == "Wniosek przeszedł ocenę formalną: LPM-2025/0001"
    assert "przekazany oceniającym" in body
    # The applicant's page says so too.
    applicant = clients("gmina-a")
    applicant.login("anna@example.org")
    receipt = applicant.get(f"/applications/{first}/receipt").get_data(True)
    assert "Wniosek przeszedł ocenę formalną i trafia do oceniających." in receipt


def test_staff_read_how_the_applicant_applies_and_find_the_next_steps(world, clients):
    """The generator stores the way of applying as a key ("ngo::standard"); staff read the
    option the applicant chose.  The overview counts what passed the formal check, whatever
    the evaluation made of it since, and leads on to the ranking."""
    from core.db import db

    first = add_application(world, 1)
    add_application(world, 2, status="invited")
    add_application(world, 3, status="rejected")
    with scoped(world):
        from core.applications.models import Application

        found = db.session.execute(db.select(Application).where(Application.id == first)
                                   ).scalar_one()
        found.content = {**found.content, "applicant_option": "ngo::standard"}
        db.session.commit()
    site = login(clients, "admin@example.org")
    page = site.get(f"/admin/applications/{first}/formal").get_data(True)
    assert "ngo::standard" not in page and "applicant_option" not in page
    assert "Jak składasz wniosek?" in page
    assert "Organizacja pozarządowa (także młoda) realizująca własny projekt" in page
    overview = site.get("/admin/evaluation").get_data(True)
    cells = re.findall(r'<td class="num">(\d+)</td>', overview)
    assert cells == ["1", "1", "1"]  # waiting, passed (the invited one), rejected
    assert f'href="/committee/calls/{world.call_id}/ranking"' in overview
    assert "Ocena wniosków" in site.get("/").get_data(True)  # the menu names the section


def test_override_needs_a_reason_and_each_decision_is_audited(world, clients):
    from core.evaluation.models import FormalReview

    first = add_application(world, 1)
    site = login(clients, "admin@example.org")
    page = site.get(f"/admin/applications/{first}/formal").get_data(True)
    n = item_index(page, "checklist:project_type")
    data = formal_form(page, **{f"item-{n}-state": "broken", "action": "save"})
    response = site.post(f"/admin/applications/{first}/formal", data=data)
    assert response.status_code == 422
    body = response.get_data(True)
    assert f'id="item-{n}-reason-error"' in body and "Podaj powód zmiany" in body
    assert formal_form(body)[f"item-{n}-state"] == "broken"      # what was chosen stays
    assert load(world, FormalReview) == [] and audit(world, "formal.item_decided") == []
    data[f"item-{n}-reason"] = "Projekt jest wycieczką zagraniczną."
    response = site.post(f"/admin/applications/{first}/formal", data=data)
    assert response.status_code == 303
    assert application(world, first).status == "submitted"
    events = [e for e in audit(world, "formal.item_decided") if e["decision"] == "overridden"]
    assert events == [{"key": "project_type", "source": "checklist", "decision": "overridden",
                       "reason": "Projekt jest wycieczką zagraniczną.", "broken": True}]
    # The saved decision comes back; accepting with a broken item is refused.
    page = site.get(f"/admin/applications/{first}/formal").get_data(True)
    assert "Projekt jest wycieczką zagraniczną." in page
    response = site.post(f"/admin/applications/{first}/formal",
                         data={**formal_form(page), f"item-{n}-reason":
                               "Projekt jest wycieczką zagraniczną.", "action": "accept"})
    assert response.status_code == 422
    assert "nie może zostać przyjęty" in response.get_data(True)
    assert application(world, first).status == "submitted"
    # Rejecting it names the checklist item as the variant's rule.
    response = site.post(f"/admin/applications/{first}/formal",
                         data={**formal_form(page), f"item-{n}-reason":
                               "Projekt jest wycieczką zagraniczną.", "action": "reject"})
    assert response.status_code == 303
    found = application(world, first)
    assert found.status == "rejected" and found.rules == ["lpm.project_type"]


def test_reject_for_a_broken_rule_tells_the_applicant_why_in_polish(world, clients, outbox):
    first = add_application(world, 1, minute=0)
    with scoped(world):
        from core.applications.models import Application
        from core.db import db

        profile_id = db.session.execute(db.select(Application.applicant_id).where(
            Application.id == first)).scalar_one()
    second = add_application(world, 2, profile_id=profile_id, minute=30)
    site = login(clients, "admin@example.org")
    listing = site.get(f"/admin/calls/{world.call_id}/formal").get_data(True)
    assert "LPM-2025/0002" in listing
    page = site.get(f"/admin/applications/{second}/formal").get_data(True)
    assert "applicant.duplicate_application" in page
    # Accepting is refused while the rule stands; nothing changes.
    response = site.post(f"/admin/applications/{second}/formal",
                         data={**formal_form(page), "action": "accept"})
    assert response.status_code == 422
    assert application(world, second).status == "submitted"
    response = site.post(f"/admin/applications/{second}/formal",
                         data={**formal_form(page), "note": "Prosimy o kontakt z biurem.",
                               "action": "reject"})
    assert response.status_code == 303
    found = application(world, second)
    assert found.status == "rejected" and found.rules == ["applicant.duplicate_application"]
    assert audit(world, "application.rejected")[0]["rules"] == ["applicant.duplicate_application"]
    (recipient, subject, body, _tenant), = outbox()
    assert recipient == "anna@example.org"
    assert subject == ("Wniosek odrzucony na etapie oceny formalnej: Stowarzyszenie nr 1 ma już "
                       "wcześniejszy wniosek w tym naborze (Projekt nr 1); jeden realizator "
                       "może zrealizować tylko jeden projekt.")
    assert "odrzucony na etapie oceny formalnej" in body and "Prosimy o kontakt z biurem." in body
    applicant = clients("gmina-a")
    applicant.login("anna@example.org")
    receipt = applicant.get(f"/applications/{second}/receipt").get_data(True)
    assert "został odrzucony na etapie oceny formalnej" in receipt
    assert "Prosimy o kontakt z biurem." in receipt
    # A decided check cannot be decided again.
    response = site.post(f"/admin/applications/{second}/formal",
                         data={**formal_form(page), "action": "accept"})
    assert response.status_code == 303
    assert application(world, second).status == "rejected"
    assert len(outbox()) == 1


def test_only_staff_run_the_formal_check(world, clients):
    first = add_application(world, 1)
    evaluator = login(clients, "ocena1@example.org")
    assert evaluator.get(f"/admin/applications/{first}/formal").status_code == 403
    assert evaluator.get(f"/admin/calls/{world.call_id}/evaluators").status_code == 403
    other = add_application(world, 9, tenant_id=world.other_id)
    site = login(clients, "admin@example.org")
    assert site.get(f"/admin/applications/{other}/formal").status_code == 404


# --- assigning evaluators ---------------------------------------------------------------

def link_evaluator_to(world, application_id, evaluator, how="board"):
    """Make ``evaluator`` linked to the applicant of ``application_id``."""
    from core.applicants.models import ApplicantProfile, Person, ProfileEditor, ProfileMember
    from core.applications.models import Application
    from core.db import db

    with scoped(world):
        profile = db.session.execute(db.select(ApplicantProfile).join(
            Application, Application.applicant_id == ApplicantProfile.id).where(
            Application.id == application_id)).scalar_one()
        if how == "editor":
            db.session.add(ProfileEditor(profile_id=profile.id, user_id=evaluator))
        elif how == "identity":
            # Two records of one person: the evaluator's own and the one the applicant typed.
            db.session.add(Person(name="Jan Kowalski", pesel="80010112345", user_id=evaluator))
            member = Person(name="Jan Kowalski", pesel="80010112345")
            db.session.add(member)
            db.session.flush()
            db.session.add(ProfileMember(profile_id=profile.id, person_id=member.id,
                                         role="board"))
        else:
            person = Person(name="Ewa Nowak", birth_date=dt.date(1980, 1, 1), user_id=evaluator)
            db.session.add(person)
            db.session.flush()
            db.session.add(ProfileMember(profile_id=profile.id, person_id=person.id,
                                         role="board"))
        db.session.commit()


def test_manual_assignment_with_clear_refusals(world, clients):
    first = add_application(world, 1, status="accepted")
    pending = add_application(world, 2)
    e1, e2, e3, _e4 = world.evaluators
    link_evaluator_to(world, first, e2)
    site = login(clients, "admin@example.org")
    page = site.get(f"/admin/calls/{world.call_id}/evaluators").get_data(True)
    assert "LPM-2025/0001" in page and "LPM-2025/0002" not in page
    response = site.post(f"/admin/applications/{first}/evaluators",
                         data={f"a{first}-evaluator_id": str(e1)})
    assert response.status_code == 303
    (made,) = assignments(world, first)
    assert made.evaluator_id == e1 and made.status == "assigned"
    assert audit(world, "evaluation.assigned")[0]["how"] == "manual"
    for who, words in [(e1, "jest już przypisana"), (e2, "jest powiązana z wnioskodawcą"),
                       (world.anna, "rolę oceniającego")]:
        response = site.post(f"/admin/applications/{first}/evaluators",
                             data={f"a{first}-evaluator_id": str(who)})
        assert response.status_code == 422
        assert words in response.get_data(True), who
    assert len(assignments(world, first)) == 1
    # Only an application past the formal check gets evaluators.
    response = site.post(f"/admin/applications/{pending}/evaluators",
                         data={f"a{pending}-evaluator_id": str(e3)})
    assert response.status_code == 422 and assignments(world, pending) == []
    # A recused evaluator cannot be assigned again.
    add_assignment(world, first, e3, status="recused", reason="Mój brat jest w zarządzie.")
    response = site.post(f"/admin/applications/{first}/evaluators",
                         data={f"a{first}-evaluator_id": str(e3)})
    assert response.status_code == 422
    assert "zgłosiła konflikt interesów" in response.get_data(True)


def test_automatic_assignment_is_balanced_and_skips_recused_and_linked(world, clients):
    e1, e2, e3, e4 = world.evaluators
    apps = [add_application(world, n, status="accepted", minute=n) for n in range(1, 7)]
    link_evaluator_to(world, apps[0], e1)                   # on the board
    link_evaluator_to(world, apps[1], e3, how="editor")     # edits the profile
    link_evaluator_to(world, apps[2], e4, how="identity")   # same PESEL as a board member
    add_assignment(world, apps[3], e2, status="recused", reason="Znam wnioskodawcę.")
    site = login(clients, "admin@example.org")
    response = site.post(f"/admin/calls/{world.call_id}/evaluators/auto")
    assert response.status_code == 303
    by_app = {a: [x for x in assignments(world, a) if x.status != "recused"] for a in apps}
    assert all(len(active) == 2 for active in by_app.values())
    assert e1 not in {x.evaluator_id for x in by_app[apps[0]]}
    assert e3 not in {x.evaluator_id for x in by_app[apps[1]]}
    assert e4 not in {x.evaluator_id for x in by_app[apps[2]]}
    assert e2 not in {x.evaluator_id for x in by_app[apps[3]]}
    loads = {e: sum(x.evaluator_id == e for xs in by_app.values() for x in xs)
             for e in world.evaluators}
    assert sorted(loads.values()) == [3, 3, 3, 3]
    assert len(audit(world, "evaluation.assigned")) == 12
    # Running it again changes nothing.
    site.post(f"/admin/calls/{world.call_id}/evaluators/auto")
    assert len([x for x in assignments(world) if x.status != "recused"]) == 12


def test_automatic_assignment_reports_applications_nobody_can_take(world, clients):
    e1, e2, e3, e4 = world.evaluators
    first = add_application(world, 1, status="accepted")
    for evaluator in (e1, e2, e3):
        link_evaluator_to(world, first, evaluator, how="editor")
    site = login(clients, "admin@example.org")
    response = site.post(f"/admin/calls/{world.call_id}/evaluators/auto",
                         follow_redirects=True)
    body = response.get_data(True)
    assert [x.evaluator_id for x in assignments(world, first)] == [e4]
    assert "Wnioski, którym brakuje oceniających" in body
    assert "brakuje jeszcze 1 oceniającego" in body.lower() or "1 oceniającego" in body


def test_settings_change_the_number_per_application(world, clients):
    from core.calls.models import Call

    first = add_application(world, 1, status="accepted")
    site = login(clients, "admin@example.org")
    response = site.post(f"/admin/calls/{world.call_id}/evaluators/settings",
                         data={"evaluators_per_application": "3",
                               "third_evaluator_threshold": "4,5"})
    assert response.status_code == 303
    params = load(world, Call, id=world.call_id)[0].params
    assert params["evaluators_per_application"] == 3
    assert params["third_evaluator_threshold"] == "4.50"
    assert audit(world, "call.evaluation_settings")
    site.post(f"/admin/calls/{world.call_id}/evaluators/auto")
    assert len(assignments(world, first)) == 3
    response = site.post(f"/admin/calls/{world.call_id}/evaluators/settings",
                         data={"evaluators_per_application": "0",
                               "third_evaluator_threshold": "-1"})
    assert response.status_code == 422
    body = response.get_data(True)
    assert "Podaj liczbę od 1 do 10." in body and "Różnica nie może być ujemna." in body
    assert load(world, Call, id=world.call_id)[0].params["evaluators_per_application"] == 3


# --- declarations and recusal -----------------------------------------------------------

def test_declaration_comes_before_the_content(world, clients):
    first = add_application(world, 1, status="accepted")
    e1 = world.evaluators[0]
    mine = add_assignment(world, first, e1)
    site = login(clients, "ocena1@example.org")
    listing = site.get("/evaluation").get_data(True)
    assert "LPM-2025/0001" in listing and "Projekt nr 1" not in listing
    page = site.get(f"/evaluation/{mine}").get_data(True)
    assert "konfliktu interesów" in page and "Stowarzyszenie nr 1" in page
    assert "Projekt nr 1" not in page and "Opis projektu" not in page
    assert "Materiały plastyczne" not in page
    # Scoring before the declaration is refused, nothing saved.
    key = criteria(world)[0][0]
    response = site.post(f"/evaluation/{mine}/card", data={f"points-{key}": "2",
                                                           "action": "save"},
                         follow_redirects=True)
    assert "Przed oceną oświadcz, że nie masz konfliktu interesów" in response.get_data(True)
    assert card_of(world, mine) is None
    # The statement must be ticked.
    response = site.post(f"/evaluation/{mine}/declare", data={})
    assert response.status_code == 422
    assert "Zaznacz oświadczenie" in response.get_data(True)
    assert assignments(world, first)[0].status == "assigned"
    response = site.post(f"/evaluation/{mine}/declare", data={"statement": "y"})
    assert response.status_code == 303
    assert assignments(world, first)[0].status == "declared"
    assert audit(world, "evaluation.declared") == [{
        "assignment_id": mine, "evaluator_id": e1, "no_conflict_of_interest": True}]
    page = site.get(f"/evaluation/{mine}").get_data(True)
    assert "Projekt nr 1" in page and "Opis projektu nr 1" in page
    assert "Materiały plastyczne" in page
    assert "Projekt nr 1" in site.get("/evaluation").get_data(True)


def test_recusal_reassigns_and_hides_the_application(world, clients):
    e1, e2, e3, e4 = world.evaluators
    first = add_application(world, 1, status="accepted")
    link_evaluator_to(world, first, e4, how="editor")
    mine = add_assignment(world, first, e1)
    add_assignment(world, first, e2)
    site = login(clients, "ocena1@example.org")
    response = site.post(f"/evaluation/{mine}/recuse", data={"reason": "  "})
    assert response.status_code == 422
    assert "Napisz, dlaczego" in response.get_data(True)
    assert assignments(world, first)[0].status == "assigned"
    response = site.post(f"/evaluation/{mine}/recuse",
                         data={"reason": "Moja siostra jest w zarządzie."})
    assert response.status_code == 303
    rows = {x.evaluator_id: x for x in assignments(world, first)}
    assert rows[e1].status == "recused" and rows[e1].recusal_reason == \
        "Moja siostra jest w zarządzie."
    assert rows[e3].status == "assigned" and e4 not in rows     # e4 is linked
    assert audit(world, "evaluation.recused")[0]["reason"] == "Moja siostra jest w zarządzie."
    assert audit(world, "evaluation.reassigned")[0]["evaluator_id"] == e3
    assert site.get(f"/evaluation/{mine}").status_code == 404
    assert "LPM-2025/0001" not in site.get("/evaluation").get_data(True)
    # e3 recuses too: nobody eligible is left, and the staff see it.
    third = login(clients, "ocena3@example.org")
    assert third.post(f"/evaluation/{rows[e3].id}/recuse",
                      data={"reason": "Znam wnioskodawcę."}).status_code == 303
    assert audit(world, "evaluation.reassigned_unfilled")
    staff = login(clients, "admin@example.org")
    page = staff.get(f"/admin/calls/{world.call_id}/evaluators").get_data(True)
    assert "Wnioski, którym brakuje oceniających" in page
    assert "Moja siostra jest w zarządzie." in page


# --- score cards ------------------------------------------------------------------------

def declared(world, clients, application_id, email, evaluator):
    mine = add_assignment(world, application_id, evaluator, status="declared")
    return mine, login(clients, email)


def card_data(values, texts=None, action="save"):
    data = {"action": action}
    for key, points in values.items():
        data[f"points-{key}"] = points
        data[f"justification-{key}"] = (texts or {}).get(key, f"Uzasadnienie {key}.")
    return data


def test_save_submit_and_lock(world, clients):
    first = add_application(world, 1, status="accepted")
    mine, site = declared(world, clients, first, "ocena1@example.org", world.evaluators[0])
    keys = [k for k, _m in criteria(world)]
    response = site.post(f"/evaluation/{mine}/card",
                         data=card_data({keys[0]: "2,5", keys[1]: ""}, action="save"))
    assert response.status_code == 303
    card = card_of(world, mine)
    assert card.points == {keys[0]: "2.50"} and card.total == Decimal("2.50")
    assert card.submitted_at is None
    page = site.get(f"/evaluation/{mine}").get_data(True)
    assert 'value="2,5"' in page
    # Submitting needs every criterion.
    response = site.post(f"/evaluation/{mine}/card",
                         data=card_data({keys[0]: "2,5"}, action="submit"))
    assert response.status_code == 422
    assert "przed wysłaniem" in response.get_data(True)
    assert card_of(world, mine).submitted_at is None
    response = site.post(f"/evaluation/{mine}/card",
                         data=card_data({k: "3" for k in keys}, action="submit"))
    assert response.status_code == 303
    card = card_of(world, mine)
    assert card.submitted_at is not None and card.total == Decimal("18.00")
    assert assignments(world, first)[0].status == "submitted"
    assert audit(world, "evaluation.card_submitted")[0]["total"] == "18.00"
    # Locked: another post changes nothing and says why.
    response = site.post(f"/evaluation/{mine}/card",
                         data=card_data({k: "1" for k in keys}, action="submit"),
                         follow_redirects=True)
    assert "została wysłana i jest zablokowana" in response.get_data(True)
    assert card_of(world, mine).total == Decimal("18.00")
    assert card_of(world, mine).points == {k: "3.00" for k in keys}


def test_bad_points_are_refused_naming_the_criterion(world, clients):
    first = add_application(world, 1, status="accepted")
    mine, site = declared(world, clients, first, "ocena1@example.org", world.evaluators[0])
    (key, maximum), *others = criteria(world)
    polish_label = criterion_label(world, key)
    for typed, words in [("4", "co najwyżej 3 pkt"), ("-1", "nie mogą być ujemne"),
                         ("dużo", "wpisz punkty jako liczbę"), ("1,255", "dwóch miejsc")]:
        response = site.post(f"/evaluation/{mine}/card", data=card_data({key: typed}))
        assert response.status_code == 422, typed
        body = response.get_data(True)
        assert words in body, (typed, words)
        assert polish_label in body                     # the criterion's Polish label
        assert f'id="points-{key}-error"' in body
        assert f'value="{typed}"' in body               # what was typed comes back
        assert card_of(world, mine) is None
    assert maximum == Decimal(3)


def test_another_evaluators_card_is_not_reachable(world, clients):
    first = add_application(world, 1, status="accepted")
    theirs = add_assignment(world, first, world.evaluators[1], status="declared")
    site = login(clients, "ocena1@example.org")
    keys = [k for k, _m in criteria(world)]
    assert site.get(f"/evaluation/{theirs}").status_code == 404
    response = site.post(f"/evaluation/{theirs}/card", data=card_data({k: "1" for k in keys}))
    assert response.status_code == 404 and card_of(world, theirs) is None
    assert site.post(f"/evaluation/{theirs}/declare", data={"statement": "y"}).status_code == 404
    assert site.post(f"/evaluation/{theirs}/recuse",
                     data={"reason": "x"}).status_code == 404
    assert assignments(world, first)[0].status == "declared"


def test_all_cards_in_decide_the_stage_one_status(world, clients):
    above = add_application(world, 1, status="accepted")
    below = add_application(world, 2, status="accepted")
    e1, e2 = world.evaluators[:2]
    keys = [k for k, _m in criteria(world)]
    for application_id, (p1, p2) in ((above, ("3", "1")), (below, ("1", "1,5"))):
        a1, s1 = declared(world, clients, application_id, "ocena1@example.org", e1)
        a2, s2 = declared(world, clients, application_id, "ocena2@example.org", e2)
        assert s1.post(f"/evaluation/{a1}/card",
                       data=card_data({k: p1 for k in keys}, action="submit")).status_code == 303
        assert application(world, application_id).status == "accepted"
        assert s2.post(f"/evaluation/{a2}/card",
                       data=card_data({k: p2 for k in keys}, action="submit")).status_code == 303
    # (18 + 6) / 2 = 12 ≥ 10: invited to stage II; (6 + 9) / 2 = 7.5 < 10.
    found = application(world, above)
    assert found.status == "invited" and found.stage1_score == Decimal("12.00")
    found = application(world, below)
    assert found.status == "below_threshold" and found.stage1_score == Decimal("7.50")


def test_third_evaluator_is_requested_when_totals_differ_too_much(world, clients):
    from core.calls.models import Call
    from core.db import db

    with scoped(world):
        call = db.session.execute(db.select(Call).where(Call.id == world.call_id)).scalar_one()
        call.params = {**call.params, "third_evaluator_threshold": "3.00"}
        db.session.commit()
    first = add_application(world, 1, status="accepted")
    e1, e2, e3, e4 = world.evaluators
    link_evaluator_to(world, first, e4, how="editor")
    keys = [k for k, _m in criteria(world)]
    a1, s1 = declared(world, clients, first, "ocena1@example.org", e1)
    a2, s2 = declared(world, clients, first, "ocena2@example.org", e2)
    s1.post(f"/evaluation/{a1}/card", data=card_data({k: "3" for k in keys}, action="submit"))
    s2.post(f"/evaluation/{a2}/card", data=card_data({k: "1" for k in keys}, action="submit"))
    # 18 and 6 differ by 12 > 3: a third evaluator (not the linked one), still scoring.
    rows = {x.evaluator_id: x for x in assignments(world, first)}
    assert set(rows) == {e1, e2, e3} and rows[e3].status == "assigned"
    assert audit(world, "evaluation.third_requested") == [
        {"totals": ["18.00", "6.00"], "threshold": "3.00"}]
    assert audit(world, "evaluation.third_assigned")[0]["evaluator_id"] == e3
    assert application(world, first).status == "accepted"
    staff = login(clients, "admin@example.org")
    assert "trzecia opinia" in staff.get(
        f"/admin/calls/{world.call_id}/evaluators").get_data(True)
    s3 = login(clients, "ocena3@example.org")
    assert s3.post(f"/evaluation/{rows[e3].id}/declare",
                   data={"statement": "y"}).status_code == 303
    assert s3.post(f"/evaluation/{rows[e3].id}/card",
                   data=card_data({k: "2" for k in keys}, action="submit")).status_code == 303
    # The average uses all three cards: (18 + 6 + 12) / 3 = 12.
    found = application(world, first)
    assert found.stage1_score == Decimal("12.00") and found.status == "invited"
    assert len(assignments(world, first)) == 3


def test_third_evaluator_is_off_by_default(world, clients):
    first = add_application(world, 1, status="accepted")
    e1, e2 = world.evaluators[:2]
    keys = [k for k, _m in criteria(world)]
    a1, s1 = declared(world, clients, first, "ocena1@example.org", e1)
    a2, s2 = declared(world, clients, first, "ocena2@example.org", e2)
    s1.post(f"/evaluation/{a1}/card", data=card_data({k: "3" for k in keys}, action="submit"))
    s2.post(f"/evaluation/{a2}/card", data=card_data({k: "0" for k in keys}, action="submit"))
    assert len(assignments(world, first)) == 2
    found = application(world, first)
    assert found.stage1_score == Decimal("9.00") and found.status == "below_threshold"


# --- visibility -------------------------------------------------------------------------

def test_cards_of_others_only_after_submitting_and_staff_see_all(world, clients):
    first = add_application(world, 1, status="accepted")
    e1, e2 = world.evaluators[:2]
    keys = [k for k, _m in criteria(world)]
    a1, s1 = declared(world, clients, first, "ocena1@example.org", e1)
    a2, s2 = declared(world, clients, first, "ocena2@example.org", e2)
    s1.post(f"/evaluation/{a1}/card", data=card_data(
        {k: "3" for k in keys}, {k: "Świetny pomysł na integrację." for k in keys}, "submit"))
    s2.post(f"/evaluation/{a2}/card", data=card_data(
        {keys[0]: "1"}, {keys[0]: "Szkic oceny drugiego oceniającego."}, "save"))
    page = s2.get(f"/evaluation/{a2}").get_data(True)
    assert "Świetny pomysł na integrację." not in page
    staff = login(clients, "admin@example.org")
    cards = staff.get(f"/admin/applications/{first}/cards").get_data(True)
    assert "Świetny pomysł na integrację." in cards
    assert "Szkic oceny drugiego oceniającego." in cards and "szkic, niewysłana" in cards
    s2.post(f"/evaluation/{a2}/card", data=card_data(
        {k: "2" for k in keys}, {k: "Dobry projekt." for k in keys}, "submit"))
    page = s2.get(f"/evaluation/{a2}").get_data(True)
    assert "Świetny pomysł na integrację." in page        # read-only now
    assert 'name="points-' not in page
    # An evaluator not assigned sees neither.
    s3 = login(clients, "ocena3@example.org")
    assert s3.get(f"/evaluation/{a1}").status_code == 404
    assert "LPM-2025/0001" not in s3.get("/evaluation").get_data(True)
    assert s3.get(f"/admin/applications/{first}/cards").status_code == 403


def test_evaluators_never_see_another_tenants_applications(world, clients):
    theirs = add_application(world, 7, status="accepted", tenant_id=world.other_id)
    other_assignment = add_assignment(world, theirs, world.evaluators[0], status="declared",
                                      tenant_id=world.other_id)
    site = login(clients, "ocena1@example.org")
    assert site.get(f"/evaluation/{other_assignment}").status_code == 404
    assert "LPM-2025/0007" not in site.get("/evaluation").get_data(True)
    keys = [k for k, _m in criteria(world)]
    response = site.post(f"/evaluation/{other_assignment}/card",
                         data=card_data({k: "3" for k in keys}, action="submit"))
    assert response.status_code == 404
    # In its own tenant the same evaluator sees it.
    there = clients("gmina-b")
    there.login("ocena1@example.org")
    assert there.get(f"/evaluation/{other_assignment}").status_code == 200


# --- query counts -----------------------------------------------------------------------

def test_evaluator_list_runs_a_fixed_number_of_queries(world, clients):
    from core.db import db

    e1 = world.evaluators[0]
    site = login(clients, "ocena1@example.org")

    def add(count, start):
        for n in range(start, start + count):
            application_id = add_application(world, n, status="accepted", minute=n % 60)
            add_assignment(world, application_id, e1,
                           status="declared" if n % 2 else "assigned")

    def statements() -> int:
        counted = []

        def listener(conn, cursor, statement, parameters, context, executemany):
            counted.append(statement)

        with world.app.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", listener)
        try:
            response = site.get("/evaluation")
        finally:
            sa.event.remove(engine, "before_cursor_execute", listener)
        assert response.status_code == 200
        return len(counted), response.get_data(True)

    add(5, 1)
    few, body = statements()
    assert body.count("LPM-2025/") == 5
    add(20, 6)
    many, body = statements()
    assert body.count("LPM-2025/") == 25
    assert few == many, (few, many)


def test_no_third_evaluator_left_then_staff_turn_the_threshold_off(world, clients):
    from core.calls.models import Call
    from core.db import db

    with scoped(world):
        call = db.session.execute(db.select(Call).where(Call.id == world.call_id)).scalar_one()
        call.params = {**call.params, "third_evaluator_threshold": "2"}
        db.session.commit()
    first = add_application(world, 1, status="accepted")
    e1, e2, e3, e4 = world.evaluators
    for evaluator in (e3, e4):
        link_evaluator_to(world, first, evaluator, how="editor")
    keys = [k for k, _m in criteria(world)]
    a1, s1 = declared(world, clients, first, "ocena1@example.org", e1)
    a2, s2 = declared(world, clients, first, "ocena2@example.org", e2)
    s1.post(f"/evaluation/{a1}/card", data=card_data({k: "3" for k in keys}, action="submit"))
    s2.post(f"/evaluation/{a2}/card", data=card_data({k: "2" for k in keys}, action="submit"))
    assert audit(world, "evaluation.third_assigned_unfilled")
    assert application(world, first).status == "accepted"
    staff = login(clients, "admin@example.org")
    page = staff.get(f"/admin/calls/{world.call_id}/evaluators").get_data(True)
    assert "Wnioski, którym brakuje oceniających" in page and "trzecia opinia" in page
    # No third opinion after all: the two cards decide, (18 + 12) / 2 = 15.
    response = staff.post(f"/admin/calls/{world.call_id}/evaluators/settings",
                          data={"evaluators_per_application": "2",
                                "third_evaluator_threshold": ""})
    assert response.status_code == 303
    found = application(world, first)
    assert found.status == "invited" and found.stage1_score == Decimal("15.00")


def test_staff_take_an_evaluator_off_but_never_a_submitted_card(world, clients):
    first = add_application(world, 1, status="accepted")
    e1, e2 = world.evaluators[:2]
    keys = [k for k, _m in criteria(world)]
    a1, s1 = declared(world, clients, first, "ocena1@example.org", e1)
    a2 = add_assignment(world, first, e2)
    s1.post(f"/evaluation/{a1}/card", data=card_data({k: "3" for k in keys}, action="submit"))
    staff = login(clients, "admin@example.org")
    response = staff.post(f"/admin/assignments/{a1}/remove", follow_redirects=True)
    assert "liczy się ona i nie można jej cofnąć" in response.get_data(True)
    assert staff.post(f"/admin/assignments/{a2}/remove").status_code == 303
    assert [x.evaluator_id for x in assignments(world, first)] == [e1]
    assert audit(world, "evaluation.unassigned")[0]["evaluator_id"] == e2
    # The evaluator taken off no longer finds it.
    s2 = login(clients, "ocena2@example.org")
    assert s2.get(f"/evaluation/{a2}").status_code == 404


def test_an_evaluator_may_recuse_after_declaring_until_the_card_is_submitted(world, clients):
    first = add_application(world, 1, status="accepted")
    e1, e2, e3, _e4 = world.evaluators
    mine, site = declared(world, clients, first, "ocena1@example.org", e1)
    keys = [k for k, _m in criteria(world)]
    page = site.get(f"/evaluation/{mine}").get_data(True)
    assert "Jednak konflikt interesów?" in page
    assert site.post(f"/evaluation/{mine}/recuse",
                     data={"reason": "Rozpoznałam sąsiadkę w grupie."}).status_code == 303
    assert {x.evaluator_id: x.status for x in assignments(world, first)}[e1] == "recused"
    # The application went to the next evaluator, who declares, scores and cannot step back.
    other = {x.evaluator_id: x.id for x in assignments(world, first)}[e2]
    s2 = login(clients, "ocena2@example.org")
    assert s2.post(f"/evaluation/{other}/declare", data={"statement": "y"}).status_code == 303
    s2.post(f"/evaluation/{other}/card", data=card_data({k: "3" for k in keys}, action="submit"))
    response = s2.post(f"/evaluation/{other}/recuse", data={"reason": "Za późno."},
                       follow_redirects=True)
    assert "nie możesz się już wyłączyć" in response.get_data(True)
    assert {x.evaluator_id: x.status for x in assignments(world, first)}[e2] == "submitted"


def test_findings_changed_since_the_page_was_opened_nothing_is_saved(world, clients):
    from core.applications.models import Application
    from core.db import db
    from core.evaluation.models import FormalReview

    first = add_application(world, 1, minute=0, status="withdrawn")
    with scoped(world):
        profile_id = db.session.execute(db.select(Application.applicant_id).where(
            Application.id == first)).scalar_one()
    second = add_application(world, 2, profile_id=profile_id, minute=30)
    site = login(clients, "admin@example.org")
    # The staff open the later application while the earlier one is withdrawn …
    page = site.get(f"/admin/applications/{second}/formal").get_data(True)
    assert "applicant.duplicate_application" not in page
    # … and before they post, the earlier one counts again: the rule engine finds a duplicate.
    with scoped(world):
        db.session.execute(db.select(Application).where(
            Application.id == first)).scalar_one().status = "submitted"
        db.session.commit()
    n = item_index(page, "checklist:project_type")
    response = site.post(f"/admin/applications/{second}/formal", data={
        **formal_form(page), f"item-{n}-reason": "Mój powód.", "action": "accept"})
    assert response.status_code == 409
    body = response.get_data(True)
    assert "Ustalenia silnika reguł zmieniły się" in body
    assert "applicant.duplicate_application" in body and "Mój powód." in body
    assert application(world, second).status == "submitted"
    assert load(world, FormalReview) == []
    # A draft is no business of the formal check.
    draft = add_application(world, 3, status="draft")
    assert site.get(f"/admin/applications/{draft}/formal").status_code == 404
