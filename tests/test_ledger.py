"""The operator-paid ledger: where the operator buys for a funded project instead of
transferring the grant (the DL Initiative, Wrocław's co-organised projects).

Opening the ledger from the budget, recording purchases within each line and within the
grant (to the grosz), cancelling, duplicate invoices, invoice dates, the staff's and the
group's pages, isolation between municipalities, the audit trail, concurrent staff, and
the ``payment_mode`` hook that decides which projects have a ledger at all.
"""
from __future__ import annotations

import datetime as dt
import re
import threading
from decimal import Decimal
from types import SimpleNamespace

import pluggy
import pytest

from conftest import HostClient, is_postgres

UTC = dt.UTC
TODAY = dt.datetime(2027, 10, 15, 10, 0, tzinfo=UTC)   # the clock of these tests
START, END = dt.date(2027, 6, 1), dt.date(2027, 9, 30)
# (category, item, amount): 1 800,00 zł in three lines.
BUDGET = (("materials", "Materiały plastyczne", "1000.00"), ("rental", "Wynajem sali", "500.00"),
          ("food", "", "300.00"))


def plain(text: str) -> str:
    """Page text with the non-breaking spaces of money (``1 000,00 zł``) as plain spaces."""
    return re.sub(r"[\u00a0\u202f]", " ", text)


@pytest.fixture(autouse=True)
def _clock(monkeypatch):
    from core.payments import operations

    monkeypatch.setattr(operations, "clock", lambda: TODAY)


@pytest.fixture
def world(app, create_tenant, create_user):
    """Gmina A with a DL call whose projects the operator pays (the call's parameter
    ``payment_mode``) and an ordinary call with transfers; Anna's group; staff; Gmina B."""
    from core.applicants.models import ApplicantProfile
    from core.calls.models import Call
    from core.db import db, tenant_scope

    tenant_id = create_tenant("gmina-a", variants=["lpm"], name="Gmina Lipiny")
    create_tenant("gmina-b", variants=["lpm"], name="Gmina B")
    w = SimpleNamespace(tenant_id=tenant_id, counter=0)
    w.admin = create_user("admin@example.org", roles=["admin"])
    w.anna = create_user("anna@example.org", roles=["applicant"])
    w.jan = create_user("jan@example.org", roles=["applicant"])
    w.committee = create_user("kom@example.org", roles=["committee"])
    create_user("admin-b@example.org", roles=["admin"], tenant="gmina-b")
    create_user("operator@example.org", platform_role="operator_staff")
    with app.app_context(), tenant_scope(tenant_id):
        closed = dict(status="closed", deadline_at=dt.datetime(2027, 3, 31, 21, 59, 59,
                                                               tzinfo=UTC))
        paid = Call(ref="dl-2027", title="Działaj Lokalnie 2027", variant="lpm",
                    params={"pool": "10000.00", "payment_mode": "operator_paid",
                            "stage2": False, "cutoff_policy": "STOP"},
                    pool=Decimal("10000.00"), **closed)
        transfer = Call(ref="lpm-2027", title="Mikrogranty 2027", variant="lpm",
                        params={"pool": "10000.00"}, pool=Decimal("10000.00"), **closed)
        group = ApplicantProfile(kind="group", name="Sąsiedzi z Lipowej", owner_id=w.anna)
        db.session.add_all([paid, transfer, group])
        db.session.commit()
        w.paid_call, w.transfer_call, w.group = paid.id, transfer.id, group.id
    return w


@pytest.fixture
def project(app, world):
    """A project of Anna's group: ``project(allocated="1500.00", call="transfer")``."""
    from core.applications.models import Application, BudgetLine
    from core.db import db, tenant_scope

    def factory(allocated="1800.00", call="paid", status="funded", mode="standard",
                budget=BUDGET, start=START, end=END):
        world.counter += 1
        with app.app_context(), tenant_scope(world.tenant_id):
            application = Application(
                call_id=world.paid_call if call == "paid" else world.transfer_call,
                ref=f"P{world.counter}", title=f"Podwórko nr {world.counter}",
                applicant_id=world.group, created_by_id=world.anna, status=status, mode=mode,
                requested=sum((Decimal(a) for _, _, a in budget), Decimal("0.00")),
                allocated=Decimal(allocated) if allocated is not None else None,
                start=start, end=end, submitted_at=dt.datetime(2027, 3, 20, tzinfo=UTC),
                receipt_number=f"DL-2027/{world.counter:04d}")
            application.budget = [BudgetLine(position=n, category=c, item=i, amount=Decimal(a))
                                  for n, (c, i, a) in enumerate(budget)]
            db.session.add(application)
            db.session.commit()
            return application.id

    return factory


