"""The committee's decisions: stage II, the ranking with "what if", awards, approval,
resignations, and the published results (page, PDF, XLSX)."""
from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

WARSAW = ZoneInfo("Europe/Warsaw")
UTC = dt.UTC
SUBMITTED = dt.datetime(2027, 3, 10, 9, 0, tzinfo=UTC)


# --- setting up -------------------------------------------------------------------------

@pytest.fixture
def world(app, create_tenant, create_user):
    """Gmina A (lpm) with a closed call (pool 10 000 zł, stage II of 12 points), a
    committee of two, an administrator, operator staff, and Gmina B."""
    from core.calls.models import Call
    from core.db import db, tenant_scope

    tenant_id = create_tenant("gmina-a", variants=["lpm"], name="Gmina Lipiny")
    create_tenant("gmina-b", variants=["lpm"])
    people = SimpleNamespace(
        tenant_id=tenant_id,
        admin=create_user("admin@example.org", roles=["admin"]),
        kom1=create_user("kom1@example.org", roles=["committee"]),
        kom2=create_user("kom2@example.org", roles=["committee"]),
        evaluator=create_user("eval@example.org", roles=["evaluator"]),
        stranger=create_user("stranger@example.org", roles=["applicant"]),
    )
    with app.app_context(), tenant_scope(tenant_id):
        call = Call(ref="lpm-2027", title="Mikrogranty Lipiny 2027", variant="lpm",
                    status="closed", pool=Decimal("10000.00"),
                    params={"pool": "10000.00", "amount_min": "1000.00",
                            "amount_max": "5000.00", "stage1_max_points": 18,
                            "stage1_pass_mark": "10.00", "stage2": True,
                            "stage2_max_points": 12, "cutoff_policy": "STOP",
                            "eligible_gminas": ["Lipiny"]},
                    deadline_at=dt.datetime(2027, 3, 31, 21, 59, 59, tzinfo=UTC))
        db.session.add(call)
        db.session.commit()
        people.call_id = call.id
    people.counter = 0
    return people


@pytest.fixture
def add(app, world, create_user):
    """Add a submitted application: ``add("A1", "4000.00", stage1="15", stage2="8")``.

    Each has its own organisation owned by its own applicant (``a1@example.org``); a
    ``person`` applies alone (Jan Kowalski from Lipiny).  Status: ``ranked`` where both
    scores are given, ``invited`` with stage 1 only, else as given.
    """
    from core.applicants.models import ApplicantProfile, Person
    from core.applications.models import Application
    from core.db import db, tenant_scope
    from core.evaluation.models import Assignment, CommitteeScore, ScoreCard

    def factory(ref, requested, stage1=None, stage2=None, status=None, person=False,
                minutes=0, title=None):
        world.counter += 1
        email = f"{ref.lower()}@example.org"
        owner = create_user(email, roles=["applicant"])
        with app.app_context(), tenant_scope(world.tenant_id):
            if person:
                someone = Person(name="Jan Kowalski", birth_date=dt.date(1980, 5, 1),
                                 pesel="80050112345", email="jan.kowalski@example.org",
                                 user_id=owner)
                profile = ApplicantProfile(kind="person", name="", person=someone,
                                           owner_id=owner)
            else:
                profile = ApplicantProfile(kind="ngo", name=f"Stowarzyszenie {ref}",
                                           legal_form="association", owner_id=owner)
            s1 = Decimal(stage1) if stage1 is not None else None
            s2 = Decimal(stage2) if stage2 is not None else None
            if status is None:
                status = "ranked" if s2 is not None else ("invited" if s1 is not None
                                                          else "accepted")
            application = Application(
                call_id=world.call_id, ref=ref, applicant=profile, status=status,
                title=title or f"Projekt {ref}", requested=Decimal(requested),
                created_by_id=owner, place={"gmina": "Lipiny"},
                submitted_at=SUBMITTED + dt.timedelta(minutes=minutes or world.counter),
                receipt_number=f"LPM-2027/{world.counter:04d}",
                stage1_score=s1, stage2_score=s2,
                final_score=(s1 + s2) if s1 is not None and s2 is not None else None)
            db.session.add(application)
            db.session.flush()
            # The scores as the evaluators' cards and the committee gave them.
            if s1 is not None:
                for evaluator in ("E1", "E2"):
                    assignment = Assignment(application_id=application.id, stage=1,
                                            evaluator_ref=evaluator, status="submitted")
                    assignment.card = ScoreCard(points={"total": str(s1)}, total=s1,
                                                submitted_at=SUBMITTED)
                    db.session.add(assignment)
            if s2 is not None:
                db.session.add(CommitteeScore(application_id=application.id, member_ref="K1",
                                              points=s2))
            db.session.commit()
            return application.id

    return factory


@pytest.fixture
def site(clients):
    return clients("gmina-a")


def login(clients, email):
    c = clients("gmina-a")
    c.login(email)
    return c


@pytest.fixture
def in_tenant(app, world):
    """Run a block in gmina A's scope inside an app context: ``with in_tenant(): ...``."""
    import contextlib

    from core.db import tenant_scope

    @contextlib.contextmanager
    def scope():
        with app.app_context(), tenant_scope(world.tenant_id):
            yield

    return scope


def application(ref):
    from core.applications.models import Application
    from core.db import db

    return db.session.execute(db.select(Application).where(Application.ref == ref)
                              ).scalar_one()


def call():
    from core.calls.models import Call
    from core.db import db

    return db.session.execute(db.select(Call).where(Call.ref == "lpm-2027")).scalar_one()


