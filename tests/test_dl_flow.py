"""Działaj Lokalnie over HTTP, in a municipality set up like the demo's Równiny Wołomińskie:
the demo opens its call, a group applies as a DL Initiative through the generator, an
organisation sees its required contribution live while it types, one applying for a group
records its power of attorney, and the committee's lower awards are accepted or declined
(declining frees the money for the reserve) in the one-stage evaluation."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

WARSAW = ZoneInfo("Europe/Warsaw")
UTC = dt.UTC
GMINAS = ["Brańszczyk", "Długosiodło", "Jadów", "Klembów", "Poświętne", "Rząśnik", "Sadowne",
          "Strachówka", "Tłuszcz", "Wołomin", "Wyszków", "Zabrodzie"]
SLUG = "rowniny-wolominskie"


def warsaw(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=WARSAW).astimezone(UTC)


@pytest.fixture
def tenant_id(create_tenant):
    """The demo's Działaj Lokalnie area (tenants/rowniny-wolominskie/tenant.toml)."""
    return create_tenant(SLUG, name="Działaj Lokalnie – Równiny Wołomińskie",
                         variants=["dzialaj_lokalnie"],
                         settings={"defaults": {"dzialaj_lokalnie": {
                             "pool": "55000.00", "eligible_gminas": GMINAS}}})


def in_tenant(app, tenant_id):
    import contextlib

    from core.db import tenant_scope

    @contextlib.contextmanager
    def scope():
        with app.app_context(), tenant_scope(tenant_id):
            yield

    return scope()


# --- the demo ---------------------------------------------------------------------------

def test_the_demo_opens_a_dl_call_with_its_rules(app, tenant_id, clients):
    from core.calls.models import Call
    from core.db import db

    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    with in_tenant(app, tenant_id):
        call = db.session.scalars(db.select(Call)).one()
        assert call.status == "published" and call.variant == "dzialaj_lokalnie"
        assert call.pool == Decimal("55000.00")
        assert call.params["cutoff_policy"] == "SKIP_TO_FIT"
    page = clients(SLUG).get(f"/calls/{call.ref}").get_data(as_text=True).replace("\xa0", " ")
    assert "Inicjatywa DL" in page and "Pula środków na dotacje wynosi 55 000,00 zł." in page
    assert "co najmniej 25% dotacji" in page and "Lokalna Komisja Grantowa" in page


# --- the generator ----------------------------------------------------------------------

@pytest.fixture
def world(app, tenant_id, create_user):
    """An open call with the DL defaults (deadline in a month, a window of seven months
    after it), Grażyna (a group's representative), Olga (an association from Tłuszcz that
    is the patron of a second group) and Ilona (a public library)."""
    from core.applicants.models import ApplicantProfile, Person, ProfileMember
    from core.calls import operations as calls
    from core.db import db

    grazyna = create_user("grazyna@example.org", roles=["applicant"], tenant=SLUG)
    olga = create_user("olga@example.org", roles=["applicant"], tenant=SLUG)
    ilona = create_user("ilona@example.org", roles=["applicant"], tenant=SLUG)
    today = dt.datetime.now(WARSAW).date()
    deadline = today + dt.timedelta(days=30)
    start = (deadline + dt.timedelta(days=40)).replace(day=1)
    end = (start + dt.timedelta(days=215)).replace(day=1) - dt.timedelta(days=1)

    def group(name, owner, names):
        people = [Person(name=n, birth_date=dt.date(1970 + i, 3, 1)) for i, n in enumerate(names)]
        profile = ApplicantProfile(kind="group", name=name, owner_id=owner,
                                   representative=people[0])
        profile.members = [ProfileMember(person=p, role="member") for p in people]
        return profile

    with in_tenant(app, tenant_id):
        from core.tenancy.models import Tenant

        tenant = db.session.get(Tenant, tenant_id)
        params = {**app.extensions["mikrogranty.plugins"].hook.default_params(
            variant="dzialaj_lokalnie"), "eligible_gminas": GMINAS}
        call = calls.create_call(tenant, {
            "title": "Działaj Lokalnie 2027", "ref": "dl-2027", "variant": "dzialaj_lokalnie",
            "params": params, "deadline": deadline, "realization_start": start,
            "realization_end": end})
        calls.publish_call(call)
        kronikarze = group("Kronikarze Jadowa", grazyna,
                           ["Grażyna Lis", "Henryk Sobczak", "Jadwiga Kurek"])
        association = ApplicantProfile(
            kind="ngo", name="Stowarzyszenie Razem dla Tłuszcza", legal_form="association",
            krs="0000356812", registered_on=dt.date(2010, 6, 22),
            revenue_last_year=Decimal("48700.00"), seat="Tłuszcz", owner_id=olga)
        muralisci = group("Muraliści", olga, ["Natalia Jakubowska", "Filip Sadowski",
                                              "Julia Bąk"])
        muralisci.patron = association
        muralisci.patron_confirmed_at = warsaw(2026, 1, 5, 10)
        library = ApplicantProfile(kind="public_institution",
                                   name="Gminna Biblioteka Publiczna w Jadowie", seat="Jadów",
                                   owner_id=ilona)
        db.session.add_all([kronikarze, association, muralisci, library])
        db.session.commit()
        return SimpleNamespace(call_id=call.id, start=start, end=end,
                               group_id=kronikarze.id, association_id=association.id,
                               muralisci_id=muralisci.id, library_id=library.id)