def signed_in(clients, email, slug="gmina-a"):
    site = clients(slug)
    site.login(email)
    return site


@pytest.fixture
def staff(clients, world):
    return signed_in(clients, "admin@example.org")


def ledger_lines(app, world, application_id) -> list:
    from core.db import db, tenant_scope
    from core.payments.models import LedgerLine

    with app.app_context(), tenant_scope(world.tenant_id):
        return [SimpleNamespace(id=line.id, position=line.position, category=line.category,
                                item=line.item, planned=line.planned)
                for line in db.session.scalars(db.select(LedgerLine).where(
                    LedgerLine.application_id == application_id).order_by(LedgerLine.position))]


def totals(app, world, application_id):
    from core.applications.models import Application
    from core.db import db, tenant_scope
    from core.payments import operations

    with app.app_context(), tenant_scope(world.tenant_id):
        application = db.session.execute(db.select(Application).where(
            Application.id == application_id)).scalar_one()
        found = operations.totals(application)
        return SimpleNamespace(
            grant=found.grant, planned=found.planned, spent=found.spent,
            remaining=found.remaining,
            lines=[(t.line.position, t.planned, t.spent, t.remaining) for t in found.lines])


def purchase(site, application_id, line, amount, number="FV 1/2027", supplier="Hurtownia Pod Lipą",
             date="2027-07-01", **more):
    return site.post(f"/payments/{application_id}/purchases", data={
        "line": str(line), "supplier": supplier, "invoice_number": number,
        "invoice_date": date, "amount": amount, "note": "", **more})


def opened(app, world, staff, application_id) -> list:
    assert staff.get(f"/payments/{application_id}").status_code == 200
    return ledger_lines(app, world, application_id)


def audit_events(app, world, prefix="ledger."):
    from core.audit.models import AuditEvent
    from core.db import db, tenant_scope

    with app.app_context(), tenant_scope(world.tenant_id):
        return [(e.action, e.object_type, e.object_id, e.actor_id, e.changes)
                for e in db.session.scalars(db.select(AuditEvent).where(
                    AuditEvent.action.startswith(prefix)).order_by(AuditEvent.id))]


# --- opening the ledger ------------------------------------------------------------------------

def test_the_ledger_opens_from_the_budget_on_the_first_look(app, world, project, staff):
    application_id = project()
    assert ledger_lines(app, world, application_id) == []
    page = staff.get(f"/payments/{application_id}")
    assert page.status_code == 200
    lines = ledger_lines(app, world, application_id)
    assert [(x.position, x.category, x.item, x.planned) for x in lines] == [
        (1, "materials", "Materiały plastyczne", Decimal("1000.00")),
        (2, "rental", "Wynajem sali", Decimal("500.00")),
        (3, "food", "", Decimal("300.00"))]
    text = plain(page.get_data(as_text=True))
    assert "Materiały plastyczne" in text and "Wynajem sali" in text
    assert "1 800,00 zł" in text          # the grant, in Polish
    # Opened once: looking again adds nothing.
    staff.get(f"/payments/{application_id}")
    assert len(ledger_lines(app, world, application_id)) == 3
    opened_events = [e for e in audit_events(app, world) if e[0] == "ledger.opened"]
    assert len(opened_events) == 1
    assert opened_events[0][4]["grant"] == "1800.00" and opened_events[0][4]["lines"] == 3
    assert opened_events[0][3] == world.admin


def test_the_list_shows_each_operator_paid_project_with_grant_spent_and_left(app, world, project,
                                                                             staff):
    paid = project()
    lower = project(allocated="1500.00")
    transferred = project(call="transfer")
    reserve = project(status="reserve", allocated=None)
    line = opened(app, world, staff, paid)[0]
    assert purchase(staff, paid, line.id, "250,50").status_code == 303
    page = staff.get("/payments/")
    assert page.status_code == 200
    text = plain(page.get_data(as_text=True))
    assert f"/payments/{paid}" in text and f"/payments/{lower}" in text
    assert f"/payments/{transferred}" not in text and f"/payments/{reserve}" not in text
    for amount in ("1 800,00 zł", "250,50 zł", "1 549,50 zł", "1 500,00 zł",
                   "3 300,00 zł", "3 049,50 zł"):   # grant, spent, left; and together
        assert amount in text, amount
    # The staff's menu leads there.
    assert 'href="/payments/"' in staff.get("/").get_data(as_text=True)
    assert "Zakupy dla grup" in text