def audit(action):
    from core.audit.models import AuditEvent
    from core.db import db

    return list(db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == action)
                                   .order_by(AuditEvent.id)))


def future(days=7, hour=16, minute=0):
    day = dt.datetime.now(WARSAW).date() + dt.timedelta(days=days)
    return day, dt.time(hour, minute)


# --- stage II: slots and booking ---------------------------------------------------------

def test_staff_publish_slots_in_warsaw_time_stored_in_utc(world, add, clients, in_tenant):
    add("A1", "3000.00", stage1="15")
    admin = login(clients, "admin@example.org")
    day, start = future(days=10, hour=16)
    response = admin.post(f"/committee/calls/{world.call_id}/slots", data={
        "day": day.isoformat(), "start": "16:00", "minutes": "20", "count": "3",
        "place": "Urząd Gminy, sala 12", "publish": "y"})
    assert response.status_code == 303
    with in_tenant():
        from core.evaluation.decisions import slots_for

        slots = slots_for(call())
        assert len(slots) == 3
        expected = dt.datetime.combine(day, dt.time(16, 0), WARSAW).astimezone(UTC)
        assert slots[0].starts_at == expected
        assert slots[2].starts_at == expected + dt.timedelta(minutes=40)
        assert all(s.published for s in slots)
        assert len(audit("interview_slot.added")) == 3
    page = admin.get(f"/committee/calls/{world.call_id}/interviews").get_data(as_text=True)
    assert "16:00" in page and "16:40" in page and "Urząd Gminy, sala 12" in page


def test_slot_form_errors_are_clear_and_nothing_is_stored(world, add, clients, in_tenant):
    admin = login(clients, "admin@example.org")
    past = dt.datetime.now(WARSAW).date() - dt.timedelta(days=1)
    response = admin.post(f"/committee/calls/{world.call_id}/slots", data={
        "day": past.isoformat(), "start": "10:00", "minutes": "20", "count": "1",
        "place": "Sala"})
    assert response.status_code == 422
    assert "Termin musi być w przyszłości." in response.get_data(as_text=True)
    response = admin.post(f"/committee/calls/{world.call_id}/slots", data={
        "day": future()[0].isoformat(), "start": "10:00", "minutes": "500", "place": ""})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "od 5 do 240 minut" in text
    with in_tenant():
        from core.evaluation.models import InterviewSlot
        from core.db import db

        assert db.session.scalar(sa.select(sa.func.count(InterviewSlot.id))) == 0


def test_committee_member_cannot_add_slots_but_sees_them(world, clients):
    kom = login(clients, "kom1@example.org")
    assert kom.get(f"/committee/calls/{world.call_id}/interviews").status_code == 200
    response = kom.post(f"/committee/calls/{world.call_id}/slots", data={
        "day": future()[0].isoformat(), "start": "10:00", "minutes": "20", "place": "Sala"})
    assert response.status_code == 403
    applicant = login(clients, "stranger@example.org")
    assert applicant.get(f"/committee/calls/{world.call_id}/interviews").status_code == 403


def _slots(in_tenant, count=2, publish=True):
    from core.evaluation.decisions import add_slots

    with in_tenant():
        from core.db import db

        day, start = future()
        slots = add_slots(call(), day, start, 20, "Urząd Gminy", None, count=count,
                          publish=publish)
        db.session.commit()
        return [s.id for s in slots]


def test_invited_applicant_gets_an_invitation_and_books_one_slot(world, add, clients,
                                                                 in_tenant, outbox):
    a1 = add("A1", "3000.00", stage1="15")
    add("A2", "2000.00", stage1="9", status="below_threshold")
    slot_ids = _slots(in_tenant, count=2)
    admin = login(clients, "admin@example.org")
    response = admin.post(f"/committee/calls/{world.call_id}/invitations")
    assert response.status_code == 303
    mails = [m for m in outbox() if m[0] == "a1@example.org"]
    assert len(mails) == 1
    assert "Zaproszenie do II etapu" in mails[0][1]
    assert f"/applications/{a1}/result" in mails[0][2]
    assert not [m for m in outbox() if m[0] == "a2@example.org"]
    # Sending again tells nobody twice.
    admin.post(f"/committee/calls/{world.call_id}/invitations")
    assert len([m for m in outbox() if m[0] == "a1@example.org"]) == 1

    me = login(clients, "a1@example.org")
    page = me.get(f"/applications/{a1}/result").get_data(as_text=True)
    assert "Wybierz termin" in page
    response = me.post(f"/applications/{a1}/interview", data={"slot": str(slot_ids[0])})
    assert response.status_code == 303
    page = me.get(f"/applications/{a1}/result").get_data(as_text=True)
    assert "Twoja rozmowa:" in page
    # One per application: a second booking is refused with a clear message.
    response = me.post(f"/applications/{a1}/interview", data={"slot": str(slot_ids[1])})
    assert response.status_code == 409
    assert "Masz już zarezerwowany termin" in response.get_data(as_text=True)
    with in_tenant():
        from core.evaluation.decisions import booked_slot

        assert booked_slot(application("A1")).id == slot_ids[0]
        assert len(audit("interview_slot.booked")) == 1