def _version(page: str) -> str:
    return re.search(r'name="version" id="version" value="(\d+)"', page).group(1)


def _login(clients, email):
    site = clients(SLUG)
    site.login(email)
    return site


def _start(site, profile_id) -> int:
    response = site.post("/calls/dl-2027/apply", data={"profile_id": str(profile_id)})
    assert response.status_code == 303, response.get_data(as_text=True)
    return int(re.search(r"/applications/(\d+)/applicant", response.headers["Location"]).group(1))


def _post(site, application_id, step, data, action="next"):
    version = _version(site.get(f"/applications/{application_id}/{step}").get_data(True))
    response = site.post(f"/applications/{application_id}/{step}",
                         data={"form_step": step, "version": version, "action": action, **data})
    assert response.status_code == 303, (step, response.get_data(as_text=True)[:3000])
    return response


def _autosave(site, application_id, step, data):
    version = _version(site.get(f"/applications/{application_id}/{step}").get_data(True))
    response = site.post(f"/applications/{application_id}/{step}/autosave",
                         data={"version": version, **data}, headers={"HX-Request": "true"})
    assert response.status_code == 200, response.get_data(as_text=True)[:3000]
    return response.get_data(as_text=True).replace("\xa0", " ")


def budget(*lines):
    data = {"budget-present": "1"}
    for n, (category, item, quantity, price) in enumerate(lines):
        data.update({f"budget-{n}-category": category, f"budget-{n}-item": item,
                     f"budget-{n}-quantity": quantity, f"budget-{n}-unit_price": price})
    return data


def project(**changes):
    return {"title": "Kronika Jadowa – archiwum wspomnień",
            "description": "Zbieramy stare zdjęcia i wspomnienia mieszkańców.",
            "beneficiaries": "Mieszkańcy Jadowa, seniorzy i młodzież",
            "place_gmina": "Jadów", "place_locality": "Jadów, świetlica",
            "place_population": "2 300",
            "common_good": "Wspólna pamięć wsi znika razem z najstarszymi mieszkańcami.",
            "partners": "Gminna biblioteka użyczy sali, szkoła pomoże w promocji.",
            "volunteers": "Dziesięcioro wolontariuszy skanuje zdjęcia i nagrywa rozmowy.",
            "continuation": "Archiwum zostanie w bibliotece i będzie uzupełniane.", **changes}


def _submit(site, application_id):
    summary = site.get(f"/applications/{application_id}/summary").get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', summary).group(1)
    return site.post(f"/applications/{application_id}/submit", data={"token": token})


def _load(app, tenant_id, application_id):
    from core.applications.models import Application
    from core.db import db

    with in_tenant(app, tenant_id):
        a = db.session.get(Application, application_id)
        return SimpleNamespace(status=a.status, mode=a.mode, place=dict(a.place),
                               content=dict(a.content), requested=a.requested,
                               receipt_number=a.receipt_number, rules=list(a.rules or []))