def test_a_project_paid_by_transfer_has_no_ledger(app, world, project, staff, clients):
    application_id = project(call="transfer")
    page = staff.get(f"/payments/{application_id}")
    assert page.status_code == 404
    assert "przekazywana" in page.get_data(as_text=True)   # "the grant is transferred"
    assert staff.get(f"/payments/{application_id}").status_code == 404
    assert purchase(staff, application_id, 1, "10,00").status_code == 404
    anna = signed_in(clients, "anna@example.org")
    assert anna.get(f"/applications/{application_id}/ledger").status_code == 404
    assert ledger_lines(app, world, application_id) == []
    # Nor a project that is not funded, even in a call the operator pays.
    reserve = project(status="reserve", allocated=None)
    page = staff.get(f"/payments/{reserve}")
    assert page.status_code == 404
    assert "dofinansowany" in page.get_data(as_text=True)


# --- recording purchases -----------------------------------------------------------------------

def test_purchases_are_recorded_and_the_totals_are_exact(app, world, project, staff):
    application_id = project()
    materials, rental, food = opened(app, world, staff, application_id)
    assert purchase(staff, application_id, materials.id, "333,33", "FV 1").status_code == 303
    assert purchase(staff, application_id, materials.id, "0,01", "FV 2").status_code == 303
    assert purchase(staff, application_id, rental.id, "500", "FV 3").status_code == 303
    response = purchase(staff, application_id, food.id, "199,99 zł", "FV 4")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/payments/{application_id}#purchases")
    found = totals(app, world, application_id)
    assert found.lines == [
        (1, Decimal("1000.00"), Decimal("333.34"), Decimal("666.66")),
        (2, Decimal("500.00"), Decimal("500.00"), Decimal("0.00")),
        (3, Decimal("300.00"), Decimal("199.99"), Decimal("100.01"))]
    assert (found.spent, found.remaining) == (Decimal("1033.33"), Decimal("766.67"))
    page = plain(staff.get(f"/payments/{application_id}").get_data(as_text=True))
    for amount in ("333,34 zł", "666,66 zł", "1 033,33 zł", "766,67 zł", "100,01 zł"):
        assert amount in page, amount


def test_a_line_takes_exactly_what_is_left_and_not_one_grosz_more(app, world, project, staff):
    application_id = project()
    materials = opened(app, world, staff, application_id)[0]
    assert purchase(staff, application_id, materials.id, "880,00", "FV 1").status_code == 303
    refused = purchase(staff, application_id, materials.id, "120,01", "FV 2")
    assert refused.status_code == 422
    text = plain(refused.get_data(as_text=True))
    assert ("Na pozycję „Materiały plastyczne” zostało 120,00 zł; zakup na 120,01 zł "
            "przekracza ją o 0,01 zł.") in text
    assert 'id="amount-error"' in text
    assert totals(app, world, application_id).spent == Decimal("880.00")
    assert purchase(staff, application_id, materials.id, "120,00", "FV 2").status_code == 303
    found = totals(app, world, application_id)
    assert found.lines[0][2:] == (Decimal("1000.00"), Decimal("0.00"))
    # A line with nothing left refuses even a grosz.
    refused = purchase(staff, application_id, materials.id, "0,01", "FV 3")
    assert "zostało 0,00 zł; zakup na 0,01 zł przekracza ją o 0,01 zł" in plain(
        refused.get_data(as_text=True))


def test_the_grant_caps_the_ledger_when_the_committee_granted_less(app, world, project, staff):
    # The budget is 1 800,00 zł, the grant 1 500,00 zł: the lines keep their amounts.
    application_id = project(allocated="1500.00")
    materials, rental, food = opened(app, world, staff, application_id)
    page = plain(staff.get(f"/payments/{application_id}").get_data(as_text=True))
    assert "jest niższa niż budżet" in page
    assert purchase(staff, application_id, materials.id, "1000,00", "FV 1").status_code == 303
    assert purchase(staff, application_id, rental.id, "400,00", "FV 2").status_code == 303
    # 100,00 zł is left on the rental line, but only 100,00 zł of the grant: 100,01 fails
    # on the grant only, and food's 300,00 zł fails on the grant too.
    refused = purchase(staff, application_id, food.id, "100,01", "FV 3")
    assert refused.status_code == 422
    text = plain(refused.get_data(as_text=True))
    assert ("Z dotacji w wysokości 1 500,00 zł zostało 100,00 zł; zakup na 100,01 zł "
            "przekracza ją o 0,01 zł.") in text
    assert "Na pozycję" not in text
    assert purchase(staff, application_id, food.id, "100,00", "FV 3").status_code == 303
    found = totals(app, world, application_id)
    assert (found.grant, found.planned, found.spent, found.remaining) == (
        Decimal("1500.00"), Decimal("1800.00"), Decimal("1500.00"), Decimal("0.00"))