def test_a_taken_slot_gives_a_clear_message(world, add, clients, in_tenant):
    a1 = add("A1", "3000.00", stage1="15")
    a2 = add("A2", "3000.00", stage1="14")
    slot_id = _slots(in_tenant, count=1)[0]
    first = login(clients, "a1@example.org")
    assert first.post(f"/applications/{a1}/interview",
                      data={"slot": str(slot_id)}).status_code == 303
    second = login(clients, "a2@example.org")
    response = second.post(f"/applications/{a2}/interview", data={"slot": str(slot_id)})
    assert response.status_code == 409
    assert "ktoś właśnie zarezerwował ten termin" in response.get_data(as_text=True)
    with in_tenant():
        from core.evaluation.decisions import booked_slot

        assert booked_slot(application("A2")) is None
        assert booked_slot(application("A1")).id == slot_id


def test_only_the_applicant_may_book_and_only_when_invited(world, add, clients, in_tenant):
    a1 = add("A1", "3000.00", stage1="15")
    a2 = add("A2", "3000.00", stage1="8", status="below_threshold")
    slot_id = _slots(in_tenant, count=1)[0]
    other = login(clients, "a2@example.org")
    assert other.post(f"/applications/{a1}/interview",
                      data={"slot": str(slot_id)}).status_code == 404
    response = other.post(f"/applications/{a2}/interview", data={"slot": str(slot_id)})
    assert response.status_code == 409
    assert "Tylko wnioski zaproszone do II etapu" in response.get_data(as_text=True)


def test_unpublished_slots_cannot_be_booked(world, add, clients, in_tenant):
    a1 = add("A1", "3000.00", stage1="15")
    slot_id = _slots(in_tenant, count=1, publish=False)[0]
    me = login(clients, "a1@example.org")
    assert "Wybierz termin" not in me.get(f"/applications/{a1}/result").get_data(as_text=True)
    assert me.post(f"/applications/{a1}/interview",
                   data={"slot": str(slot_id)}).status_code == 422


# --- stage II: the committee's points -----------------------------------------------------

def _points(client, application_id, **values):
    data = {"action": "points"}
    data.update({f"member_{k}": v for k, v in values.items()})
    return client.post(f"/committee/applications/{application_id}/stage2", data=data)


def test_committee_points_are_averaged_and_all_become_ranked(world, add, clients, in_tenant):
    a1 = add("A1", "3000.00", stage1="15")
    a2 = add("A2", "3000.00", stage1="14")
    kom = login(clients, "kom1@example.org")
    response = _points(kom, a1, **{str(world.kom1): "8", str(world.kom2): "7,5"})
    assert response.status_code == 303
    with in_tenant():
        found = application("A1")
        assert found.stage2_score == Decimal("7.75")
        assert found.final_score == Decimal("22.75")
        # A2 has no result yet: nobody is ranked.
        assert found.status == "invited"
        assert len(audit("stage2.points_recorded")) == 1
    _points(kom, a2, **{str(world.kom1): "9"})
    with in_tenant():
        assert application("A1").status == "ranked"
        assert application("A2").status == "ranked"
        assert application("A2").final_score == Decimal("23.00")
        assert len(audit("application.ranked")) == 2


def test_no_show_disqualifies_and_is_audited(world, add, clients, in_tenant):
    a1 = add("A1", "3000.00", stage1="15")
    a2 = add("A2", "3000.00", stage1="14")
    kom = login(clients, "kom1@example.org")
    # Without the confirmation: nothing happens.
    response = kom.post(f"/committee/applications/{a1}/stage2", data={"action": "no_show"})
    assert response.status_code == 422
    with in_tenant():
        assert application("A1").status == "invited"
    response = kom.post(f"/committee/applications/{a1}/stage2",
                        data={"action": "no_show", "confirm": "y"})
    assert response.status_code == 303
    with in_tenant():
        found = application("A1")
        assert found.status == "disqualified"
        assert found.final_score is None
        assert len(audit("stage2.no_show")) == 1
        assert len(audit("application.disqualified")) == 1
    _points(kom, a2, **{str(world.kom1): "6"})
    with in_tenant():
        assert application("A2").status == "ranked"


@pytest.mark.parametrize("value, message", [
    ("13", "Najwyżej 12 pkt."),
    ("-1", "Liczba punktów nie może być ujemna."),
    ("dużo", "Wpisz liczbę punktów"),
    ("7,555", "Najwyżej dwa miejsca po przecinku."),
])
def test_bad_points_are_refused_and_nothing_changes(world, add, clients, in_tenant, value,
                                                    message):
    a1 = add("A1", "3000.00", stage1="15")
    kom = login(clients, "kom1@example.org")
    response = _points(kom, a1, **{str(world.kom1): "8", str(world.kom2): value})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with in_tenant():
        from core.evaluation.models import CommitteeScore
        from core.db import db

        assert db.session.scalar(sa.select(sa.func.count(CommitteeScore.id))) == 0
        assert application("A1").stage2_score is None
        assert audit("stage2.points_recorded") == []


def test_points_of_nobody_are_refused(world, add, clients):
    a1 = add("A1", "3000.00", stage1="15")
    kom = login(clients, "kom1@example.org")
    response = _points(kom, a1)
    assert response.status_code == 422
    assert "co najmniej jednego członka komisji" in response.get_data(as_text=True)


def test_evaluator_and_admin_cannot_record_stage2_points(world, add, clients):
    a1 = add("A1", "3000.00", stage1="15")
    for email in ("eval@example.org", "admin@example.org"):
        c = login(clients, email)
        assert _points(c, a1, **{str(world.kom1): "5"}).status_code == 403


# --- the ranking and "what if" ------------------------------------------------------------

