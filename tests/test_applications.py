"""The application generator, submission with a receipt, and the applicant's dashboard (HTTP)."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

WARSAW = ZoneInfo("Europe/Warsaw")
UTC = dt.UTC


def warsaw(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=WARSAW).astimezone(UTC)


# --- setting up -------------------------------------------------------------------------

@pytest.fixture
def world(app, create_tenant, create_user):
    """Gmina A with an LPM call open for a month, Anna (an NGO's owner), Ewa (her editor),
    Piotr (another applicant) and Gmina B."""
    from core.applicants.models import ApplicantProfile, ProfileEditor
    from core.calls.models import Call
    from core.db import db, tenant_scope

    tenant_id = create_tenant("gmina-a", variants=["lpm"])
    create_tenant("gmina-b", variants=["lpm"])
    anna = create_user("anna@example.org", roles=["applicant"])
    ewa = create_user("ewa@example.org", roles=["applicant"])
    piotr = create_user("piotr@example.org", roles=["applicant"])
    create_user("anna@example.org", roles=["applicant"], tenant="gmina-b")
    today = dt.datetime.now(WARSAW).date()
    deadline_day = today + dt.timedelta(days=30)
    start = deadline_day + dt.timedelta(days=30)
    with app.app_context(), tenant_scope(tenant_id):
        profile = ApplicantProfile(
            kind="ngo", name="Stowarzyszenie Przyjaciół Lipin", legal_form="association",
            krs="0000123456", registered_on=dt.date(2015, 2, 1),
            revenue_last_year=Decimal("120000.00"), seat="Lipiny", owner_id=anna)
        piotr_profile = ApplicantProfile(
            kind="ngo", name="Klub Sportowy Orzeł", legal_form="sports_club",
            krs="0000654321", registered_on=dt.date(2010, 5, 5),
            revenue_last_year=Decimal("50000.00"), seat="Lipiny", owner_id=piotr)
        params = {
            "deadline": deadline_day.isoformat(), "pool": "38000.00", "amount_min": "1000.00",
            "amount_max": "4000.00", "young_ngo_amount_max": "5000.00",
            "young_ngo_max_age_months": 30, "young_ngo_max_revenue": "25000.00",
            "admin_max_percent": 10, "min_group_members": 3, "group_requires_patron": True,
            "eligible_gminas": ["Lipiny"], "realization_start": start.isoformat(),
            "realization_end": (start + dt.timedelta(days=180)).isoformat(),
            "stage1_max_points": 18, "stage2": True, "stage2_max_points": 12,
            "cutoff_policy": "STOP", "operator_staff": []}
        call = Call(ref="lpm-2027", title="Mikrogranty Lipiny 2027", variant="lpm",
                    status="published", params=params,
                    deadline_at=warsaw(deadline_day.year, deadline_day.month, deadline_day.day,
                                       23, 59, 59),
                    realization_start=start, realization_end=start + dt.timedelta(days=180),
                    pool=Decimal("38000.00"))
        db.session.add_all([profile, piotr_profile, call])
        db.session.flush()
        db.session.add(ProfileEditor(profile_id=profile.id, user_id=ewa))
        db.session.commit()
        return SimpleNamespace(tenant_id=tenant_id, anna=anna, ewa=ewa, piotr=piotr,
                               profile_id=profile.id, piotr_profile_id=piotr_profile.id,
                               call_id=call.id, deadline_day=deadline_day, start=start)


def _version(page: str) -> str:
    return re.search(r'name="version" id="version" value="(\d+)"', page).group(1)


def _login(clients, email):
    site = clients("gmina-a")
    site.login(email)
    return site


def _start(site, world) -> int:
    response = site.post("/calls/lpm-2027/apply", data={"profile_id": str(world.profile_id)})
    assert response.status_code == 303, response.get_data(as_text=True)
    match = re.search(r"/applications/(\d+)/applicant", response.headers["Location"])
    return int(match.group(1))


def _post_step(site, application_id, step, data, action="next", version=None):
    if version is None:
        version = _version(site.get(f"/applications/{application_id}/{step}").get_data(True))
    return site.post(f"/applications/{application_id}/{step}",
                     data={"form_step": step, "version": version, "action": action, **data})


def budget(*lines):
    data = {"budget-present": "1"}
    for n, (category, item, quantity, price) in enumerate(lines):
        data.update({f"budget-{n}-category": category, f"budget-{n}-item": item,
                     f"budget-{n}-quantity": quantity, f"budget-{n}-unit_price": price})
    return data


def _fill(site, world, application_id, admin="350", applicant=None):
    steps = {
        "applicant": applicant or {"applicant_id": str(world.profile_id), "realizer_id": "",
                                   "applicant_option": "ngo::standard"},
        "project": {"title": "Warsztaty rękodzieła w świetlicy",
                    "description": "Cykl warsztatów dla seniorów i dzieci.",
                    "beneficiaries": "Mieszkańcy Lipin", "project_type": "regional_identity",
                    "place_gmina": "Lipiny", "place_locality": "Świetlica wiejska"},
        "schedule": {"start": world.start.isoformat(),
                     "end": (world.start + dt.timedelta(days=90)).isoformat(),
                     "activities": "Warsztaty co tydzień"},
        "budget": budget(("admin", "Koordynacja", "1", admin),
                         ("materials", "Materiały plastyczne", "10", "315,00")),
        "contribution": {"contribution-present": "1", "contribution-0-kind": "volunteer",
                         "contribution-0-description": "Praca wolontariuszy",
                         "contribution-0-hours": "20", "contribution-0-rate": "30"},
    }
    for step, data in steps.items():
        response = _post_step(site, application_id, step, data)
        assert response.status_code == 303, (step, response.get_data(as_text=True)[:3000])


def _load(app, world, application_id):
    from core.applications.models import Application
    from core.db import db, tenant_scope

    with app.app_context(), tenant_scope(world.tenant_id):
        a = db.session.execute(db.select(Application).where(
            Application.id == application_id)).scalar_one()
        return SimpleNamespace(
            status=a.status, title=a.title, content=dict(a.content), place=dict(a.place),
            version=a.version, requested=a.requested, receipt_number=a.receipt_number,
            submitted_at=a.submitted_at, content_sha256=a.content_sha256,
            submitted_content=a.submitted_content, start=a.start, end=a.end,
            applicant_id=a.applicant_id,
            budget=[(b.category, b.item, b.quantity, b.unit_price, b.amount) for b in a.budget],
            contributions=[(c.kind, c.description, c.hours, c.rate, c.amount)
                           for c in a.contributions])


def _freeze(monkeypatch, instant):
    from core.applications import operations

    monkeypatch.setattr(operations, "clock", lambda: instant)


# --- the full flow ----------------------------------------------------------------------

def test_full_flow_from_call_to_receipt(app, world, clients, outbox):
    site = _login(clients, "anna@example.org")
    application_id = _start(site, world)
    page = site.get(f"/applications/{application_id}/applicant").get_data(as_text=True)
    assert 'aria-current="step"' in page and "Wnioskodawca i realizator" in page
    assert "Stowarzyszenie Przyjaciół Lipin" in page
    _fill(site, world, application_id)
    saved = _load(app, world, application_id)
    assert saved.title == "Warsztaty rękodzieła w świetlicy"
    assert saved.place == {"gmina": "Lipiny", "locality": "Świetlica wiejska"}
    assert saved.content["project_type"] == "regional_identity"
    assert saved.budget == [
        ("admin", "Koordynacja", Decimal("1.00"), Decimal("350.00"), Decimal("350.00")),
        ("materials", "Materiały plastyczne", Decimal("10.00"), Decimal("315.00"),
         Decimal("3150.00"))]
    assert saved.requested == Decimal("3500.00")
    assert saved.contributions == [("volunteer", "Praca wolontariuszy", Decimal("20.00"),
                                    Decimal("30.00"), Decimal("600.00"))]
    budget_page = site.get(f"/applications/{application_id}/budget").get_data(as_text=True)
    assert "3\u00a0500,00\u00a0zł" in budget_page and 'inputmode="decimal"' in budget_page
    summary = site.get(f"/applications/{application_id}/summary").get_data(as_text=True)
    assert "Złóż wniosek" in summary
    token = re.search(r'name="token" value="([^"]+)"', summary).group(1)
    response = site.post(f"/applications/{application_id}/submit", data={"token": token})
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    assert response.headers["Location"].endswith(f"/applications/{application_id}/receipt")
    done = _load(app, world, application_id)
    assert done.status == "submitted" and done.receipt_number == "LPM-2027/0001"
    canonical = json.dumps(done.submitted_content, sort_keys=True, ensure_ascii=False,
                           separators=(",", ":")).encode("utf-8")
    assert done.content_sha256 == hashlib.sha256(canonical).hexdigest()
    assert done.submitted_content["budget_total"] == "3500.00"
    receipt = site.get(f"/applications/{application_id}/receipt").get_data(as_text=True)
    assert "LPM-2027/0001" in receipt and done.content_sha256 in receipt
    assert "Wniosek złożony" in receipt
    mails = [m for m in outbox() if m[0] == "anna@example.org"]
    assert len(mails) == 1 and "LPM-2027/0001" in mails[0][1]
    assert done.content_sha256 in mails[0][2]
    # Locked: a submitted application's steps lead to the receipt and saving is refused.
    response = _post_step(site, application_id, "project", {"title": "Inny"}, version="1")
    assert response.status_code == 302 and _load(app, world, application_id).title == \
        "Warsztaty rękodzieła w świetlicy"
    from core.audit.models import AuditEvent
    from core.db import db, tenant_scope

    with app.app_context(), tenant_scope(world.tenant_id):
        actions = list(db.session.scalars(db.select(AuditEvent.action).where(
            AuditEvent.object_id == application_id, AuditEvent.object_type == "Application")))
    assert "application.submitted" in actions


def test_start_reopens_the_existing_draft(world, clients):
    site = _login(clients, "anna@example.org")
    first = _start(site, world)
    assert _start(site, world) == first
    page = site.get("/calls/lpm-2027/apply").get_data(as_text=True)
    assert f"/applications/{first}/applicant" in page


def test_autosave_saves_one_field_and_answers_with_a_fragment(app, world, clients):
    site = _login(clients, "anna@example.org")
    application_id = _start(site, world)
    page = site.get(f"/applications/{application_id}/project").get_data(as_text=True)
    assert f'hx-post="/applications/{application_id}/project/autosave"' in page
    version = _version(page)
    response = site.post(f"/applications/{application_id}/project/autosave",
                         data={"version": version, "form_step": "project",
                               "title": "Ogród społeczny"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert re.search(r"Zapisano \d\d:\d\d", body)
    assert f'id="version" value="{int(version) + 1}" hx-swap-oob="true"' in body
    assert "<html" not in body
    assert _load(app, world, application_id).title == "Ogród społeczny"


def test_autosave_of_the_budget_refreshes_totals_and_violations(app, world, clients):
    site = _login(clients, "anna@example.org")
    application_id = _start(site, world)
    version = _version(site.get(f"/applications/{application_id}/budget").get_data(True))
    data = {"version": version, "form_step": "budget",
            **budget(("admin", "Koordynacja", "1", "500"), ("materials", "Farby", "2", "1 500,50"))}
    body = site.post(f"/applications/{application_id}/budget/autosave", data=data,
                     headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'id="budget-total" hx-swap-oob="true">3\u00a0501,00\u00a0zł' in body
    assert 'id="budget-1-amount"' in body and "3\u00a0001,00\u00a0zł" in body
    assert "Koszty obsługi projektu mogą wynieść najwyżej 10% dotacji" in body
    assert 'id="step-violations"' in body
    saved = _load(app, world, application_id)
    assert saved.requested == Decimal("3501.00")


# --- two editors --------------------------------------------------------------------------

def test_second_writer_gets_a_conflict_and_nothing_is_lost(app, world, clients):
    anna = _login(clients, "anna@example.org")
    application_id = _start(anna, world)
    _post_step(anna, application_id, "project", {"title": "Pierwszy tytuł",
                                                  "description": "Opis"})
    ewa = clients("gmina-a")
    ewa.login("ewa@example.org")
    # Both open the project step at the same version.
    page_anna = anna.get(f"/applications/{application_id}/project").get_data(as_text=True)
    page_ewa = ewa.get(f"/applications/{application_id}/project").get_data(as_text=True)
    base = _version(page_anna)
    assert _version(page_ewa) == base
    first = anna.post(f"/applications/{application_id}/project/autosave", data={
        "version": base, "form_step": "project", "title": "Tytuł Anny", "description": "Opis"},
        headers={"HX-Request": "true"})
    assert "Zapisano" in first.get_data(as_text=True)
    second = ewa.post(f"/applications/{application_id}/project/autosave", data={
        "version": base, "form_step": "project", "title": "Pierwszy tytuł",
        "description": "Opis Ewy"}, headers={"HX-Request": "true"})
    body = second.get_data(as_text=True)
    assert "Ktoś inny zapisał ten wniosek" in body
    assert "Tytuł Anny" in body and "anna@example.org" in body
    saved = _load(app, world, application_id)
    assert saved.title == "Tytuł Anny" and saved.content["description"] == "Opis"
    # Without JavaScript: the page shows both, with Anna's title taken in and Ewa's text kept.
    response = ewa.post(f"/applications/{application_id}/project", data={
        "version": base, "form_step": "project", "title": "Pierwszy tytuł",
        "description": "Opis Ewy", "action": "next"})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert 'value="Tytuł Anny"' in page and "Opis Ewy" in page
    new_version = _version(page)
    assert new_version == str(saved.version)
    assert _load(app, world, application_id).title == "Tytuł Anny"
    # Saving the merged form keeps both changes.
    response = ewa.post(f"/applications/{application_id}/project", data={
        "version": new_version, "form_step": "project", "title": "Tytuł Anny",
        "description": "Opis Ewy", "action": "stay"})
    assert response.status_code == 303
    final = _load(app, world, application_id)
    assert final.title == "Tytuł Anny" and final.content["description"] == "Opis Ewy"


def test_save_step_refuses_a_stale_version(app, world):
    from core.accounts.models import User
    from core.applications import operations
    from core.applications.models import Application
    from core.calls.models import Call
    from core.db import db, tenant_scope

    with app.test_request_context(), tenant_scope(world.tenant_id):
        anna = db.session.get(User, world.anna)
        ewa = db.session.get(User, world.ewa)
        call = db.session.execute(db.select(Call)).scalar_one()
        application = operations.start_draft(call, anna)
        assert application.reopened is False
        db.session.commit()
        base = application.version
        operations.save_step(application, "budget", budget(("materials", "Farby", "1", "100")),
                             base, anna)
        db.session.commit()
        with pytest.raises(operations.Conflict) as caught:
            operations.save_step(application, "budget", budget(("food", "Obiad", "1", "50")),
                                 base, ewa)
        db.session.rollback()
        item = caught.value.items[0]
        assert item.field == "budget" and "Farby" in item.theirs and "Obiad" in item.yours
        fresh = db.session.execute(db.select(Application)).scalar_one()
        assert [(b.category, b.item) for b in fresh.budget] == [("materials", "Farby")]
        assert caught.value.changes["budget"][0].startswith("Farby")
        # Anna's own autosave racing her "save" button (same base, same values) is no
        # conflict: nothing of anyone's would be lost.
        result = operations.save_step(fresh, "budget", budget(("materials", "Farby", "1", "100")),
                                      base, anna)
        assert result.errors == {} and result.changes == {}


# --- submission ---------------------------------------------------------------------------

def test_submit_is_idempotent(app, world, clients, outbox):
    site = _login(clients, "anna@example.org")
    application_id = _start(site, world)
    _fill(site, world, application_id)
    summary = site.get(f"/applications/{application_id}/summary").get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', summary).group(1)
    first = site.post(f"/applications/{application_id}/submit", data={"token": token})
    second = site.post(f"/applications/{application_id}/submit", data={"token": token})
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    saved = _load(app, world, application_id)
    assert saved.receipt_number == "LPM-2027/0001"
    assert len([m for m in outbox() if "LPM-2027/0001" in m[1]]) == 1
    # The operation itself: the same token (or another) gives the same receipt.
    from core.accounts.models import User
    from core.applications import operations
    from core.applications.models import Application
    from core.db import db, tenant_scope

    with app.test_request_context(), tenant_scope(world.tenant_id):
        application = db.session.execute(db.select(Application)).scalar_one()
        again = operations.submit(application, db.session.get(User, world.anna), token)
        assert again.receipt_number == "LPM-2027/0001" and again.version == saved.version


@pytest.mark.parametrize("when, accepted", [((23, 59, 59), True), ((24, 0, 0), False)])
def test_deadline_to_the_second_in_warsaw(app, world, clients, monkeypatch, when, accepted):
    site = _login(clients, "anna@example.org")
    application_id = _start(site, world)
    _fill(site, world, application_id)
    day = world.deadline_day
    hours, minutes, seconds = when
    instant = warsaw(day.year, day.month, day.day, 0, 0, 0) + dt.timedelta(
        hours=hours, minutes=minutes, seconds=seconds)
    _freeze(monkeypatch, instant)
    response = site.post(f"/applications/{application_id}/submit", data={"token": "t1"})
    saved = _load(app, world, application_id)
    if accepted:
        assert response.status_code == 303
        assert saved.status == "submitted" and saved.submitted_at == instant
    else:
        assert response.status_code == 422
        body = response.get_data(as_text=True)
        assert "Nabór wniosków zakończył się" in body and "23:59:59" in body
        assert saved.status == "draft" and saved.title == "Warsztaty rękodzieła w świetlicy"
        assert len(saved.budget) == 2


def test_formal_violation_blocks_submission_with_the_polish_message(app, world, clients):
    site = _login(clients, "anna@example.org")
    application_id = _start(site, world)
    _fill(site, world, application_id, admin="600")
    budget_page = site.get(f"/applications/{application_id}/budget").get_data(as_text=True)
    assert "Koszty obsługi projektu mogą wynieść najwyżej 10% dotacji" in budget_page
    response = site.post(f"/applications/{application_id}/submit", data={"token": "x"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Wniosek nie może zostać złożony" in body
    assert "Koszty obsługi projektu mogą wynieść najwyżej 10% dotacji" in body
    assert _load(app, world, application_id).status == "draft"


def test_incomplete_draft_cannot_be_submitted(app, world, clients):
    site = _login(clients, "anna@example.org")
    application_id = _start(site, world)
    response = site.post(f"/applications/{application_id}/submit", data={"token": "x"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Tytuł projektu: uzupełnij przed złożeniem wniosku." in body
    assert "Dodaj do budżetu co najmniej jedną pozycję." in body


# --- bad input ----------------------------------------------------------------------------

def test_bad_budget_input_gives_errors_and_keeps_the_rest(app, world, clients):
    site = _login(clients, "anna@example.org")
    application_id = _start(site, world)
    _fill(site, world, application_id)
    before = _load(app, world, application_id)
    page = site.get(f"/applications/{application_id}/budget").get_data(as_text=True)
    ids = re.findall(r'name="budget-(\d+)-id" id="budget-\d+-id" value="(\d+)"', page)
    data = budget(("admin", "Koordynacja", "-3", "350"), ("materials", "Materiały", "10", "abc"),
                  ("food", "Poczęstunek", "2", "25,50"))
    for n, line_id in ids:
        data[f"budget-{n}-id"] = line_id
    response = _post_step(site, application_id, "budget", data)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Ilość nie może być ujemna." in body
    assert "Podaj kwotę jako liczbę, np. 350 albo 350,00." in body
    assert 'value="-3"' in body and 'value="abc"' in body  # what was typed comes back
    saved = _load(app, world, application_id)
    # The bad cells keep their saved values; the new line is saved.
    assert saved.budget[0][:4] == before.budget[0][:4]
    assert saved.budget[1][3] == Decimal("315.00") and saved.budget[1][1] == "Materiały"
    assert saved.budget[2] == ("food", "Poczęstunek", Decimal("2.00"), Decimal("25.50"),
                               Decimal("51.00"))


def test_ten_thousand_budget_lines_are_refused(app, world, clients):
    site = _login(clients, "anna@example.org")
    application_id = _start(site, world)
    _fill(site, world, application_id)
    lines = [("materials", f"Pozycja {n}", "1", "1") for n in range(10_000)]
    response = _post_step(site, application_id, "budget", budget(*lines))
    assert response.status_code == 422
    assert "Budżet może mieć najwyżej 200 pozycji" in response.get_data(as_text=True)
    assert len(_load(app, world, application_id).budget) == 2


def test_huge_description_is_refused_and_the_rest_saved(app, world, clients):
    site = _login(clients, "anna@example.org")
    application_id = _start(site, world)
    _fill(site, world, application_id)
    huge = "x" * (5 * 1024 * 1024)
    response = _post_step(site, application_id, "project", {
        "title": "Nowy tytuł", "description": huge, "project_type": "events",
        "place_gmina": "Lipiny"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Najwyżej 10\u00a0000 znaków" in body
    saved = _load(app, world, application_id)
    assert saved.content["description"] == "Cykl warsztatów dla seniorów i dzieci."
    assert saved.title == "Nowy tytuł"


def test_forged_step_and_bad_values_never_give_a_server_error(app, world, clients):
    site = _login(clients, "anna@example.org")
    application_id = _start(site, world)
    assert site.get(f"/applications/{application_id}/../../etc").status_code == 404
    assert site.get(f"/applications/{application_id}/admin").status_code == 404
    assert site.post(f"/applications/{application_id}/admin", data={}).status_code == 404
    assert site.post(f"/applications/{application_id}/summary/autosave",
                     data={}).status_code == 404
    response = _post_step(site, application_id, "schedule", {"start": "31.02.2027",
                                                             "end": "zaraz"})
    assert response.status_code == 422
    assert "Podaj datę" in response.get_data(as_text=True)
    response = _post_step(site, application_id, "applicant",
                          {"applicant_id": str(world.piotr_profile_id)})
    assert response.status_code == 422
    assert _load(app, world, application_id).applicant_id == world.profile_id
    response = site.post(f"/applications/{application_id}/budget",
                         data={"version": "nonsense", "budget-0-category": "alcohol<script>",
                               "budget-0-item": "x", "budget-0-unit_price": "1e9"})
    assert response.status_code in (409, 422)


# --- receipt, withdrawal, access ------------------------------------------------------------

def _submitted(site, world):
    application_id = _start(site, world)
    _fill(site, world, application_id)
    response = site.post(f"/applications/{application_id}/submit", data={"token": "tok"})
    assert response.status_code == 303
    return application_id


def test_receipt_pdf_downloads(app, world, clients):
    site = _login(clients, "anna@example.org")
    application_id = _submitted(site, world)
    response = site.get(f"/applications/{application_id}/receipt.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    pdf = response.get_data()
    assert pdf.startswith(b"%PDF") and len(pdf) > 5000
    saved = _load(app, world, application_id)
    try:
        from pypdf import PdfReader
    except ImportError:  # the PDF keeps the checksum in its metadata, uncompressed
        assert saved.content_sha256.encode() in pdf
        assert b"LPM-2027/0001" in pdf
    else:  # pragma: no cover - when pypdf is installed
        import io

        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
        assert saved.content_sha256 in text.replace("\n", "")


def test_receipt_html_of_the_pdf_has_everything(app, world, clients):
    site = _login(clients, "anna@example.org")
    _submitted(site, world)
    from core.applications.models import Application
    from core.applications.receipt import receipt_data, render_receipt_html
    from core.db import db, tenant_scope
    from core.tenancy.models import Tenant

    with app.test_request_context(), tenant_scope(world.tenant_id):
        application = db.session.execute(db.select(Application)).scalar_one()
        data = receipt_data(application, db.session.get(Tenant, world.tenant_id))
        json.dumps(data)  # a job can take it as its argument
        html = render_receipt_html(data, "pl")
    assert "Gmina-A" in html and "Mikrogranty Lipiny 2027" in html
    assert application.content_sha256 in html and "LPM-2027/0001" in html
    assert "Materiały plastyczne" in html and "3\u00a0150,00\u00a0zł" in html
    assert "Stowarzyszenie Przyjaciół Lipin" in html
    submitted = application.submitted_at.astimezone(WARSAW).strftime("%H:%M:%S")
    assert submitted in html


def test_withdraw_before_results(app, world, clients):
    site = _login(clients, "anna@example.org")
    application_id = _submitted(site, world)
    page = site.get(f"/applications/{application_id}/withdraw").get_data(as_text=True)
    assert "Wycofaj wniosek" in page
    response = site.post(f"/applications/{application_id}/withdraw")
    assert response.status_code == 303
    saved = _load(app, world, application_id)
    assert saved.status == "withdrawn" and saved.receipt_number == "LPM-2027/0001"
    dashboard = site.get("/applications").get_data(as_text=True)
    assert "wycofany" in dashboard


def test_withdraw_refused_after_results(app, world, clients):
    from core.calls.models import Call
    from core.db import db, tenant_scope

    site = _login(clients, "anna@example.org")
    application_id = _submitted(site, world)
    with app.app_context(), tenant_scope(world.tenant_id):
        call = db.session.execute(db.select(Call)).scalar_one()
        call.timeline = {"results": "2020-01-01"}
        db.session.commit()
    assert "Wycofaj wniosek" not in site.get(
        f"/applications/{application_id}/receipt").get_data(as_text=True)
    site.post(f"/applications/{application_id}/withdraw")
    assert _load(app, world, application_id).status == "submitted"


def test_editor_of_the_profile_may_open_the_draft_but_others_get_404(app, world, clients):
    anna = _login(clients, "anna@example.org")
    application_id = _start(anna, world)
    ewa = clients("gmina-a")
    ewa.login("ewa@example.org")
    assert ewa.get(f"/applications/{application_id}/project").status_code == 200
    piotr = clients("gmina-a")
    piotr.login("piotr@example.org")
    for path in ("project", "summary", "receipt", "receipt.pdf", "withdraw"):
        assert piotr.get(f"/applications/{application_id}/{path}").status_code == 404, path
    assert piotr.post(f"/applications/{application_id}/project/autosave",
                      data={"title": "x"}).status_code == 404
    assert piotr.post(f"/applications/{application_id}/submit").status_code == 404
    # Anna in another municipality: not found there either.
    other = clients("gmina-b")
    other.login("anna@example.org")
    assert other.get(f"/applications/{application_id}/project").status_code == 404
    # Not logged in: sent to log in.
    assert clients("gmina-a").get("/applications").status_code == 302


def test_dashboard_lists_drafts_submitted_and_deadlines(app, world, clients):
    site = _login(clients, "anna@example.org")
    submitted_id = _submitted(site, world)
    from core.applications.models import Application
    from core.db import db, tenant_scope

    with app.app_context(), tenant_scope(world.tenant_id):
        # A second draft of the same profile in the same call (e.g. started before).
        db.session.add(Application(call_id=world.call_id, applicant_id=world.profile_id,
                                   created_by_id=world.anna, title="Szkic na później",
                                   tenant_id=world.tenant_id))
        db.session.commit()
    page = site.get("/applications").get_data(as_text=True)
    assert "Moje wnioski" in page
    assert "Szkic na później" in page
    assert "LPM-2027/0001" in page and f"/applications/{submitted_id}/receipt.pdf" in page
    assert "złożony" in page
    assert "Otwarte nabory" in page and "Mikrogranty Lipiny 2027" in page
    day = world.deadline_day
    assert f"{day.day} " in page and "23:59" in page
    home = site.get("/").get_data(as_text=True)
    assert 'href="/applications"' in home


def test_pages_work_in_ukrainian_too(app, world, clients):
    site = _login(clients, "anna@example.org")
    application_id = _start(site, world)
    site.post("/language", data={"locale": "uk"})
    page = site.get(f"/applications/{application_id}/budget").get_data(as_text=True)
    assert "Бюджет" in page


def test_submit_and_withdraw_fire_application_state_changed(app, app_config, world):
    from conftest import BASE, HostClient

    from core import create_app
    from core.plugins.toolkit import hookimpl

    class Spy:
        def __init__(self):
            self.changes = []

        @hookimpl
        def application_state_changed(self, application, old, new, actor):
            self.changes.append((application.receipt_number, old, new, actor.email))

    spy = Spy()
    site = HostClient(create_app(app_config, plugins={"spy": spy}), f"gmina-a.{BASE}")
    site.login("anna@example.org")
    application_id = _submitted(site, world)
    site.post(f"/applications/{application_id}/submit", data={"token": "tok"})  # a retry
    site.post(f"/applications/{application_id}/withdraw")
    assert spy.changes == [("LPM-2027/0001", "draft", "submitted", "anna@example.org"),
                           ("LPM-2027/0001", "submitted", "withdrawn", "anna@example.org")]


# --- a first-timer's journey (found by walking the demo on a phone) ---------------------

@pytest.fixture
def patronised_group(app, world, create_user):
    """Zofia's informal group of three adults, under the wing of Piotr's sports club."""
    from core.applicants.models import ApplicantProfile, Person, ProfileMember
    from core.db import db, tenant_scope, utcnow

    zofia = create_user("zofia@example.org", roles=["applicant"])
    with app.app_context(), tenant_scope(world.tenant_id):
        people = [Person(name=name, birth_date=born) for name, born in (
            ("Zofia Lipińska", dt.date(1970, 3, 1)), ("Adam Lipiński", dt.date(1968, 7, 9)),
            ("Ola Lipińska", dt.date(1999, 1, 20)))]
        group = ApplicantProfile(kind="group", name="Sąsiedzi z Lipin", owner_id=zofia,
                                 patron_id=world.piotr_profile_id, patron_confirmed_at=utcnow())
        group.members = [ProfileMember(person=person, role="member") for person in people]
        db.session.add(group)
        db.session.flush()
        group.representative_id = people[0].id
        db.session.commit()
        return SimpleNamespace(zofia=zofia, group_id=group.id)


def test_a_group_applies_through_its_patron_and_the_patron_is_told(
        app, world, patronised_group, clients, outbox):
    """The group's own person picks the group's confirmed patron as the applicant (nobody
    else's organisation), submits, and the patron's owner gets the receipt too."""
    zofia = _login(clients, "zofia@example.org")
    response = zofia.post("/calls/lpm-2027/apply",
                          data={"profile_id": str(patronised_group.group_id)})
    application_id = int(re.search(r"/applications/(\d+)/", response.headers["Location"])[1])
    page = zofia.get(f"/applications/{application_id}/applicant").get_data(as_text=True)
    applicants = re.search(r'<select[^>]* id="applicant_id".*?</select>', page, re.S).group(0)
    assert "Klub Sportowy Orzeł" in applicants and "Sąsiedzi z Lipin" in applicants
    assert "Stowarzyszenie Przyjaciół Lipin" not in page  # not her patron
    assert f'href="/profiles/{patronised_group.group_id}">Sąsiedzi z Lipin</a>' in page
    _fill(zofia, world, application_id, applicant={
        "applicant_id": str(world.piotr_profile_id),
        "realizer_id": str(patronised_group.group_id), "applicant_option": "ngo:group:standard"})
    saved = _load(app, world, application_id)
    assert saved.applicant_id == world.piotr_profile_id
    summary = zofia.get(f"/applications/{application_id}/summary").get_data(as_text=True)
    assert "Blokuje złożenie" not in summary, summary
    assert zofia.post(f"/applications/{application_id}/submit",
                      data={"token": "t"}).status_code == 303
    receipts = {m[0]: m[2] for m in outbox() if "Wniosek przyjęty" in m[1]}
    assert set(receipts) == {"zofia@example.org", "piotr@example.org"}
    assert "Złożyła go osoba z adresem zofia@example.org" in receipts["piotr@example.org"]
    assert "Złożyła go" not in receipts["zofia@example.org"]
    piotr = _login(clients, "piotr@example.org")
    assert "LPM-2027/0001" in piotr.get("/applications").get_data(as_text=True)
    # The patron, applying for its group, finds the group among the realizers.
    response = piotr.post("/calls/lpm-2027/apply",
                          data={"profile_id": str(world.piotr_profile_id)})
    other_id = int(re.search(r"/applications/(\d+)/", response.headers["Location"])[1])
    page = piotr.get(f"/applications/{other_id}/applicant").get_data(as_text=True)
    realizers = re.search(r'<select[^>]* id="realizer_id".*?</select>', page, re.S).group(0)
    assert "Sąsiedzi z Lipin" in realizers
    # Anna, neither the group's nor the club's, still finds nothing.
    anna = _login(clients, "anna@example.org")
    assert anna.get(f"/applications/{application_id}/receipt").status_code == 404


def test_the_project_step_shows_core_fields_first_and_lists_start_blank(app, world, clients):
    site = _login(clients, "anna@example.org")
    application_id = _start(site, world)
    page = site.get(f"/applications/{application_id}/project").get_data(as_text=True)
    order = [page.index(f'name="{name}"') for name in (
        "title", "description", "beneficiaries", "place_gmina", "place_locality",
        "project_type")]
    assert order == sorted(order)
    for name in ("place_gmina", "project_type"):
        select = re.search(rf'<select[^>]* id="{name}".*?</select>', page, re.S).group(0)
        assert '<option value="">— wybierz —</option>' in select and "selected" not in select


def test_enter_in_a_field_saves_instead_of_removing_the_first_line(app, world, clients):
    site = _login(clients, "anna@example.org")
    application_id = _start(site, world)
    _post_step(site, application_id, "budget", budget(("materials", "Farby", "2", "50")),
               action="stay")
    page = site.get(f"/applications/{application_id}/budget").get_data(as_text=True)
    form = page[page.index('id="step-form"'):]
    first = re.search(r'<button type="submit"[^>]*>', form).group(0)
    assert 'value="stay"' in first and 'tabindex="-1"' in first
    assert form.index(first) < form.index('value="remove-budget-0"')


def test_the_summary_shows_everything_that_was_typed(app, world, clients):
    site = _login(clients, "anna@example.org")
    application_id = _start(site, world)
    _fill(site, world, application_id)
    page = html_text(site.get(f"/applications/{application_id}/summary"))
    for typed in ("Jak składasz wniosek?", "Mieszkańcy Lipin", "Świetlica wiejska",
                  "Rozwój społeczności lokalnej i tożsamość regionalna", "Warsztaty co tydzień",
                  "Praca wolontariuszy", "praca wolontariuszy", "600,00"):
        assert typed in page, typed


def test_an_autosave_refreshes_the_counts_in_the_steps(app, world, clients):
    site = _login(clients, "anna@example.org")
    application_id = _start(site, world)
    page = site.get(f"/applications/{application_id}/schedule").get_data(as_text=True)
    assert re.search(r"Harmonogram</a> <span class=\"badge\">", page)
    body = site.post(f"/applications/{application_id}/schedule/autosave", data={
        "version": _version(page), "form_step": "schedule",
        "start": world.start.isoformat(),
        "end": (world.start + dt.timedelta(days=30)).isoformat()},
        headers={"HX-Request": "true"}).get_data(as_text=True)
    nav = re.search(r'<nav class="steps" id="steps-nav".*?</nav>', body, re.S).group(0)
    assert 'hx-swap-oob="true"' in nav
    assert not re.search(r"Harmonogram</a> <span class=\"badge\">", nav)
    assert re.search(r"Opis projektu</a> <span class=\"badge\">", nav)


def test_your_own_earlier_save_is_not_called_someone_elses(app, world, clients):
    site = _login(clients, "anna@example.org")
    application_id = _start(site, world)
    base = _version(site.get(f"/applications/{application_id}/project").get_data(as_text=True))
    _post_step(site, application_id, "project", {"title": "Z drugiego okna"}, version=base)
    response = _post_step(site, application_id, "project", {"title": "Z pierwszego okna"},
                          version=base)
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "W międzyczasie ten wniosek został zapisany przez ciebie" in body
    assert "Ktoś inny" not in body and "Z pierwszego okna" in body


def html_text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def test_a_save_writes_everything_itself_so_a_race_is_caught_there(app, world, clients):
    """Nothing is left for the view's commit: a concurrent save of the same row (an autosave
    racing the Enter key) is caught inside save_step and retried, never a 500 at commit."""
    from werkzeug.datastructures import MultiDict

    from core.accounts.models import User
    from core.applications import operations
    from core.applications.models import Application
    from core.db import db, tenant_scope

    site = _login(clients, "anna@example.org")
    application_id = _start(site, world)
    _post_step(site, application_id, "budget", budget(("materials", "Farby", "2", "50")),
               action="stay")
    with app.test_request_context(base_url="https://gmina-a.example.test"), \
            tenant_scope(world.tenant_id):
        application = db.session.execute(db.select(Application).where(
            Application.id == application_id)).scalar_one()
        line_id = application.budget[0].id
        posted = MultiDict({"form_step": "budget", "budget-present": "1",
                            "budget-0-id": str(line_id), "budget-0-category": "materials",
                            "budget-0-item": "Farby", "budget-0-quantity": "2",
                            "budget-0-unit_price": "50"})
        operations.save_step(application, "budget", posted, str(application.version),
                             db.session.get(User, world.anna))
        assert not db.session.dirty and not db.session.new
        db.session.rollback()


def test_a_race_caught_while_the_applicant_step_looks_up_a_profile_is_retried(app, world,
                                                                           clients):
    """Choosing the applicant looks the profile up, which flushes what the step changed so
    far; when an autosave won the race for the row meanwhile, that flush fails.  It is a
    race like any other: retried and judged again, never a 500."""
    import sqlalchemy as sa
    from werkzeug.datastructures import MultiDict

    from core.accounts.models import User
    from core.applications import operations
    from core.applications.models import Application
    from core.db import db, tenant_scope

    site = _login(clients, "anna@example.org")
    application_id = _start(site, world)
    with app.test_request_context(base_url="https://gmina-a.example.test"), \
            tenant_scope(world.tenant_id):
        application = db.session.execute(db.select(Application).where(
            Application.id == application_id)).scalar_one()
        base = application.version
        options = operations.form_choices(application, db.session.get(User, world.anna))
        option = options["applicant_options"][-1][0]
        # The other request's save, committed after this one loaded the application.
        db.session.execute(sa.text("UPDATE application SET version = version + 1 "
                                   "WHERE id = :id AND application.tenant_id = :tenant"),
                           {"id": application_id, "tenant": world.tenant_id})
        posted = MultiDict({"form_step": "applicant", "applicant_option": option,
                            "applicant_id": str(world.profile_id), "realizer_id": ""})
        try:
            result = operations.save_step(application, "applicant", posted, str(base),
                                          db.session.get(User, world.anna))
        except operations.Conflict:
            pass  # judged again against the newer version: a conflict page, not a 500
        else:
            assert result.version == base + 2
        db.session.rollback()