def test_a_group_applies_as_a_dl_initiative(app, tenant_id, world, clients, outbox):
    site = _login(clients, "grazyna@example.org")
    application_id = _start(site, world.group_id)
    page = site.get(f"/applications/{application_id}/applicant").get_data(as_text=True)
    assert "samodzielnie jako Inicjatywa DL" in page
    _post(site, application_id, "applicant", {"applicant_option": "group::dl_initiative",
                                              "applicant_id": str(world.group_id),
                                              "realizer_id": ""})
    form = site.get(f"/applications/{application_id}/project").get_data(as_text=True)
    assert "Na jaką potrzebę Waszej społeczności odpowiada projekt" in form
    assert '<option value="Jadów">Jadów</option>' in form
    assert "puli dla dużych miejscowości" in form
    _post(site, application_id, "project", project())
    _post(site, application_id, "schedule", {
        "start": world.start.isoformat(),
        "end": (world.start + dt.timedelta(days=95)).isoformat(),
        "activities": "Zbiórka zdjęć, nagrania, wieczór wspomnień"})
    _post(site, application_id, "budget", budget(("equipment", "Skaner do zdjęć", "1", "900"),
                                                 ("printing", "Druk albumu", "1", "2300")))
    contribution = site.get(f"/applications/{application_id}/contribution").get_data(True)
    # No fixed share for a DL Initiative: no minimums, but the help says what counts.
    assert "Wymagany wkład własny" not in contribution
    assert "Inicjatywa DL wnosi tyle, ile odpowiada projektowi" in contribution
    _post(site, application_id, "contribution", {
        "contribution-present": "1", "contribution-0-kind": "volunteer",
        "contribution-0-description": "Praca wolontariuszy przy skanowaniu",
        "contribution-0-hours": "40", "contribution-0-rate": "10",
        "contribution_plan": "Wolontariusze i sąsiedzi, bez wkładu finansowego."})
    response = _submit(site, application_id)
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    saved = _load(app, tenant_id, application_id)
    assert saved.status == "submitted" and saved.mode == "dl_initiative"
    assert saved.receipt_number == "DL-2027/0001" and saved.requested == Decimal("3200.00")
    assert saved.place == {"gmina": "Jadów", "locality": "Jadów, świetlica", "population": 2300}
    assert saved.content["common_good"].startswith("Wspólna pamięć")
    assert saved.content["contribution_plan"].startswith("Wolontariusze")
    assert [m for m in outbox() if m[0] == "grazyna@example.org" and "DL-2027/0001" in m[1]]


def test_a_dl_initiative_may_not_buy_fixed_assets_in_the_generator(app, tenant_id, world,
                                                                   clients):
    from core.applications.models import Application, BudgetLine
    from core.db import db

    site = _login(clients, "grazyna@example.org")
    application_id = _start(site, world.group_id)
    _post(site, application_id, "applicant", {"applicant_option": "group::dl_initiative",
                                              "applicant_id": str(world.group_id)})
    with in_tenant(app, tenant_id):
        a = db.session.get(Application, application_id)
        a.budget = [BudgetLine(category="fixed_assets", item="Laptop", quantity=Decimal(1),
                               unit_price=Decimal("3000.00"), amount=Decimal("3000.00"))]
        a.requested = Decimal("3000.00")
        db.session.commit()
    page = site.get(f"/applications/{application_id}/summary").get_data(as_text=True)
    assert 'data-rule="budget.ineligible_cost"' in page and "Laptop" in page