def crafted(add):
    """Pool 10 000: A1 6000 (24), A2 5000 (22), A3 3000 (20), A4 2500 (18).

    STOP: A1 funded, A2 does not fit → A2, A3, A4 reserve (6000 allocated).
    SKIP_TO_FIT: A1, A3 funded (9000), A2 and A4 reserve.
    PARTIAL_LAST: A1 funded, A2 offered the rest 4000 (≥ 1000), funding ends.
    """
    add("A1", "6000.00", stage1="16", stage2="8")
    add("A2", "5000.00", stage1="15", stage2="7")
    add("A3", "3000.00", stage1="14", stage2="6")
    add("A4", "2500.00", stage1="12", stage2="6")


def test_what_if_shows_the_three_policies_differing(world, add, clients, in_tenant):
    crafted(add)
    with in_tenant():
        from core.evaluation.decisions import ranking_table

        table = ranking_table(call())
        assert [r.ref for r in table.rows] == ["A1", "A2", "A3", "A4"]
        status = {p: [r.outcomes[p].status for r in table.rows] for p in table.totals}
        assert status["STOP"] == ["funded", "reserve", "reserve", "reserve"]
        assert status["SKIP_TO_FIT"] == ["funded", "reserve", "funded", "reserve"]
        assert status["PARTIAL_LAST"] == ["funded", "funded", "reserve", "reserve"]
        assert table.rows[1].outcomes["PARTIAL_LAST"].amount == Decimal("4000.00")
        assert table.totals["STOP"]["allocated"] == Decimal("6000.00")
        assert table.totals["SKIP_TO_FIT"]["allocated"] == Decimal("9000.00")
        assert table.totals["PARTIAL_LAST"]["allocated"] == Decimal("10000.00")
        assert table.differs and table.policy == "STOP"
    kom = login(clients, "kom1@example.org")
    page = kom.get(f"/committee/calls/{world.call_id}/ranking").get_data(as_text=True)
    assert "Zasady dają różne wyniki dla tego rankingu." in page
    assert "zasada tego naboru" in page
    assert "4000,00" in page.replace("\xa0", "").replace(" ", "")
    assert "Stowarzyszenie A1" in page
    # The page changes nothing.
    with in_tenant():
        assert {application(r).status for r in ("A1", "A2", "A3", "A4")} == {"ranked"}


def test_ranking_page_is_for_staff_and_committee_only(world, add, clients):
    crafted(add)
    for email, code in (("kom1@example.org", 200), ("admin@example.org", 200),
                        ("eval@example.org", 403), ("a1@example.org", 403)):
        assert login(clients, email).get(
            f"/committee/calls/{world.call_id}/ranking").status_code == code
    assert clients("gmina-a").get(f"/committee/calls/{world.call_id}/ranking"
                                  ).status_code == 302
    other = clients("gmina-b")
    other.login("kom1@example.org")
    assert other.get(f"/committee/calls/{world.call_id}/ranking").status_code in (403, 404)


# --- awards -------------------------------------------------------------------------------

def test_award_above_requested_is_refused(world, add, clients, in_tenant, outbox):
    crafted(add)
    with in_tenant():
        a2 = application("A2").id
    kom = login(clients, "kom1@example.org")
    response = kom.post(f"/committee/applications/{a2}/award", data={"amount": "5 000,01"})
    assert response.status_code == 422
    assert "nie może być wyższa niż wnioskowana kwota" in response.get_data(as_text=True)
    for bad in ("0", "-5", "abc"):
        assert kom.post(f"/committee/applications/{a2}/award",
                        data={"amount": bad}).status_code == 422
    with in_tenant():
        from core.evaluation.decisions import award_of

        assert award_of(application("A2")) is None
        assert audit("award.offered") == []
    assert not [m for m in outbox() if m[0] == "a2@example.org"]


def test_accepted_award_lowers_the_amount(world, add, clients, in_tenant, outbox):
    crafted(add)
    with in_tenant():
        a2 = application("A2").id
    kom = login(clients, "kom1@example.org")
    response = kom.post(f"/committee/applications/{a2}/award", data={"amount": "4 000,00 zł"})
    assert response.status_code == 303
    offer = [m for m in outbox() if m[0] == "a2@example.org"]
    assert len(offer) == 1 and "4" in offer[0][2] and f"/applications/{a2}/result" in offer[0][2]
    me = login(clients, "a2@example.org")
    dashboard = me.get("/applications").get_data(as_text=True)
    assert f"/applications/{a2}/result" in dashboard
    page = me.get(f"/applications/{a2}/result").get_data(as_text=True)
    assert "Komisja przyznaje" in page
    assert me.post(f"/applications/{a2}/offer", data={"answer": "accept"}).status_code == 303
    with in_tenant():
        from core.evaluation.decisions import award_of, ranking_table

        assert award_of(application("A2")).status == "accepted"
        assert len(audit("award.accepted")) == 1
        table = ranking_table(call())
        # 6000 + 4000 fit the pool exactly under STOP now.
        assert [r.outcomes["STOP"].status for r in table.rows][:2] == ["funded", "funded"]
        assert table.rows[1].outcomes["STOP"].amount == Decimal("4000.00")
    # Answering twice is refused.
    response = me.post(f"/applications/{a2}/offer", data={"answer": "decline"})
    with in_tenant():
        assert application("A2").status == "ranked"