def test_the_grant_is_the_award_after_a_real_approval(app, world, staff):
    """Through the committee's decisions: an award lower than the request is accepted, the
    final list approved, and the ledger's cap is the award."""
    from core.applications.models import Application, BudgetLine
    from core.calls.models import Call
    from core.db import db, tenant_scope
    from core.evaluation import decisions
    from core.evaluation.models import Award

    with app.app_context(), tenant_scope(world.tenant_id):
        application = Application(
            call_id=world.paid_call, ref="A1", title="Ławki na skwerze", mode="dl_initiative",
            applicant_id=world.group, created_by_id=world.anna, status="ranked",
            requested=Decimal("1800.00"), start=START, end=END, stage1_score=Decimal("20"),
            final_score=Decimal("20"), submitted_at=dt.datetime(2027, 3, 20, tzinfo=UTC),
            receipt_number="DL-2027/0100")
        application.budget = [BudgetLine(position=n, category=c, item=i, amount=Decimal(a))
                              for n, (c, i, a) in enumerate(BUDGET)]
        db.session.add(application)
        db.session.flush()
        db.session.add(Award(application_id=application.id, amount=Decimal("1200.00"),
                             status="accepted"))
        db.session.commit()
        call = db.session.execute(db.select(Call).where(Call.id == world.paid_call)).scalar_one()
        decisions.approve_final_list(call, None)
        db.session.commit()
        application_id = application.id
        assert (application.status, application.allocated) == ("funded", Decimal("1200.00"))
    materials, rental, _ = opened(app, world, staff, application_id)
    assert purchase(staff, application_id, materials.id, "1000,00", "FV 1").status_code == 303
    refused = purchase(staff, application_id, rental.id, "200,01", "FV 2")
    assert ("Z dotacji w wysokości 1 200,00 zł zostało 200,00 zł; zakup na 200,01 zł "
            "przekracza ją o 0,01 zł.") in plain(refused.get_data(as_text=True))
    assert totals(app, world, application_id).grant == Decimal("1200.00")


def test_a_cancelled_purchase_stays_listed_and_no_longer_counts(app, world, project, staff):
    application_id = project()
    materials, rental, _ = opened(app, world, staff, application_id)
    purchase(staff, application_id, materials.id, "100,10", "FV 1")
    purchase(staff, application_id, materials.id, "200,20", "FV 2")
    purchase(staff, application_id, rental.id, "300,30", "FV 3")
    purchase_id = _purchase_id(app, world, "FV 2")
    # Without a reason nothing is cancelled; the message stands by the field.
    refused = staff.post(f"/payments/purchases/{purchase_id}/cancel",
                         data={f"cancel-{purchase_id}-reason": "  "})
    assert refused.status_code == 422
    assert f'id="cancel-{purchase_id}-reason-error"' in refused.get_data(as_text=True)
    assert totals(app, world, application_id).spent == Decimal("600.60")
    done = staff.post(f"/payments/purchases/{purchase_id}/cancel",
                      data={f"cancel-{purchase_id}-reason": "Wpisana dwa razy"})
    assert done.status_code == 303
    found = totals(app, world, application_id)
    assert found.lines[0][2:] == (Decimal("100.10"), Decimal("899.90"))
    assert (found.spent, found.remaining) == (Decimal("400.40"), Decimal("1399.60"))
    page = staff.get(f"/payments/{application_id}").get_data(as_text=True)
    assert "FV 2" in page and "Wpisana dwa razy" in page and "Anulowany" in page
    # Cancelled once only.
    again = staff.post(f"/payments/purchases/{purchase_id}/cancel",
                       data={f"cancel-{purchase_id}-reason": "Jeszcze raz"})
    assert again.status_code == 422
    assert totals(app, world, application_id).spent == Decimal("400.40")
    # The purchase is still there: cancelled, never deleted.
    from core.db import db, tenant_scope
    from core.payments.models import Purchase

    with app.app_context(), tenant_scope(world.tenant_id):
        row = db.session.execute(db.select(Purchase).where(Purchase.id == purchase_id)).scalar_one()
        assert row.cancelled_at is not None and row.cancel_reason == "Wpisana dwa razy"
        assert row.cancelled_by_id == world.admin and row.amount == Decimal("200.20")


def _purchase_id(app, world, number):
    from core.db import db, tenant_scope
    from core.payments.models import Purchase

    with app.app_context(), tenant_scope(world.tenant_id):
        return db.session.execute(db.select(Purchase.id).where(
            Purchase.invoice_number == number)).scalar_one()