def test_the_required_contribution_appears_live_for_a_standard_application(
        app, tenant_id, world, clients):
    site = _login(clients, "olga@example.org")
    application_id = _start(site, world.association_id)
    _post(site, application_id, "applicant", {"applicant_option": "ngo::standard",
                                              "applicant_id": str(world.association_id),
                                              "realizer_id": ""})
    _post(site, application_id, "budget", budget(("fees", "Prowadzący", "1", "2000"),
                                                 ("materials", "Materiały", "4", "500")))
    page = site.get(f"/applications/{application_id}/budget").get_data(as_text=True)
    page = page.replace("\xa0", " ")
    assert 'id="contribution-minimums"' in page and "Wymagany wkład własny" in page
    assert "Wkład własny łącznie: 25% dotacji" in page and "co najmniej 1 000,00 zł" in page
    assert "W tym finansowy: 5% dotacji" in page and "co najmniej 200,00 zł" in page
    # The amount changes: the autosave sends the minimums again, computed anew.
    fragment = _autosave(site, application_id, "budget",
                         budget(("fees", "Prowadzący", "1", "2000"),
                                ("materials", "Materiały", "4", "750")))
    assert 'id="contribution-minimums" class="contribution-minimums" hx-swap-oob="true"' \
        in fragment
    assert "co najmniej 1 250,00 zł" in fragment and "co najmniej 250,00 zł" in fragment
    assert "Wyliczony od wnioskowanej kwoty dotacji: 5 000,00 zł." in fragment
    # The contribution step: what is given against each minimum, refreshed on autosave.
    step = site.get(f"/applications/{application_id}/contribution").get_data(as_text=True)
    step = step.replace("\xa0", " ")
    assert "(wpisano 0,00 zł: brakuje 1 250,00 zł)" in step
    assert "(wpisano 0,00 zł: brakuje 250,00 zł)" in step
    assert "nie dotychczasowy majątek organizacji" in step and "godzin × rynkowa" in step
    lines = {"contribution-present": "1",
             "contribution-0-kind": "financial", "contribution-0-description": "Składki",
             "contribution-0-amount": "249,99",
             "contribution-1-kind": "volunteer", "contribution-1-description": "Wolontariat",
             "contribution-1-hours": "50", "contribution-1-rate": "20"}
    fragment = _autosave(site, application_id, "contribution", lines)
    assert "(wpisano 1 249,99 zł: brakuje 0,01 zł)" in fragment
    assert "(wpisano 249,99 zł: brakuje 0,01 zł)" in fragment
    assert 'data-rule="contribution.total_share"' in fragment
    # Without JavaScript: the page after saving shows them.
    _post(site, application_id, "contribution", {**lines, "contribution-0-amount": "250"},
          action="stay")
    step = site.get(f"/applications/{application_id}/contribution").get_data(as_text=True)
    step = step.replace("\xa0", " ")
    assert "(wpisano 1 250,00 zł: wystarczy)" in step and "(wpisano 250,00 zł: wystarczy)" in step
    assert 'data-rule="contribution' not in step


def test_an_organisation_applying_for_a_group_records_its_power_of_attorney(
        app, tenant_id, world, clients):
    site = _login(clients, "olga@example.org")
    application_id = _start(site, world.association_id)
    _post(site, application_id, "applicant", {"applicant_option": "ngo:group:standard",
                                              "applicant_id": str(world.association_id),
                                              "realizer_id": str(world.muralisci_id)})
    _post(site, application_id, "project", project(title="Mural na remizie",
                                                   place_gmina="Tłuszcz",
                                                   place_population="8 300"))
    _post(site, application_id, "schedule", {
        "start": world.start.isoformat(),
        "end": (world.start + dt.timedelta(days=120)).isoformat()})
    _post(site, application_id, "budget", budget(("materials", "Farby", "1", "4000")))
    _post(site, application_id, "contribution", {
        "contribution-present": "1", "contribution-0-kind": "financial",
        "contribution-0-description": "Składki członków", "contribution-0-amount": "200",
        "contribution-1-kind": "in_kind", "contribution-1-description": "Rusztowanie od OSP",
        "contribution-1-amount": "800", "contribution_plan": "Składki i darowizna OSP."})
    summary = site.get(f"/applications/{application_id}/summary").get_data(as_text=True)
    assert "Pełnomocnictwo grupy" in summary and 'data-rule="form.required"' in summary
    refused = _submit(site, application_id)
    assert refused.status_code == 422
    assert _load(app, tenant_id, application_id).status == "draft"
    _post(site, application_id, "project", project(
        title="Mural na remizie", place_gmina="Tłuszcz", place_population="8300",
        power_of_attorney="Umowa o współpracy z grupą Muraliści z 5 stycznia 2027, "
                          "podpisana przez zarząd i przedstawicielkę grupy."))
    assert _submit(site, application_id).status_code == 303
    saved = _load(app, tenant_id, application_id)
    assert saved.status == "submitted" and saved.mode == "standard"
    assert saved.content["power_of_attorney"].startswith("Umowa o współpracy")