def test_declined_award_withdraws_the_application(world, add, clients, in_tenant, outbox):
    crafted(add)
    with in_tenant():
        a2 = application("A2").id
    login(clients, "kom1@example.org").post(f"/committee/applications/{a2}/award",
                                            data={"amount": "3000"})
    me = login(clients, "a2@example.org")
    assert me.post(f"/applications/{a2}/offer", data={"answer": "decline"}).status_code == 303
    with in_tenant():
        found = application("A2")
        assert found.status == "withdrawn"
        assert found.withdrawn_at is not None
        assert len(audit("award.declined")) == 1
        assert len(audit("application.withdrawn")) == 1
        from core.evaluation.decisions import ranking_table

        assert "A2" not in [r.ref for r in ranking_table(call()).rows]
    assert any("Oferta odrzucona" in m[1] for m in outbox() if m[0] == "a2@example.org")


def test_another_applicant_cannot_answer_an_offer(world, add, clients, in_tenant):
    crafted(add)
    with in_tenant():
        a2 = application("A2").id
    login(clients, "kom1@example.org").post(f"/committee/applications/{a2}/award",
                                            data={"amount": "3000"})
    other = login(clients, "a1@example.org")
    assert other.post(f"/applications/{a2}/offer", data={"answer": "decline"}
                      ).status_code == 404
    with in_tenant():
        assert application("A2").status == "ranked"


# --- approval -----------------------------------------------------------------------------

def _approve(client, kind="final", confirm=True):
    return client.post(f"/committee/calls/{_approve.call_id}/lists/{kind}/approve",
                       data={"confirm": "y"} if confirm else {})


def test_approving_the_final_list_applies_the_allocation_once(world, add, clients, in_tenant,
                                                              outbox):
    crafted(add)
    _approve.call_id = world.call_id
    kom = login(clients, "kom1@example.org")
    # Without the confirmation nothing happens.
    _approve(kom, confirm=False)
    with in_tenant():
        assert application("A1").status == "ranked"
    assert _approve(kom).status_code == 303
    with in_tenant():
        from core.evaluation.decisions import result_list

        assert [application(r).status for r in ("A1", "A2", "A3", "A4")] == \
            ["funded", "reserve", "reserve", "reserve"]
        assert application("A1").allocated == Decimal("6000.00")
        assert [application(r).reserve_position for r in ("A2", "A3", "A4")] == [1, 2, 3]
        stored = result_list(call(), "final")
        assert stored.approved_at is not None and stored.policy == "STOP"
        assert stored.results["ranking"] == ["A1", "A2", "A3", "A4"]
        assert stored.results["applications"]["A1"] == {
            "status": "funded", "rank": 1, "score": "24.00", "amount": "6000.00"}
        assert len(audit("results.approved")) == 1
        events = len(audit("application.funded")) + len(audit("application.reserve"))
    mails = {m[0]: m for m in outbox()}
    assert "Wyniki naboru" in mails["a1@example.org"][1]
    assert "dofinansowany" in mails["a1@example.org"][2]
    assert "liście rezerwowej" in mails["a3@example.org"][2]
    count = len(outbox())
    # Approving twice: a clear error, nothing changed.
    response = _approve(kom)
    follow = kom.get(f"/committee/calls/{world.call_id}/ranking").get_data(as_text=True)
    assert "nie można zatwierdzić jej dwa razy" in follow
    with in_tenant():
        assert len(audit("results.approved")) == 1
        assert len(audit("application.funded")) + len(audit("application.reserve")) == events
    assert len(outbox()) == count
    with in_tenant():
        from core.evaluation.decisions import approve_final_list
        from core.errors import ValidationError

        with pytest.raises(ValidationError):
            approve_final_list(call(), None)


def test_no_list_is_approved_while_the_call_still_accepts_applications(
        world, add, clients, in_tenant, outbox):
    """A list approved before the deadline would leave out what is still to come: the
    committee is told to wait for the deadline or for the call to be closed."""
    from core.db import db

    crafted(add)
    with in_tenant():
        call().status = "published"  # deadline 31 March 2027, still ahead
        db.session.commit()
    _approve.call_id = world.call_id
    kom = login(clients, "kom1@example.org")
    page = kom.get(f"/committee/calls/{world.call_id}/ranking").get_data(as_text=True)
    assert "Nabór wciąż przyjmuje wnioski do 31 marca 2027, 23:59" in page
    assert "Zatwierdź listę końcową" not in page
    for kind in ("stage1", "final"):
        assert _approve(kom, kind).status_code == 303
    page = kom.get(f"/committee/calls/{world.call_id}/ranking").get_data(as_text=True)
    assert "listę można zatwierdzić dopiero po terminie albo gdy administrator zamknie " \
        "nabór" in page
    with in_tenant():
        assert application("A1").status == "ranked"
        assert audit("results.approved") == []
    assert outbox() == []
    # The administrator is shown the way to close it.
    admin = login(clients, "admin@example.org")
    page = admin.get(f"/committee/calls/{world.call_id}/ranking").get_data(as_text=True)
    assert f'href="/admin/calls/{world.call_id}#publication"' in page
    # Once closed, the committee approves.
    with in_tenant():
        call().status = "closed"
        db.session.commit()
    assert _approve(kom).status_code == 303
    with in_tenant():
        assert application("A1").status == "funded"


def test_the_ranking_page_says_who_approves_and_who_publishes(world, add, clients):
    crafted(add)
    _approve.call_id = world.call_id
    admin = login(clients, "admin@example.org")
    page = admin.get(f"/committee/calls/{world.call_id}/ranking").get_data(as_text=True)
    assert "zatwierdza ją członek komisji na tej stronie" in page
    # The policies are named in Polish next to their keys.
    assert "Zakończ na pierwszym projekcie, który się nie mieści" in page
    kom = login(clients, "kom1@example.org")
    _approve(kom)
    page = kom.get(f"/committee/calls/{world.call_id}/ranking").get_data(as_text=True)
    assert "dopóki administrator gminy jej nie opublikuje" in page
    assert "publikuje ją administrator gminy na stronie wyników" in page
    assert "Opublikuj na stronie wyników" not in page