def test_the_same_invoice_is_not_recorded_twice_on_one_project(app, world, project, staff):
    application_id = project()
    other = project()
    materials, rental, _ = opened(app, world, staff, application_id)
    assert purchase(staff, application_id, materials.id, "100,00", "FV 12/2027",
                    supplier="Hurtownia Pod Lipą").status_code == 303
    # The same supplier and number, written differently, on another line: refused.
    refused = purchase(staff, application_id, rental.id, "50,00", "fv12/2027",
                       supplier="hurtownia  pod lipą")
    assert refused.status_code == 422
    text = plain(refused.get_data(as_text=True))
    assert "Faktura FV 12/2027 (dostawca: Hurtownia Pod Lipą) jest już zapisana" in text
    assert 'id="invoice_number-error"' in text
    # Another supplier's invoice with that number is another invoice.
    assert purchase(staff, application_id, rental.id, "50,00", "FV 12/2027",
                    supplier="Drukarnia Lipiny").status_code == 303
    # Another project may carry its own invoice of that number.
    other_line = opened(app, world, staff, other)[0]
    assert purchase(staff, other, other_line.id, "100,00", "FV 12/2027").status_code == 303
    # Once the first is cancelled, the corrected entry may be made.
    first = _purchase_ids(app, world, application_id)[0]
    staff.post(f"/payments/purchases/{first}/cancel",
               data={f"cancel-{first}-reason": "Zła pozycja"})
    assert purchase(staff, application_id, rental.id, "100,00", "FV 12/2027").status_code == 303


def _purchase_ids(app, world, application_id):
    from core.db import db, tenant_scope
    from core.payments.models import Purchase

    with app.app_context(), tenant_scope(world.tenant_id):
        return list(db.session.scalars(db.select(Purchase.id).where(
            Purchase.application_id == application_id).order_by(Purchase.id)))


def test_bad_input_comes_back_with_every_message_by_its_field_and_nothing_lost(app, world,
                                                                             project, staff):
    application_id = project()
    materials = opened(app, world, staff, application_id)[0]
    refused = staff.post(f"/payments/{application_id}/purchases", data={
        "line": "", "supplier": "Sklep „Pod Lipą”", "invoice_number": "",
        "invoice_date": "31.02.2027", "amount": "12,345", "note": "Farby i pędzle"})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    for name in ("line", "invoice_number", "invoice_date", "amount"):
        assert f'id="{name}-error"' in text, name
    assert 'value="Sklep „Pod Lipą”"' in text and 'value="31.02.2027"' in text
    assert 'value="12,345"' in text and "Farby i pędzle</textarea>" in text
    assert 'type="number"' not in text        # "12,345" is not lost in a browser
    assert "Wybierz pozycję budżetu" in text
    # Zero and negative amounts.
    for amount in ("0", "-5,00"):
        refused = purchase(staff, application_id, materials.id, amount)
        assert refused.status_code == 422
        assert "Kwota musi być większa od zera." in refused.get_data(as_text=True)
    assert totals(app, world, application_id).spent == Decimal("0.00")


def test_invoice_dates_in_the_future_are_refused_and_far_ones_confirmed(app, world, project,
                                                                       staff):
    # Today is 15 October 2027; the project ran from 1 June to 30 September.
    application_id = project()
    materials = opened(app, world, staff, application_id)[0]
    future = purchase(staff, application_id, materials.id, "10,00", "FV 1", date="2027-10-16")
    assert future.status_code == 422
    assert "Data faktury nie może być z przyszłości" in future.get_data(as_text=True)
    assert 'name="confirm_date"' not in future.get_data(as_text=True)
    assert purchase(staff, application_id, materials.id, "10,00", "FV 2",
                    date="2027-10-15").status_code == 303        # today, after the end
    assert purchase(staff, application_id, materials.id, "10,00", "FV 3",
                    date="2027-06-01").status_code == 303        # the first day
    early = purchase(staff, application_id, materials.id, "10,00", "FV 4", date="2027-05-31")
    assert early.status_code == 422
    text = early.get_data(as_text=True)
    assert "poza okresem realizacji projektu" in text and 'id="invoice_date-error"' in text
    assert 'name="confirm_date"' in text                         # the box to confirm it
    confirmed = purchase(staff, application_id, materials.id, "10,00", "FV 4",
                         date="2027-05-31", confirm_date="y")
    assert confirmed.status_code == 303
    recorded = [e[4] for e in audit_events(app, world) if e[0] == "ledger.purchase_recorded"]
    assert [e["outside_period"] for e in recorded] == [False, False, True]