def test_a_library_for_a_group_says_what_kind_of_institution_it_is(app, tenant_id, world,
                                                                    clients):
    from core.applicants.models import ApplicantProfile
    from core.db import db

    with in_tenant(app, tenant_id):
        group = db.session.get(ApplicantProfile, world.group_id)
        group.patron_id = world.library_id
        group.patron_confirmed_at = warsaw(2026, 1, 5, 10)
        db.session.commit()
    site = _login(clients, "ilona@example.org")
    application_id = _start(site, world.library_id)
    _post(site, application_id, "applicant", {
        "applicant_option": "public_institution:group:standard",
        "applicant_id": str(world.library_id), "realizer_id": str(world.group_id)})
    _post(site, application_id, "project", project(power_of_attorney="Porozumienie z grupą"))
    summary = site.get(f"/applications/{application_id}/summary").get_data(as_text=True)
    assert "Rodzaj instytucji publicznej" in summary
    _post(site, application_id, "project", project(power_of_attorney="Porozumienie z grupą",
                                                   institution_type="public_library"))
    summary = site.get(f"/applications/{application_id}/summary").get_data(as_text=True)
    assert "Instytucja publiczna podaje, jakiego jest rodzaju" not in summary
    assert "Biblioteka publiczna" in summary


# --- awards in the one-stage evaluation ---------------------------------------------------

@pytest.fixture
def ranked(app, tenant_id, create_user):
    """A closed DL call (pool 10 000 zł, SKIP_TO_FIT) scored by the committee:
    A1 6000 (35), A2 5000 (33), A3 4000 (31), A4 3000 (29), each of its own association.

    As they stand: A1 funded, A2 does not fit (4000 left) → reserve, A3 funded, A4 reserve.
    """
    from core.applicants.models import ApplicantProfile
    from core.applications.models import Application
    from core.calls.models import Call
    from core.db import db
    from core.evaluation.models import Assignment, ScoreCard

    create_user("kom@example.org", roles=["committee"], tenant=SLUG)
    owners = {ref: create_user(f"{ref.lower()}@example.org", roles=["applicant"], tenant=SLUG)
              for ref in ("A1", "A2", "A3", "A4")}
    with in_tenant(app, tenant_id):
        params = {**app.extensions["mikrogranty.plugins"].hook.default_params(
            variant="dzialaj_lokalnie"), "pool": "10000.00", "eligible_gminas": GMINAS}
        call = Call(ref="dl-2026", title="Działaj Lokalnie 2026", variant="dzialaj_lokalnie",
                    status="closed", pool=Decimal("10000.00"), params=params,
                    deadline_at=warsaw(2026, 5, 15, 23, 59, 59))
        db.session.add(call)
        db.session.flush()
        ids = {}
        for n, (ref, requested, score) in enumerate((("A1", "6000.00", 35), ("A2", "5000.00", 33),
                                                     ("A3", "4000.00", 31),
                                                     ("A4", "3000.00", 29))):
            profile = ApplicantProfile(kind="ngo", name=f"Stowarzyszenie {ref}",
                                       legal_form="association", seat="Tłuszcz",
                                       owner_id=owners[ref])
            application = Application(
                call_id=call.id, ref=ref, applicant=profile, status="ranked",
                title=f"Projekt {ref}", requested=Decimal(requested),
                created_by_id=owners[ref], place={"gmina": "Tłuszcz", "population": 8300},
                submitted_at=warsaw(2026, 5, 10, 9, n), receipt_number=f"DL-2026/{n + 1:04d}",
                stage1_score=Decimal(score), final_score=Decimal(score))
            db.session.add(application)
            db.session.flush()
            for evaluator in ("KG1", "KG2"):
                assignment = Assignment(application_id=application.id, stage=1,
                                        evaluator_ref=evaluator, status="submitted")
                assignment.card = ScoreCard(points={f"c{i}": "4" for i in range(1, 9)}
                                            | {"c1": str(score - 28)},
                                            total=Decimal(score), submitted_at=utcnow())
                db.session.add(assignment)
            ids[ref] = application.id
        db.session.commit()
        return SimpleNamespace(call_id=call.id, ids=ids)


def utcnow():
    return dt.datetime.now(UTC)


def _statuses(app, tenant_id):
    from core.applications.models import Application
    from core.db import db

    with in_tenant(app, tenant_id):
        return {a.ref: (a.status, a.allocated) for a in db.session.scalars(
            db.select(Application).order_by(Application.ref))}