def test_final_list_waits_for_stage_two(world, add, clients, in_tenant):
    add("A1", "3000.00", stage1="15", stage2="7")
    add("A2", "3000.00", stage1="14")      # still invited
    _approve.call_id = world.call_id
    kom = login(clients, "kom1@example.org")
    _approve(kom)
    page = kom.get(f"/committee/calls/{world.call_id}/ranking").get_data(as_text=True)
    assert "wciąż w ocenie" in page
    with in_tenant():
        assert application("A1").status == "ranked"
        assert audit("results.approved") == []


def test_awards_cannot_change_after_approval(world, add, clients, in_tenant):
    crafted(add)
    _approve.call_id = world.call_id
    kom = login(clients, "kom1@example.org")
    _approve(kom)
    with in_tenant():
        a2 = application("A2").id
    response = kom.post(f"/committee/applications/{a2}/award", data={"amount": "3000"})
    assert response.status_code == 422
    assert "lista końcowa jest zatwierdzona" in response.get_data(as_text=True).lower()


def test_stage1_list_is_approved_and_published_separately(world, add, clients, in_tenant):
    add("A1", "3000.00", stage1="15")
    add("A2", "3000.00", stage1="16.5")
    add("A3", "3000.00", stage1="9", status="below_threshold")
    _approve.call_id = world.call_id
    kom = login(clients, "kom1@example.org")
    public = clients("gmina-a")
    assert public.get("/calls/lpm-2027/results").status_code == 404
    assert _approve(kom, "stage1").status_code == 303
    # Approved, not yet published: still not public.
    assert public.get("/calls/lpm-2027/results").status_code == 404
    assert kom.post(f"/committee/calls/{world.call_id}/lists/stage1/publish").status_code == 403
    admin = login(clients, "admin@example.org")
    assert admin.post(f"/committee/calls/{world.call_id}/lists/stage1/publish"
                      ).status_code == 303
    page = public.get("/calls/lpm-2027/results").get_data(as_text=True)
    assert "Lista I etapu" in page
    assert page.index("Projekt A2") < page.index("Projekt A1")
    assert "Projekt A3" not in page
    assert "16,50" in page
    assert "Lista końcowa" not in page
    assert public.get("/calls/lpm-2027/results/final.pdf").status_code == 404
    assert public.get("/calls/lpm-2027/results/stage1.pdf").status_code == 200
    with in_tenant():
        assert len(audit("results.published")) == 1
        # The stage-I list is not the final list: statuses are untouched.
        assert application("A1").status == "invited"


# --- resignation --------------------------------------------------------------------------

def test_resignation_moves_the_reserve_up_with_emails(world, add, clients, in_tenant, outbox):
    crafted(add)
    _approve.call_id = world.call_id
    _approve(login(clients, "kom1@example.org"))
    with in_tenant():
        a1 = application("A1").id
    me = login(clients, "a1@example.org")
    page = me.get(f"/applications/{a1}/result").get_data(as_text=True)
    assert "Zrezygnuj z grantu" in page
    # Without the confirmation nothing changes.
    assert me.post(f"/applications/{a1}/resign", data={}).status_code == 422
    with in_tenant():
        assert application("A1").status == "funded"
    before = len(outbox())
    assert me.post(f"/applications/{a1}/resign", data={"confirm": "y"}).status_code == 303
    with in_tenant():
        from core.evaluation.decisions import result_list

        assert application("A1").status == "withdrawn"
        # STOP, fresh walk of the reserve from its top: A2 (5000) and A3 (3000) fit 10 000.
        assert application("A2").status == "funded"
        assert application("A3").status == "funded"
        assert application("A4").status == "reserve"
        assert application("A4").reserve_position == 1
        stored = result_list(call(), "final")
        assert stored.revision == 2
        assert stored.results["applications"]["A1"] == {"status": "withdrawn"}
        assert len(audit("application.resigned")) == 1
        revised = audit("results.revised")
        assert len(revised) == 1
        assert revised[0].changes["previous"]["applications"]["A1"]["status"] == "funded"
    new = outbox()[before:]
    told = {m[0] for m in new if "jest dofinansowany" in m[1]}
    assert told == {"a2@example.org", "a3@example.org"}


def test_staff_record_a_resignation(world, add, clients, in_tenant, outbox):
    crafted(add)
    _approve.call_id = world.call_id
    _approve(login(clients, "kom1@example.org"))
    with in_tenant():
        a3 = application("A3").id
    admin = login(clients, "admin@example.org")
    assert admin.get(f"/committee/applications/{a3}/resign").status_code == 200
    assert admin.post(f"/committee/applications/{a3}/resign",
                      data={"confirm": "y", "reason": "telefonicznie"}).status_code == 303
    with in_tenant():
        assert application("A3").status == "withdrawn"
        assert application("A1").status == "funded"
        # A reserve project leaving moves nobody to funding; the reserve renumbers.
        assert [application(r).reserve_position for r in ("A2", "A4")] == [1, 2]
        event = audit("application.resigned")[0]
        assert event.changes["reason"] == "telefonicznie"
    # The committee member may not record it (staff do).
    kom = login(clients, "kom1@example.org")
    with in_tenant():
        a1 = application("A1").id
    assert kom.post(f"/committee/applications/{a1}/resign",
                    data={"confirm": "y"}).status_code == 403