def test_the_last_invoices_may_come_thirty_days_after_the_end(app, world, project, staff,
                                                             monkeypatch):
    from core.payments import operations

    monkeypatch.setattr(operations, "clock", lambda: dt.datetime(2027, 12, 1, 10, tzinfo=UTC))
    application_id = project()
    materials = opened(app, world, staff, application_id)[0]
    assert purchase(staff, application_id, materials.id, "10,00", "FV 1",
                    date="2027-10-30").status_code == 303       # end + 30 days
    late = purchase(staff, application_id, materials.id, "10,00", "FV 2", date="2027-10-31")
    assert late.status_code == 422
    assert "do 30 października 2027" in late.get_data(as_text=True)


# --- who sees what -----------------------------------------------------------------------------

def test_the_group_sees_its_ledger_read_only(app, world, project, staff, clients):
    application_id = project()
    materials = opened(app, world, staff, application_id)[0]
    purchase(staff, application_id, materials.id, "123,45", "FV 7/2027")
    anna = signed_in(clients, "anna@example.org")
    page = anna.get(f"/applications/{application_id}/ledger")
    assert page.status_code == 200
    text = plain(page.get_data(as_text=True))
    assert "FV 7/2027" in text and "123,45 zł" in text and "876,55 zł" in text
    assert "<form" not in text.split('id="main"')[1]       # nothing to post
    assert "admin@example.org" not in text                  # staff are not named to the group
    # The group cannot post: not as staff, not on its own page.
    assert purchase(anna, application_id, materials.id, "1,00", "FV 8").status_code == 403
    purchase_id = _purchase_ids(app, world, application_id)[0]
    assert anna.post(f"/payments/purchases/{purchase_id}/cancel",
                     data={f"cancel-{purchase_id}-reason": "x"}).status_code == 403
    assert anna.post(f"/applications/{application_id}/ledger").status_code in (404, 405)
    assert anna.get("/payments/").status_code == 403
    assert anna.get(f"/payments/{application_id}").status_code == 403
    assert totals(app, world, application_id).spent == Decimal("123.45")
    # Someone outside the group does not find it.
    jan = signed_in(clients, "jan@example.org")
    assert jan.get(f"/applications/{application_id}/ledger").status_code == 404
    assert clients("gmina-a").get(f"/applications/{application_id}/ledger").status_code == 302


def test_the_results_page_links_the_group_to_its_ledger(app, world, project, clients):
    from flask import render_template_string

    from core.applications.models import Application
    from core.db import db, tenant_scope

    paid, transferred = project(), project(call="transfer")
    with app.test_request_context(base_url="https://gmina-a.mikrogranty.test"), \
            tenant_scope(world.tenant_id):
        found = {a.id: a for a in db.session.scalars(db.select(Application))}
        link = render_template_string("{{ ledger_link(a) }}", a=found[paid])
        assert f'href="/applications/{paid}/ledger"' in link
        assert render_template_string("{{ ledger_link(a) }}", a=found[transferred]) == ""


def test_staff_of_another_municipality_get_404(app, world, project, staff, clients):
    application_id = project()
    materials = opened(app, world, staff, application_id)[0]
    purchase(staff, application_id, materials.id, "10,00", "FV 1")
    purchase_id = _purchase_ids(app, world, application_id)[0]
    admin_b = signed_in(clients, "admin-b@example.org", "gmina-b")
    for response in (admin_b.get(f"/payments/{application_id}"),
                     purchase(admin_b, application_id, materials.id, "1,00", "FV 9"),
                     admin_b.post(f"/payments/purchases/{purchase_id}/cancel",
                                  data={f"cancel-{purchase_id}-reason": "x"}),
                     admin_b.get(f"/applications/{application_id}/ledger")):
        assert response.status_code == 404
        assert "Podwórko" not in response.get_data(as_text=True)
    assert "Podwórko" not in admin_b.get("/payments/").get_data(as_text=True)
    # On A's own site B's administrator holds no role: refused, and nothing written.
    on_a = signed_in(clients, "admin-b@example.org")
    assert purchase(on_a, application_id, materials.id, "1,00", "FV 9").status_code == 403
    assert totals(app, world, application_id).spent == Decimal("10.00")
    # Operator staff reach every municipality.
    operator = signed_in(clients, "operator@example.org")
    assert operator.get(f"/payments/{application_id}").status_code == 200