def _offer(clients, ranked, ref, amount):
    kom = _login(clients, "kom@example.org")
    response = kom.post(f"/committee/applications/{ranked.ids[ref]}/award",
                        data={"amount": amount})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return kom


def _answer(clients, ranked, ref, answer):
    me = _login(clients, f"{ref.lower()}@example.org")
    page = me.get(f"/applications/{ranked.ids[ref]}/result").get_data(as_text=True)
    assert "Komisja przyznaje" in page
    response = me.post(f"/applications/{ranked.ids[ref]}/offer", data={"answer": answer})
    assert response.status_code == 303


def _approve(kom, ranked):
    response = kom.post(f"/committee/calls/{ranked.call_id}/lists/final/approve",
                        data={"confirm": "y"})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]


def test_a_one_stage_call_ranks_without_an_interview(app, tenant_id, ranked, clients):
    kom = _login(clients, "kom@example.org")
    page = kom.get(f"/committee/calls/{ranked.call_id}/ranking").get_data(as_text=True)
    assert "A1" in page and "A4" in page
    _approve(kom, ranked)
    assert _statuses(app, tenant_id) == {
        "A1": ("funded", Decimal("6000.00")), "A2": ("reserve", None),
        "A3": ("funded", Decimal("4000.00")), "A4": ("reserve", None)}


def test_an_accepted_lower_award_funds_the_lower_amount(app, tenant_id, ranked, clients,
                                                        outbox):
    kom = _offer(clients, ranked, "A1", "4 000,00")
    assert [m for m in outbox() if m[0] == "a1@example.org"]
    _answer(clients, ranked, "A1", "accept")
    _approve(kom, ranked)
    # 4000 + 5000 = 9000: A2 now fits; A3 (4000) and A4 (3000) do not fit the 1000 left.
    assert _statuses(app, tenant_id) == {
        "A1": ("funded", Decimal("4000.00")), "A2": ("funded", Decimal("5000.00")),
        "A3": ("reserve", None), "A4": ("reserve", None)}


def test_a_declined_award_withdraws_and_frees_the_money_before_the_list(app, tenant_id,
                                                                         ranked, clients):
    kom = _offer(clients, ranked, "A1", "5000")
    _answer(clients, ranked, "A1", "decline")
    assert _statuses(app, tenant_id)["A1"] == ("withdrawn", None)
    _approve(kom, ranked)
    # Without A1: A2 5000 and A3 4000 are funded (9000); A4 (3000) waits in reserve.
    assert _statuses(app, tenant_id) == {
        "A1": ("withdrawn", None), "A2": ("funded", Decimal("5000.00")),
        "A3": ("funded", Decimal("4000.00")), "A4": ("reserve", None)}


def test_a_declined_award_after_the_list_moves_the_reserve_up(app, tenant_id, ranked,
                                                              clients, outbox):
    kom = _offer(clients, ranked, "A1", "5000")
    _approve(kom, ranked)           # the offer still open: A1 is funded with 5000
    assert _statuses(app, tenant_id) == {
        "A1": ("funded", Decimal("5000.00")), "A2": ("funded", Decimal("5000.00")),
        "A3": ("reserve", None), "A4": ("reserve", None)}
    _answer(clients, ranked, "A1", "decline")
    # The 5000 returns; the reserve is walked under SKIP_TO_FIT: A3 (4000) is funded, A4
    # (3000) does not fit the 1000 left.
    assert _statuses(app, tenant_id) == {
        "A1": ("withdrawn", None), "A2": ("funded", Decimal("5000.00")),
        "A3": ("funded", Decimal("4000.00")), "A4": ("reserve", None)}
    assert [m for m in outbox() if m[0] == "a3@example.org"]


# --- the whole way, as in the demo: apply, be funded, the centre buys for the group --------------