def test_resignation_before_approval_is_refused(world, add, clients, in_tenant):
    crafted(add)
    with in_tenant():
        from core.evaluation.decisions import resign
        from core.errors import ValidationError

        with pytest.raises(ValidationError):
            resign(application("A1"), None)
        assert application("A1").status == "ranked"


# --- publication --------------------------------------------------------------------------

def _published_world(world, add, clients, in_tenant):
    add("A1", "6000.00", stage1="16", stage2="8", title="Festyn sąsiedzki")
    add("A2", "5000.00", stage1="15", stage2="7", person=True, title="Ogród społeczny")
    add("A3", "3000.00", stage1="14", stage2="6", title="Warsztaty łąkowe")
    _approve.call_id = world.call_id
    _approve(login(clients, "kom1@example.org"))
    login(clients, "admin@example.org").post(
        f"/committee/calls/{world.call_id}/lists/final/publish")


def test_results_are_hidden_before_publication(world, add, clients, in_tenant):
    crafted(add)
    public = clients("gmina-a")
    assert public.get("/calls/lpm-2027/results").status_code == 404
    assert public.get("/calls/lpm-2027/results/final.pdf").status_code == 404
    assert public.get("/calls/lpm-2027/results/final.xlsx").status_code == 404
    _approve.call_id = world.call_id
    _approve(login(clients, "kom1@example.org"))
    assert public.get("/calls/lpm-2027/results").status_code == 404
    assert public.get("/calls/unknown/results").status_code == 404
    # Another municipality's host never shows it.
    login(clients, "admin@example.org").post(
        f"/committee/calls/{world.call_id}/lists/final/publish")
    assert public.get("/calls/lpm-2027/results").status_code == 200
    assert clients("gmina-b").get("/calls/lpm-2027/results").status_code == 404


def test_public_page_hides_personal_data(world, add, clients, in_tenant):
    _published_world(world, add, clients, in_tenant)
    page = clients("gmina-a").get("/calls/lpm-2027/results").get_data(as_text=True)
    assert "Festyn sąsiedzki" in page and "Stowarzyszenie A1" in page
    assert "J. K., Lipiny" in page
    for secret in ("Jan Kowalski", "Kowalski", "1980", "80050112345", "jan.kowalski@",
                   "a2@example.org"):
        assert secret not in page
    assert "Lista rezerwowa" in page
    assert "6000,00" in page.replace("\xa0", "").replace(" ", "")
    index = clients("gmina-a").get("/results").get_data(as_text=True)
    assert "/calls/lpm-2027/results" in index
    assert "/calls/lpm-2027/results" in clients("gmina-a").get("/calls/lpm-2027").get_data(
        as_text=True)