def test_every_purchase_and_cancellation_is_audited(app, world, project, staff):
    application_id = project()
    materials = opened(app, world, staff, application_id)[0]
    purchase(staff, application_id, materials.id, "250,00", "FV 1")
    purchase_id = _purchase_ids(app, world, application_id)[0]
    purchase(staff, application_id, materials.id, "5000,00", "FV 2")        # refused
    staff.post(f"/payments/purchases/{purchase_id}/cancel",
               data={f"cancel-{purchase_id}-reason": "Błędna kwota"})
    events = audit_events(app, world)
    assert [e[0] for e in events] == ["ledger.opened", "ledger.purchase_recorded",
                                      "ledger.purchase_cancelled"]
    _, kind, object_id, actor, changes = events[1]
    assert (kind, object_id, actor) == ("Purchase", purchase_id, world.admin)
    assert changes["amount"] == "250.00" and changes["invoice_number"] == "FV 1"
    assert changes["line_remaining"] == ["1000.00", "750.00"]
    assert changes["grant_remaining"] == ["1800.00", "1550.00"]
    assert "Hurtownia" not in str(changes)      # a supplier may be a person: by id only
    _, kind, object_id, actor, changes = events[2]
    assert (kind, object_id, actor) == ("Purchase", purchase_id, world.admin)
    assert changes["reason"] == "Błędna kwota" and changes["amount"] == "250.00"


def test_a_purchase_is_refused_once_the_project_is_no_longer_funded(app, world, project, staff):
    from core.applications.models import Application
    from core.db import db, tenant_scope

    application_id = project()
    materials = opened(app, world, staff, application_id)[0]
    purchase(staff, application_id, materials.id, "99,99", "FV 1")
    with app.app_context(), tenant_scope(world.tenant_id):
        application = db.session.execute(db.select(Application).where(
            Application.id == application_id)).scalar_one()
        application.status = "withdrawn"
        db.session.commit()
    page = staff.get(f"/payments/{application_id}")
    assert page.status_code == 200                         # what was bought stays on record
    text = page.get_data(as_text=True)
    assert "FV 1" in text and 'name="supplier"' not in text
    refused = purchase(staff, application_id, materials.id, "1,00", "FV 2")
    assert refused.status_code == 422
    assert totals(app, world, application_id).spent == Decimal("99.99")
    assert f"/payments/{application_id}" in staff.get("/payments/").get_data(as_text=True)


# --- the operation itself ----------------------------------------------------------------------

def test_the_operation_refuses_floats_and_fractions_of_a_grosz(app, world, project, staff):
    from core.applications.models import Application
    from core.db import db, tenant_scope
    from core.payments import operations

    application_id = project()
    materials = opened(app, world, staff, application_id)[0]
    with app.app_context(), tenant_scope(world.tenant_id):
        application = db.session.execute(db.select(Application).where(
            Application.id == application_id)).scalar_one()
        values = dict(line_id=materials.id, supplier="Sklep", invoice_number="1",
                      invoice_date=dt.date(2027, 7, 1))
        with pytest.raises(TypeError):
            operations.record_purchase(application, amount=10.5, **values)
        with pytest.raises(operations.PurchaseRefused) as refused:
            operations.record_purchase(application, amount=Decimal("10.005"), **values)
        assert set(refused.value.errors) == {"amount"}
        db.session.rollback()
        with pytest.raises(operations.PurchaseRefused) as refused:
            operations.record_purchase(application, amount=Decimal("10.00"),
                                       **{**values, "supplier": " ", "invoice_number": ""})
        assert set(refused.value.errors) == {"supplier", "invoice_number"}
        db.session.rollback()
        done = operations.record_purchase(application, amount=Decimal("10.00"), actor=world.admin,
                                          **values)
        db.session.commit()
        assert done.amount == Decimal("10.00") and done.recorded_by_id == world.admin


def test_two_staff_recording_at_once_cannot_overspend(app, world, project, staff):
    """The first holds the ledger's lock while the second tries: the second waits, then sees
    the first purchase and is refused, instead of both fitting the same 600,00 zł."""
    from core.applications.models import Application
    from core.db import db, tenant_scope
    from core.payments import operations

    application_id = project()
    materials = opened(app, world, staff, application_id)[0]
    holding, results = threading.Event(), {}

    def record(name, number, hold):
        with app.app_context(), tenant_scope(world.tenant_id):
            application = db.session.execute(db.select(Application).where(
                Application.id == application_id)).scalar_one()
            try:
                operations.record_purchase(
                    application, line_id=materials.id, supplier="Sklep", invoice_number=number,
                    invoice_date=dt.date(2027, 7, 1), amount=Decimal("600.00"), actor=world.admin)
                if hold:
                    holding.set()
                    threading.Event().wait(0.5)   # the other one is waiting for the lock now
                db.session.commit()
                results[name] = "recorded"
            except operations.PurchaseRefused as exc:
                db.session.rollback()
                results[name] = " ".join(str(m) for m in exc.errors.get("amount", []))
            finally:
                holding.set()
                db.session.remove()

    first = threading.Thread(target=record, args=("first", "FV 1", True))
    first.start()
    assert holding.wait(10)
    second = threading.Thread(target=record, args=("second", "FV 2", False))
    second.start()
    first.join(20)
    second.join(20)
    assert results["first"] == "recorded"
    assert "400,00" in plain(results["second"]), results
    assert totals(app, world, application_id).spent == Decimal("600.00")