def test_a_dl_initiative_is_funded_and_the_centre_buys_for_it(app, tenant_id, world, clients,
                                                             create_user):
    """Grażyna's group applies as a DL Initiative; the committee scores and approves the
    list; nothing is transferred: the centre records two purchases against the group's
    budget, refuses a third beyond a line, and the group sees what was bought."""
    from core.applications.models import Application
    from core.calls.models import Call
    from core.db import db
    from core.evaluation.models import Assignment, ScoreCard

    create_user("kom@example.org", roles=["committee"], tenant=SLUG)
    create_user("odl@example.org", roles=["admin"], tenant=SLUG)
    site = _login(clients, "grazyna@example.org")
    application_id = _start(site, world.group_id)
    _post(site, application_id, "applicant", {"applicant_option": "group::dl_initiative",
                                              "applicant_id": str(world.group_id),
                                              "realizer_id": ""})
    _post(site, application_id, "project", project())
    _post(site, application_id, "schedule", {
        "start": world.start.isoformat(),
        "end": (world.start + dt.timedelta(days=95)).isoformat(),
        "activities": "Zbiórka zdjęć, nagrania, wieczór wspomnień"})
    _post(site, application_id, "budget", budget(("equipment", "Skaner do zdjęć", "1", "900"),
                                                 ("printing", "Druk albumu", "1", "2300")))
    _post(site, application_id, "contribution", {
        "contribution-present": "1", "contribution-0-kind": "volunteer",
        "contribution-0-description": "Praca wolontariuszy przy skanowaniu",
        "contribution-0-hours": "40", "contribution-0-rate": "10",
        "contribution_plan": "Wolontariusze i sąsiedzi."})
    assert _submit(site, application_id).status_code == 303

    # The deadline passes; formally correct, the committee's two cards give it 34 points.
    with in_tenant(app, tenant_id):
        call = db.session.get(Call, world.call_id)
        call.status, call.deadline_at = "closed", utcnow() - dt.timedelta(days=1)
        application = db.session.get(Application, application_id)
        application.status = "ranked"
        application.stage1_score = application.final_score = Decimal("34")
        for evaluator in ("KG1", "KG2"):
            assignment = Assignment(application_id=application_id, stage=1,
                                    evaluator_ref=evaluator, status="submitted")
            assignment.card = ScoreCard(points={f"c{i}": "4" for i in range(1, 9)} | {"c1": "6"},
                                        total=Decimal("34"), submitted_at=utcnow())
            db.session.add(assignment)
        db.session.commit()
    kom = _login(clients, "kom@example.org")
    _approve(kom, SimpleNamespace(call_id=world.call_id))
    assert _load(app, tenant_id, application_id).status == "funded"

    # The group's result page leads to its purchases, where nothing is bought yet.
    result = site.get(f"/applications/{application_id}/result").get_data(as_text=True)
    assert f"/applications/{application_id}/ledger" in result

    odl = _login(clients, "odl@example.org")
    ledger = odl.get(f"/payments/{application_id}").get_data(as_text=True)
    lines = dict((label.strip(), value) for value, label in re.findall(
        r'<option value="(\d+)"[^>]*>([^<(]+)', ledger))
    scanner = next(v for k, v in lines.items() if "Skaner" in k)
    album = next(v for k, v in lines.items() if "Druk albumu" in k)
    # Bought ahead of the project's start (confirmed as such), never with a future date.
    day = dt.datetime.now(WARSAW).date()
    for line, supplier, number, amount in ((scanner, "Foto-Serwis Jan Wrona", "FV/7/2027",
                                            "879,00"),
                                           (album, "Drukarnia Wyszków sp. z o.o.", "12/2027",
                                            "2300,00")):
        response = odl.post(f"/payments/{application_id}/purchases", data={
            "line": line, "supplier": supplier, "invoice_number": number,
            "invoice_date": day.isoformat(), "amount": amount, "confirm_date": "y"})
        assert response.status_code == 303, re.findall(
            r'class="[^"]*error[^"]*"[^>]*>([^<]+)', response.get_data(as_text=True))
    # The album line is spent to the grosz: one more grosz is refused, with the numbers.
    refused = odl.post(f"/payments/{application_id}/purchases", data={
        "line": album, "supplier": "Drukarnia Wyszków sp. z o.o.", "invoice_number": "13/2027",
        "invoice_date": day.isoformat(), "amount": "0,01", "confirm_date": "y"})
    assert refused.status_code == 422
    assert "przekracza" in refused.get_data(as_text=True)

    mine = site.get(f"/applications/{application_id}/ledger").get_data(as_text=True)
    mine = mine.replace("\xa0", " ")
    assert "FV/7/2027" in mine and "12/2027" in mine and "13/2027" not in mine
    assert "3 179,00 zł" in mine and "21,00 zł" in mine  # spent, and left of 3 200,00 zł