def test_pdf_download(world, add, clients, in_tenant):
    _published_world(world, add, clients, in_tenant)
    response = clients("gmina-a").get("/calls/lpm-2027/results/final.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert "wyniki-lpm-2027.pdf" in response.headers["Content-Disposition"]
    with in_tenant():
        from flask import g

        from core.evaluation.publication import (publication_data, published_lists,
                                                 render_html)
        from core.tenancy.models import Tenant
        from core.db import db

        with clients("gmina-a").app.test_request_context():
            tenant = db.session.get(Tenant, world.tenant_id)
            data = publication_data(call(), published_lists(call())["final"], tenant)
            html = render_html(data)
    assert "J. K., Lipiny" in html and "Gmina Lipiny" in html
    assert "Kowalski" not in html and "80050112345" not in html and "1980" not in html


def test_xlsx_download_has_the_amounts_as_numbers(world, add, clients, in_tenant):
    from openpyxl import load_workbook

    _published_world(world, add, clients, in_tenant)
    response = clients("gmina-a").get("/calls/lpm-2027/results/final.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][0] == "Gmina Lipiny"
    header = next(i for i, r in enumerate(rows) if r[0] == "Miejsce")
    body = rows[header + 1:header + 4]
    assert [r[2] for r in body] == ["Festyn sąsiedzki", "Ogród społeczny", "Warsztaty łąkowe"]
    assert body[0][6] == 6000 and isinstance(body[0][6], (int, float))
    assert body[0][4] == 24
    assert body[1][3] == "J. K., Lipiny"
    assert body[1][7] == 1        # reserve position
    assert sheet.cell(header + 2, 7).number_format == "#,##0.00"
    text = repr(rows)
    assert "Kowalski" not in text and "80050112345" not in text


def test_public_name_rules(world, add, in_tenant):
    from core.evaluation.publication import initials

    assert initials("Jan Maria Kowalska-Nowak") == "J. M. K. N."
    assert initials("  ") == ""


# --- query counts -------------------------------------------------------------------------

def _count_queries(app, client, path):
    from core.db import db

    counted = []

    def count(conn, cursor, statement, parameters, context, executemany):
        counted.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(path)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return len(counted)


def test_ranking_page_queries_do_not_grow(app, world, add, clients):
    kom = login(clients, "kom1@example.org")
    for n in range(5):
        add(f"B{n:02d}", "1500.00", stage1="12", stage2=str(n % 7), person=n == 0)
    small = _count_queries(app, kom, f"/committee/calls/{world.call_id}/ranking")
    for n in range(5, 25):
        add(f"B{n:02d}", "1500.00", stage1="12", stage2=str(n % 7), person=n % 3 == 0)
    large = _count_queries(app, kom, f"/committee/calls/{world.call_id}/ranking")
    assert large == small, (small, large)


# --- the pages render for each role --------------------------------------------------------

def test_pages_render(world, add, clients, in_tenant):
    a1 = add("A1", "3000.00", stage1="15")
    add("A2", "3000.00", stage1="14", person=True)
    _slots(in_tenant, count=2)
    kom = login(clients, "kom1@example.org")
    index = kom.get("/committee/").get_data(as_text=True)
    assert "Mikrogranty Lipiny 2027" in index and "Komisja" in index
    page = kom.get(f"/committee/calls/{world.call_id}/interviews").get_data(as_text=True)
    assert "Wnioski w II etapie" in page and "Wpisz punkty" in page
    assert "Dodaj terminy rozmów" not in page       # staff only
    page = kom.get(f"/committee/applications/{a1}/stage2").get_data(as_text=True)
    assert "kom1@example.org" in page and "kom2@example.org" in page
    assert 'name="member_%d"' % world.kom1 in page
    admin = login(clients, "admin@example.org")
    page = admin.get(f"/committee/calls/{world.call_id}/interviews").get_data(as_text=True)
    assert "Dodaj terminy rozmów" in page and "Wyślij zaproszenia e-mailem" in page
    assert clients("gmina-a").get("/results").status_code == 200
    # Another tenant's committee page does not show this call.
    other = clients("gmina-b")
    other.login("kom1@example.org")
    assert other.get(f"/committee/calls/{world.call_id}/interviews").status_code in (403, 404)


def test_stage1_list_pdf_and_xlsx(world, add, clients, in_tenant, tmp_path):
    """The PDF and XLSX of a stage-I list (people applying alone reduced to initials)."""
    add("A1", "3000.00", stage1="15", title="Zielona Lipina")
    add("A2", "3000.00", stage1="16.5", person=True, title="Ławki i książki")
    _approve.call_id = world.call_id
    _approve(login(clients, "kom1@example.org"), "stage1")
    login(clients, "admin@example.org").post(
        f"/committee/calls/{world.call_id}/lists/stage1/publish")
    public = clients("gmina-a")
    pdf = public.get("/calls/lpm-2027/results/stage1.pdf")
    assert pdf.data.startswith(b"%PDF")
    (tmp_path / "stage1.pdf").write_bytes(pdf.data)
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(public.get("/calls/lpm-2027/results/stage1.xlsx").data)
                          ).active
    rows = [r for r in sheet.iter_rows(values_only=True) if r and r[0] in (1, 2)]
    assert [(r[2], r[3], r[4]) for r in rows] == [
        ("Ławki i książki", "J. K., Lipiny", 16.5), ("Zielona Lipina", "Stowarzyszenie A1", 15)]


def test_imported_edition_on_the_committee_pages(app, create_tenant, create_user, clients):
    """The worked LPM edition, imported: its ranking page shows the approved allocation
    (A1 withdrawn keeps its place), and the pages render for the committee."""
    import json
    from pathlib import Path

    from core.db import db, tenant_scope
    from core.interchange.operations import import_call
    from core.tenancy.models import Tenant

    doc = json.loads((Path(__file__).resolve().parent / "scenarios" /
                      "lpm_debowa_wola_2025.json").read_text("utf-8"))
    create_tenant("gmina-a", variants=["lpm"])
    create_user("kom1@example.org", roles=["committee"])
    with app.app_context():
        tenant = db.session.execute(db.select(Tenant).where(Tenant.slug == "gmina-a")
                                    ).scalar_one()
        with tenant_scope(tenant):
            call = import_call(doc, tenant)
            db.session.commit()
            call_id = call.id
            from core.evaluation.decisions import ranking_table

            table = ranking_table(call)
            assert [r.ref for r in table.rows] == ["A3", "A1", "A2", "A6", "A8"]
            assert table.rows[1].outcomes["STOP"].status == "withdrawn"
    kom = login(clients, "kom1@example.org")
    page = kom.get(f"/committee/calls/{call_id}/ranking").get_data(as_text=True)
    assert "A3" in page and "A8" in page
    assert kom.get(f"/committee/calls/{call_id}/interviews").status_code == 200


@pytest.mark.parametrize("policy, funded, reserve, moved", [
    ("STOP", {"A2": "5000.00", "A3": "3000.00"}, ["A4"], {"a2", "a3"}),
    ("SKIP_TO_FIT", {"A2": "5000.00", "A3": "3000.00"}, ["A4"], {"a2"}),
    # The partial grant of A2 is never topped up; A3 and A4 move up.
    ("PARTIAL_LAST", {"A2": "4000.00", "A3": "3000.00", "A4": "2500.00"}, [], {"a3", "a4"}),
])
def test_resignation_under_each_policy(world, add, clients, in_tenant, outbox, policy, funded,
                                       reserve, moved):
    with in_tenant():
        from core.db import db

        found = call()
        found.params = {**found.params, "cutoff_policy": policy}
        db.session.commit()
    crafted(add)
    _approve.call_id = world.call_id
    _approve(login(clients, "kom1@example.org"))
    with in_tenant():
        a1 = application("A1").id
    before = len(outbox())
    login(clients, "a1@example.org").post(f"/applications/{a1}/resign", data={"confirm": "y"})
    with in_tenant():
        assert application("A1").status == "withdrawn"
        now_funded = {r: str(application(r).allocated) for r in ("A2", "A3", "A4")
                      if application(r).status == "funded"}
        assert now_funded == funded
        assert [r for r in ("A2", "A3", "A4") if application(r).status == "reserve"] == reserve
    told = {m[0].split("@")[0] for m in outbox()[before:] if "jest dofinansowany" in m[1]}
    assert told == moved