def test_the_row_lock_is_taken_on_postgresql(app, world, project, staff):
    """On PostgreSQL the ledger's row is locked with SELECT … FOR UPDATE."""
    from conftest import need_service

    need_service("PostgreSQL", is_postgres(), "the row lock is PostgreSQL's")
    import sqlalchemy as sa

    from core.applications.models import Application
    from core.db import db, tenant_scope
    from core.payments import operations

    application_id = project()
    materials = opened(app, world, staff, application_id)[0]
    statements = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context(), tenant_scope(world.tenant_id):
        engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", listener)
        try:
            application = db.session.execute(db.select(Application).where(
                Application.id == application_id)).scalar_one()
            operations.record_purchase(
                application, line_id=materials.id, supplier="Sklep", invoice_number="1",
                invoice_date=dt.date(2027, 7, 1), amount=Decimal("1.00"), actor=world.admin)
            db.session.rollback()
        finally:
            sa.event.remove(engine, "before_cursor_execute", listener)
    assert any("FROM ledger" in s and "FOR UPDATE" in s for s in statements)


# --- payment_mode: which projects have a ledger ----------------------------------------------

hookimpl = pluggy.HookimplMarker("mikrogranty")   # as core.plugins.toolkit.hookimpl


class PerApplicationMode:
    """A variant that has the operator pay for DL Initiatives and transfers the rest."""

    @hookimpl
    def payment_mode(self, call, application):
        if application is not None and application.mode == "dl_initiative":
            return "operator_paid"
        return None   # not ours to say: the call's parameter, or core's transfer


def test_payment_mode_is_transfer_by_default_and_the_calls_parameter_otherwise(app, world,
                                                                              project):
    from core.applications.models import Application
    from core.db import db, tenant_scope
    from core.plugins.toolkit import PAYMENT_MODES, payment_mode_of

    assert PAYMENT_MODES == ("transfer", "operator_paid")
    paid, transferred = project(), project(call="transfer")
    with app.app_context(), tenant_scope(world.tenant_id):
        found = {a.id: a for a in db.session.scalars(db.select(Application))}
        pm = app.extensions["mikrogranty.plugins"]
        assert payment_mode_of(found[transferred]) == "transfer"
        assert payment_mode_of(found[paid]) == "operator_paid"
        assert pm.hook.payment_mode(call=found[transferred].call,
                                    application=found[transferred]) == "transfer"
        # A value that is not a mode is not taken from the call: transfer.
        call = found[transferred].call
        call.params = {**call.params, "payment_mode": "cash"}
        assert payment_mode_of(found[transferred]) == "transfer"
        db.session.rollback()


def test_a_plugin_decides_the_payment_mode_per_application_mode(app_config, world, project):
    from core import create_app
    from core.applications.models import Application
    from core.db import db, tenant_scope
    from core.plugins.toolkit import payment_mode_of

    initiative = project(call="transfer", mode="dl_initiative")
    standard = project(call="transfer")
    variant = create_app(app_config, plugins={"per_mode": PerApplicationMode()})
    with variant.app_context(), tenant_scope(world.tenant_id):
        found = {a.id: a for a in db.session.scalars(db.select(Application))}
        assert payment_mode_of(found[initiative]) == "operator_paid"
        assert payment_mode_of(found[standard]) == "transfer"
    site = HostClient(variant, "gmina-a.mikrogranty.test")
    site.login("admin@example.org")
    assert site.get(f"/payments/{initiative}").status_code == 200
    assert site.get(f"/payments/{standard}").status_code == 404
    listed = site.get("/payments/").get_data(as_text=True)
    assert f"/payments/{initiative}" in listed and f"/payments/{standard}" not in listed


def test_a_payment_mode_that_is_not_a_mode_is_an_error(app_config, world, project):
    from core import create_app
    from core.applications.models import Application
    from core.db import db, tenant_scope
    from core.plugins.toolkit import payment_mode_of

    class Wrong:
        @hookimpl
        def payment_mode(self, call, application):
            return "cash"

    application_id = project()
    variant = create_app(app_config, plugins={"wrong": Wrong()})
    with variant.app_context(), tenant_scope(world.tenant_id):
        application = db.session.execute(db.select(Application).where(
            Application.id == application_id)).scalar_one()
        with pytest.raises(ValueError, match="cash"):
            payment_mode_of(application)
