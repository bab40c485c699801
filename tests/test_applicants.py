"""Applicant profiles: organisations, informal groups, persons alone, public institutions;
their people, patrons and editors; who sees personal data."""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from decimal import Decimal

import pytest

from browser import chromium, live_server  # noqa: F401  (fixtures)
from conftest import BASE, PASSWORD

VALID_NIP = "123-456-32-18"
VALID_REGON = "123456785"
VALID_IBAN = "PL61 1090 1014 0000 0712 1981 2874"
VALID_KRS = "0000123456"
PESEL_1944 = "44051401359"  # born 14 May 1944
PESEL_1980 = "80010112340"  # born 1 January 1980


# --- helpers ----------------------------------------------------------------------------

@pytest.fixture
def site(create_tenant, create_user, clients):
    """Anna, an applicant of gmina-a, logged in there."""
    create_tenant("gmina-a", name="Gmina A")
    create_user("anna@example.org", roles=["applicant"])
    client = clients("gmina-a")
    client.login("anna@example.org")
    return client


@pytest.fixture
def in_tenant(app):
    """Run a block in a tenant's scope: ``with in_tenant("gmina-a"): ...``."""
    from core.db import db, tenant_scope
    from core.tenancy.models import Tenant

    @contextlib.contextmanager
    def scope(slug="gmina-a"):
        with app.test_request_context(base_url=f"https://{slug}.{BASE}"):
            tenant = db.session.execute(db.select(Tenant).where(Tenant.slug == slug)).scalar_one()
            from flask import g

            g.tenant = tenant
            with tenant_scope(tenant):
                yield tenant
            db.session.remove()

    return scope


def profiles(in_tenant, slug="gmina-a"):
    from core.applicants.models import ApplicantProfile
    from core.db import db

    with in_tenant(slug):
        return [(p.id, p.kind, p.display_name) for p in
                db.session.scalars(db.select(ApplicantProfile).order_by(ApplicantProfile.id))]


def organisation_form(**changes):
    data = {"name": "Stowarzyszenie Przyjaciół Lipin", "legal_form": "association",
            "krs": VALID_KRS, "nip": VALID_NIP, "regon": VALID_REGON,
            "registered_on": "2023-05-10", "revenue_last_year": "12 500,50",
            "seat": "Lipiny", "iban": VALID_IBAN,
            "people-0-name": "Olga Zarządna", "people-0-birth_date": "1975-03-02"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def group_form(**changes):
    data = {"name": "Przyjaciele parku",
            "people-0-name": "Anna Nowak", "people-0-birth_date": "1980-01-01",
            "people-0-pesel": PESEL_1980,
            "people-1-name": "Jan Kowalski", "people-1-birth_date": "12.06.1990",
            "people-2-name": "Ewa Wiśniewska", "people-2-birth_date": "1944-05-14",
            "representative": "1"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def create_group(site, **changes) -> int:
    response = site.post("/profiles/new?kind=group", data=group_form(**changes))
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(re.search(r"/profiles/(\d+)$", response.headers["Location"]).group(1))


def create_organisation(site, **changes) -> int:
    response = site.post("/profiles/new?kind=ngo", data=organisation_form(**changes))
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(re.search(r"/profiles/(\d+)$", response.headers["Location"]).group(1))


def link_in(body: str) -> str:
    return re.search(r"https://\S+", body).group(0)


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def audit_changes(app) -> str:
    from core.audit.models import AuditEvent
    from core.db import Scope, db, reset_scope, set_scope

    with app.app_context():
        token = set_scope(Scope(platform=True, reason="tests"))
        try:
            return json.dumps([(e.action, e.changes) for e in
                               db.session.scalars(db.select(AuditEvent))], ensure_ascii=False)
        finally:
            reset_scope(token)


# --- each kind --------------------------------------------------------------------------

def test_organisation_profile_is_created_with_compact_numbers_and_board(site, in_tenant, app):
    page = site.get("/profiles/new?kind=ngo").get_data(as_text=True)
    assert "Koło gospodyń wiejskich" in page and "Stowarzyszenie zwykłe" in page
    profile_id = create_organisation(site)

    from core.applicants.models import ApplicantProfile
    from core.db import db

    with in_tenant():
        profile = db.session.execute(db.select(ApplicantProfile)).scalar_one()
        assert (profile.id, profile.kind, profile.legal_form) == (profile_id, "ngo", "association")
        assert (profile.nip, profile.regon, profile.krs) == ("1234563218", "123456785", VALID_KRS)
        assert profile.iban == "PL61109010140000071219812874"
        assert profile.revenue_last_year == Decimal("12500.50")
        assert profile.registered_on == dt.date(2023, 5, 10)
        assert [(p.name, p.birth_date) for p in profile.people("board")] == [
            ("Olga Zarządna", dt.date(1975, 3, 2))]
    detail = site.get(f"/profiles/{profile_id}").get_data(as_text=True)
    assert "Stowarzyszenie Przyjaciół Lipin" in detail and "Olga Zarządna" in detail
    assert "12 500,50" in detail.replace("\xa0", " ")
    assert '"profile.created"' in audit_changes(app)


def test_public_institution_profile(site, in_tenant):
    response = site.post("/profiles/new?kind=public_institution", data={
        "name": "Gminna Biblioteka Publiczna", "nip": VALID_NIP, "seat": "Lipiny"})
    assert response.status_code == 302
    assert [(kind, name) for _id, kind, name in profiles(in_tenant)] == [
        ("public_institution", "Gminna Biblioteka Publiczna")]


def test_person_alone_uses_the_account_holders_own_person(site, in_tenant, app):
    response = site.post("/profiles/new?kind=person", data={
        "name": "Anna Nowak", "birth_date": "01.01.1980", "pesel": PESEL_1980,
        "iban": "61109010140000071219812874"})
    assert response.status_code == 302, response.get_data(as_text=True)

    from core.accounts.models import User
    from core.applicants.models import ApplicantProfile
    from core.db import db

    with in_tenant():
        anna = db.session.execute(db.select(User)).scalar_one()
        profile = db.session.execute(db.select(ApplicantProfile)).scalar_one()
        assert profile.kind == "person" and profile.name == ""  # the name stays on Person
        assert profile.person.user_id == anna.id and profile.display_name == "Anna Nowak"
        assert profile.person.birth_date == dt.date(1980, 1, 1)
        assert profile.iban == "PL61109010140000071219812874"
    # A second "person alone" profile is the same one: the page sends to it.
    again = site.get("/profiles/new?kind=person")
    assert again.status_code == 302 and again.headers["Location"].endswith(
        f"/profiles/{profile.id}/edit")
    # Changing it changes the person; the audit names the field, not the value.
    edit = site.post(f"/profiles/{profile.id}/edit", data={
        "name": "Anna Nowak-Zielińska", "birth_date": "1980-01-01", "pesel": PESEL_1980})
    assert edit.status_code == 302
    trail = audit_changes(app)
    assert "profile.person_updated" in trail and '"name"' in trail
    assert "Nowak" not in trail and PESEL_1980 not in trail and "1980-01-01" not in trail


def test_group_with_three_members_and_a_representative(site, in_tenant, app):
    page = site.get("/profiles/new?kind=group").get_data(as_text=True)
    assert page.count('class="person-row"') == 3 and "Dodaj osobę" in page
    profile_id = create_group(site)

    from core.applicants.models import ApplicantProfile
    from core.db import db

    with in_tenant():
        group = db.session.execute(db.select(ApplicantProfile)).scalar_one()
        members = group.people("member")
        assert [m.name for m in members] == ["Anna Nowak", "Jan Kowalski", "Ewa Wiśniewska"]
        assert members[0].pesel == PESEL_1980 and members[1].birth_date == dt.date(1990, 6, 12)
        assert group.representative.name == "Jan Kowalski"
    detail = site.get(f"/profiles/{profile_id}").get_data(as_text=True)
    assert "Jan Kowalski <strong>(przedstawiciel grupy)</strong>" in detail
    assert PESEL_1980 not in detail and "•••••••2340" in detail  # PESEL masked on the page
    trail = audit_changes(app)
    assert trail.count("profile.member_added") == 3 and "representative_changed" in trail
    for personal in ("Anna Nowak", "Kowalski", "1990-06-12", PESEL_1980):
        assert personal not in trail


# --- wrong numbers: Polish messages, nothing saved, nothing lost ------------------------

@pytest.mark.parametrize("field, typed, message", [
    ("nip", "123-456-32-19", "NIP ma nieprawidłową sumę kontrolną"),
    ("nip", "12345", "NIP musi mieć 10 cyfr"),
    ("regon", "123456786", "REGON ma nieprawidłową sumę kontrolną"),
    ("regon", "1234", "REGON musi mieć 9 lub 14 cyfr"),
    ("iban", "PL61 1090 1014 0000 0712 1981 2875",
     "Numer rachunku bankowego (IBAN) ma nieprawidłową sumę kontrolną"),
    ("iban", "DE89370400440532013000", "Numer rachunku bankowego (IBAN) musi być polski"),
    ("iban", "PL61 1090", "Numer rachunku bankowego (IBAN) musi mieć 26 cyfr"),
    ("krs", "12345", "Numer KRS musi mieć dokładnie 10 cyfr"),
    ("krs", "", "Stowarzyszenia i fundacje są wpisane do KRS"),
    ("revenue_last_year", "dużo", "Wpisz kwotę w złotych"),
    ("registered_on", "2023-02-30", "Wpisz datę jako DD.MM.RRRR"),
])
def test_a_wrong_number_is_refused_in_polish_keeping_what_was_typed(site, in_tenant, field,
                                                                    typed, message):
    response = site.post("/profiles/new?kind=ngo", data=organisation_form(**{field: typed}))
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in body
    assert f'id="{field}-error"' in body and 'aria-invalid="true"' in body
    assert "Nic jeszcze nie zapisano" in body
    # Everything typed comes back: the wrong value and the others.
    if typed:
        assert f'value="{typed}"' in body
    assert 'value="Stowarzyszenie Przyjaciół Lipin"' in body
    assert 'value="Olga Zarządna"' in body
    assert field == "revenue_last_year" or 'value="12 500,50"' in body
    assert profiles(in_tenant) == []


def test_wrong_pesel_and_birth_date_in_a_member_row(site, in_tenant):
    data = group_form(**{"people-0-pesel": "80010112341",
                         "people-2-pesel": PESEL_1944, "people-2-birth_date": "1944-05-15"})
    body = site.post("/profiles/new?kind=group", data=data).get_data(as_text=True)
    assert "PESEL ma nieprawidłową sumę kontrolną" in body
    assert "Data urodzenia nie zgadza się z numerem PESEL." in body
    assert 'id="people-0-pesel-error"' in body and 'id="people-2-birth_date-error"' in body
    assert "Osoba 1, PESEL (nieobowiązkowo)" in body  # the summary names the row and field
    for value in ("80010112341", "Jan Kowalski", "1944-05-15", "Przyjaciele parku"):
        assert f'value="{value}"' in body
    assert profiles(in_tenant) == []

    body = site.post("/profiles/new?kind=group", data=group_form(
        **{"people-1-birth_date": "31.02.1990"})).get_data(as_text=True)
    assert "Wpisz datę jako DD.MM.RRRR" in body and 'value="31.02.1990"' in body
    body = site.post("/profiles/new?kind=group", data=group_form(
        **{"people-1-birth_date": None})).get_data(as_text=True)
    assert "Podaj datę urodzenia." in body
    assert profiles(in_tenant) == []


def test_validators_accept_what_people_type(app):
    from core.applicants import validators as v

    assert v.clean_nip("PL 123-456-32-18") == "1234563218"
    assert v.clean_iban("61 1090 1014 0000 0712 1981 2874") == "PL61109010140000071219812874"
    assert v.clean_iban("pl61109010140000071219812874") == "PL61109010140000071219812874"
    assert v.clean_regon("12345678512347") == "12345678512347"
    assert v.clean_krs("0000 123 456") == VALID_KRS
    assert v.clean_postal_code("00950") == "00-950"
    assert v.pesel_birth_date(PESEL_1944) == dt.date(1944, 5, 14)
    with pytest.raises(v.NumberInvalid) as bad:
        v.clean_pesel("44053201359")
    assert bad.value.key in {"pesel.checksum", "pesel.date"}
    with pytest.raises(v.NumberInvalid):
        v.check_birth_date(dt.date.today() + dt.timedelta(days=1))


# --- rows of people without JavaScript --------------------------------------------------

def test_add_a_person_button_adds_a_row_and_keeps_everything(site, in_tenant):
    data = group_form(action="add_person")
    body = site.post("/profiles/new?kind=group", data=data).get_data(as_text=True)
    assert body.count('class="person-row"') == 4
    assert 'id="people-3-name"' in body and "autofocus" in body
    for value in ("Przyjaciele parku", "Anna Nowak", PESEL_1980, "12.06.1990", "Ewa Wiśniewska"):
        assert f'value="{value}"' in body
    assert 'value="1" id="representative-1" checked' in body
    assert "error-summary" not in body  # adding a row is not a failed save
    assert profiles(in_tenant) == []


def test_remove_a_row_renumbers_and_keeps_the_representative(site, in_tenant):
    data = group_form(action="remove_person:0", representative="2")
    body = site.post("/profiles/new?kind=group", data=data).get_data(as_text=True)
    assert body.count('class="person-row"') == 2 and "Anna Nowak" not in body
    # Ewa was row 3 and the representative; she is row 2 now and still chosen.
    assert 'id="people-1-name" maxlength="200" name="people-1-name" type="text" ' \
           'value="Ewa Wiśniewska"' in body
    assert 'value="1" id="representative-1" checked' in body
    # Sending the re-rendered form saves the two people, Ewa representing them.
    saved = site.post("/profiles/new?kind=group", data={
        "name": "Przyjaciele parku", "people-0-name": "Jan Kowalski",
        "people-0-birth_date": "1990-06-12", "people-1-name": "Ewa Wiśniewska",
        "people-1-birth_date": "1944-05-14", "representative": "1"})
    assert saved.status_code == 302

    from core.applicants.models import ApplicantProfile
    from core.db import db

    with in_tenant():
        group = db.session.execute(db.select(ApplicantProfile)).scalar_one()
        assert group.representative.name == "Ewa Wiśniewska"


def test_empty_rows_are_ignored_and_a_representative_is_required(site, in_tenant):
    body = site.post("/profiles/new?kind=group", data=group_form(
        representative=None)).get_data(as_text=True)
    assert "Wybierz przedstawiciela grupy spośród jej członków" in body
    assert profiles(in_tenant) == []
    # Choosing an empty row is no choice either.
    data = group_form(representative="3", **{"people-3-name": ""})
    body = site.post("/profiles/new?kind=group", data=data).get_data(as_text=True)
    assert "Wybierz przedstawiciela grupy" in body
    # An empty fourth row is ignored on saving.
    assert create_group(site, **{"people-3-name": "", "people-3-birth_date": ""})
    assert len(profiles(in_tenant)) == 1


def test_representative_who_is_not_a_member_is_refused(site, in_tenant):
    profile_id = create_group(site)

    from core.applicants import operations
    from core.applicants.models import ApplicantProfile, Person
    from core.db import db
    from core.errors import ValidationError

    with in_tenant():
        group = db.session.execute(db.select(ApplicantProfile)).scalar_one()
        stranger = Person(name="Obcy Człowiek", birth_date=dt.date(1970, 1, 1))
        db.session.add(stranger)
        db.session.flush()
        with pytest.raises(ValidationError) as refused:
            operations.set_representative(group, stranger)
        assert "representative" in refused.value.errors
        with pytest.raises(ValidationError):
            operations.set_people(group, [{"name": "Jan", "birth_date": dt.date(1990, 1, 1)}],
                                  representative=3)
        db.session.rollback()
        assert db.session.get(ApplicantProfile, profile_id).representative.name == \
            "Jan Kowalski"


def test_members_page_changes_adds_and_removes_people(site, in_tenant, app):
    profile_id = create_group(site)
    page = site.get(f"/profiles/{profile_id}/members").get_data(as_text=True)
    assert 'value="Jan Kowalski"' in page and 'value="1" id="representative-1" checked' in page
    ids = [int(i) for i in re.findall(r'name="people-\d-person_id" type="hidden" value="(\d+)"',
                                      page)]
    assert len(ids) == 3
    response = site.post(f"/profiles/{profile_id}/members", data={
        "people-0-person_id": str(ids[0]), "people-0-name": "Anna Nowak",
        "people-0-birth_date": "1980-01-01", "people-0-pesel": PESEL_1980,
        "people-1-person_id": str(ids[2]), "people-1-name": "Ewa Wiśniewska-Kot",
        "people-1-birth_date": "1944-05-14",
        "people-2-name": "Piotr Nowy", "people-2-birth_date": "2000-02-29",
        "representative": "2"})
    assert response.status_code == 302, response.get_data(as_text=True)

    from core.applicants.models import ApplicantProfile, Person
    from core.db import db

    with in_tenant():
        group = db.session.get(ApplicantProfile, profile_id)
        people = group.people("member")
        assert [p.name for p in people] == ["Anna Nowak", "Ewa Wiśniewska-Kot", "Piotr Nowy"]
        assert people[0].id == ids[0] and people[1].id == ids[2]
        assert group.representative.name == "Piotr Nowy"
        # Jan's personal data is gone with him.
        assert db.session.get(Person, ids[1]) is None
    trail = audit_changes(app)
    assert "profile.member_removed" in trail and "profile.person_updated" in trail
    assert "Wiśniewska" not in trail and "Piotr" not in trail


# --- patron organisation ----------------------------------------------------------------

def test_patron_invitation_is_confirmed_by_another_accounts_organisation(
        site, create_user, clients, outbox, in_tenant, app):
    group_id = create_group(site)
    create_user("prezes@fundacja.example.org", roles=["applicant"])
    patron = clients("gmina-a")
    patron.login("prezes@fundacja.example.org")
    org_id = create_organisation(patron, name="Fundacja Lipiny", legal_form="foundation")

    response = site.post(f"/profiles/{group_id}/patron",
                         data={"email": "Prezes@Fundacja.example.org"})
    assert response.status_code == 302
    (recipient, subject, body, _tenant), = outbox()
    assert recipient == "prezes@fundacja.example.org"
    assert subject == "Grupa nieformalna prosi twoją organizację o patronat"
    assert "„Przyjaciele parku”" in body and "Link działa jeden raz, przez 14 dni." in body
    link = link_in(body)
    assert link.startswith(f"https://gmina-a.{BASE}/profiles/patron/")
    assert "zaproszenie wysłane" in site.get("/profiles/").get_data(as_text=True)

    # The organisation's person opens the link: group name and size, no personal data.
    page = patron.get(path_of(link)).get_data(as_text=True)
    assert "Przyjaciele parku" in page and "Grupa ma 3 członków." in page
    assert "Fundacja Lipiny" in page
    for personal in ("Anna Nowak", "Jan Kowalski", "1990", PESEL_1980):
        assert personal not in page
    confirmed = patron.post(path_of(link), data={"organisation": str(org_id),
                                                 "action": "confirm"})
    assert confirmed.status_code == 302

    from core.applicants.models import ApplicantProfile
    from core.db import db

    with in_tenant():
        group = db.session.get(ApplicantProfile, group_id)
        assert group.patron_id == org_id and group.patron_confirmed_at is not None
        assert group.patron_token_hash is None
    told = outbox()[-1]
    assert told[0] == "anna@example.org" and told[1] == "Twoja grupa ma organizację patronacką"
    assert "Fundacja Lipiny" in told[2]
    assert "profile.patron_confirmed" in audit_changes(app)
    # The organisation sees the group's name under its wing, still no members' data.
    org_page = patron.get(f"/profiles/{org_id}").get_data(as_text=True)
    assert "Przyjaciele parku" in org_page and "Jan Kowalski" not in org_page
    assert "Fundacja Lipiny" in site.get(f"/profiles/{group_id}").get_data(as_text=True)

    # The link works once.
    again = patron.get(path_of(link))
    assert again.status_code == 404
    assert "nieprawidłowy, wykorzystany lub wygasł" in again.get_data(as_text=True)
    assert patron.post(path_of(link), data={"organisation": str(org_id),
                                            "action": "confirm"}).status_code == 404


def test_patron_pages_guide_a_first_timer(site, create_user, clients, outbox, in_tenant):
    """The group's page names the next step, the only organisation is chosen already, and
    the confirmed patron is told in Polish that reads whatever the organisation's name."""
    group_id = create_group(site)
    page = site.get(f"/profiles/{group_id}").get_data(as_text=True)
    assert f'href="/profiles/{group_id}/patron">Zaproś organizację patronacką</a>' in page
    assert 'href="/applications">Otwarte nabory i twoje wnioski</a>' in page
    site.post(f"/profiles/{group_id}/patron", data={"email": "zarzad@example.org"})
    link_path = path_of(link_in(outbox()[-1][2]))
    assert "Organizacja patronacka: szczegóły" in site.get(f"/profiles/{group_id}").get_data(
        as_text=True)
    create_user("zarzad@example.org", roles=["applicant"])
    org = clients("gmina-a")
    org.login("zarzad@example.org")
    org_id = create_organisation(org, name="Stowarzyszenie Przyjaciół Lipin")
    page = org.get(link_path).get_data(as_text=True)
    assert re.search(rf'<input checked id="organisation-0" name="organisation" required '
                     rf'type="radio" value="{org_id}">', page), page
    # The browser sends the pre-chosen organisation: confirming needs one click.
    assert org.post(link_path, data={"organisation": str(org_id),
                                     "action": "confirm"}).status_code == 302
    page = site.get(f"/profiles/{group_id}").get_data(as_text=True)
    assert "Organizacja patronacka grupy: Stowarzyszenie Przyjaciół Lipin (potwierdzenie z" \
        in page


def test_a_yes_no_box_sits_beside_its_label(site):
    page = site.get("/profiles/new?kind=ngo").get_data(as_text=True)
    assert re.search(r'<div class="check"><input id="in_liquidation" name="in_liquidation" '
                     r'type="checkbox" value="y"> <label for="in_liquidation">', page), page


def test_patron_without_an_organisation_profile_creates_one_and_comes_back(
        site, create_user, clients, outbox, in_tenant):
    group_id = create_group(site)
    site.post(f"/profiles/{group_id}/patron", data={"email": "kgw@example.org"})
    link_path = path_of(link_in(outbox()[-1][2]))
    create_user("kgw@example.org", roles=["applicant"])
    kgw = clients("gmina-a")
    # Not logged in: the link leads through the login page and back.
    to_login = kgw.get(link_path)
    assert to_login.status_code == 302 and "/login" in to_login.headers["Location"]
    kgw.login("kgw@example.org")
    page = kgw.get(link_path).get_data(as_text=True)
    assert "Nie masz tu jeszcze profilu organizacji" in page
    new_link = re.search(r'href="(/profiles/new\?kind=ngo[^"]*)"', page).group(1)
    created = kgw.post(new_link.replace("&amp;", "&"), data=organisation_form(
        name="KGW Lipinianki", legal_form="rural_housewives_circle", krs=""))
    assert created.status_code == 302 and created.headers["Location"].endswith(link_path)
    page = kgw.get(link_path).get_data(as_text=True)
    assert "KGW Lipinianki" in page
    org_id = [i for i, kind, name in profiles(in_tenant) if name == "KGW Lipinianki"][0]
    assert kgw.post(link_path, data={"organisation": str(org_id),
                                     "action": "confirm"}).status_code == 302


def test_patron_may_decline_and_an_expired_or_replaced_link_fails(
        site, create_user, clients, outbox, in_tenant):
    group_id = create_group(site)
    create_user("org@example.org", roles=["applicant"])
    org = clients("gmina-a")
    org.login("org@example.org")
    site.post(f"/profiles/{group_id}/patron", data={"email": "org@example.org"})
    first = path_of(link_in(outbox()[-1][2]))
    site.post(f"/profiles/{group_id}/patron", data={"email": "org@example.org"})
    second = path_of(link_in(outbox()[-1][2]))
    assert org.get(first).status_code == 404  # replaced by the second invitation
    assert org.get(second).status_code == 200

    assert org.post(second, data={"action": "decline"}).status_code == 302
    assert outbox()[-1][1] == "Organizacja odmówiła patronatu nad twoją grupą"
    assert org.get(second).status_code == 404

    # An invitation older than 14 days has expired.
    site.post(f"/profiles/{group_id}/patron", data={"email": "org@example.org"})
    third = path_of(link_in(outbox()[-1][2]))
    from core.applicants.models import ApplicantProfile
    from core.db import db

    with in_tenant():
        group = db.session.get(ApplicantProfile, group_id)
        group.patron_invited_at -= dt.timedelta(days=15)
        db.session.commit()
    assert org.get(third).status_code == 404


def test_patron_confirmation_needs_an_organisation_the_account_edits(
        site, create_user, clients, outbox, in_tenant):
    group_id = create_group(site)
    other_group = create_group(site, name="Inna grupa")
    site.post(f"/profiles/{group_id}/patron", data={"email": "org@example.org"})
    link_path = path_of(link_in(outbox()[-1][2]))
    create_user("org@example.org", roles=["applicant"])
    org = clients("gmina-a")
    org.login("org@example.org")
    own = create_organisation(org)
    # Anna's other group is not an organisation, and not this account's.
    body = org.post(link_path, data={"organisation": str(other_group), "action": "confirm"}
                    ).get_data(as_text=True)
    assert "Nieprawidłowy wybór" in body
    from core.applicants.models import ApplicantProfile
    from core.db import db

    with in_tenant():
        assert db.session.get(ApplicantProfile, group_id).patron_id is None
    assert org.post(link_path, data={"organisation": str(own),
                                     "action": "confirm"}).status_code == 302


# --- who may open what ------------------------------------------------------------------

def test_another_users_profile_is_not_found(site, create_user, clients):
    group_id = create_group(site)
    create_user("bob@example.org", roles=["applicant"])
    bob = clients("gmina-a")
    bob.login("bob@example.org")
    for path in ("", "/edit", "/members", "/patron", "/editors"):
        assert bob.get(f"/profiles/{group_id}{path}").status_code == 404, path
    assert bob.post(f"/profiles/{group_id}/edit", data={"name": "Przejęta"}).status_code == 404
    assert bob.post(f"/profiles/{group_id}/members", data=group_form()).status_code == 404
    assert bob.post(f"/profiles/{group_id}/patron",
                    data={"email": "x@example.org"}).status_code == 404
    assert "Przyjaciele parku" not in bob.get("/profiles/").get_data(as_text=True)


def test_another_tenants_profile_id_is_not_found(site, create_tenant, create_user, clients):
    group_id = create_group(site)
    create_tenant("gmina-b")
    create_user("anna@example.org", roles=["applicant"], tenant="gmina-b")
    b = clients("gmina-b")
    b.login("anna@example.org")  # the same person, on another municipality's site
    assert b.get(f"/profiles/{group_id}").status_code == 404
    assert b.get(f"/profiles/{group_id}/members").status_code == 404
    assert "Przyjaciele parku" not in b.get("/profiles/").get_data(as_text=True)


def test_personal_data_is_not_shown_to_another_applicant(site, create_user, clients, app):
    group_id = create_group(site)
    create_user("bob@example.org", roles=["applicant"])
    bob = clients("gmina-a")
    bob.login("bob@example.org")
    pages = [bob.get(p).get_data(as_text=True) for p in
             ("/", "/profiles/", f"/profiles/{group_id}", "/profiles/new?kind=group")]
    anonymous = clients("gmina-a").get("/").get_data(as_text=True)
    for page in pages + [anonymous]:
        for personal in ("Anna Nowak", "Jan Kowalski", "1990-06-12", "12.06.1990", PESEL_1980):
            assert personal not in page
    trail = audit_changes(app)
    for personal in ("Anna Nowak", "Jan Kowalski", "1990-06-12", PESEL_1980):
        assert personal not in trail


def test_anonymous_is_sent_to_log_in_and_the_menu_shows_my_profiles(site, clients):
    anonymous = clients("gmina-a")
    response = anonymous.get("/profiles/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert "Moje profile" not in anonymous.get("/").get_data(as_text=True)
    home = site.get("/").get_data(as_text=True)
    assert 'href="/profiles/"' in home and "Moje profile" in home


# --- editors ----------------------------------------------------------------------------

def test_owner_adds_an_editor_who_may_edit_but_not_manage_editors(
        site, create_user, clients, in_tenant, app):
    group_id = create_group(site)
    body = site.post(f"/profiles/{group_id}/editors",
                     data={"email": "nikt@example.org"}).get_data(as_text=True)
    assert "Żadne konto nie używa tego adresu e-mail" in body
    create_user("ola@example.org", roles=["applicant"])
    assert site.post(f"/profiles/{group_id}/editors",
                     data={"email": "Ola@example.org"}).status_code == 302
    assert "To konto już może edytować profil." in site.post(
        f"/profiles/{group_id}/editors", data={"email": "ola@example.org"}).get_data(True)

    ola = clients("gmina-a")
    ola.login("ola@example.org")
    assert "Przyjaciele parku" in ola.get("/profiles/").get_data(as_text=True)
    detail = ola.get(f"/profiles/{group_id}").get_data(as_text=True)
    assert "Jan Kowalski" in detail  # editors see the people they work with
    assert ola.post(f"/profiles/{group_id}/edit", data={"name": "Przyjaciele parku i lasu"}
                    ).status_code == 302
    assert ola.get(f"/profiles/{group_id}/editors").status_code == 403

    from core.accounts.models import User
    from core.applicants import operations
    from core.applicants.models import ApplicantProfile
    from core.db import db

    with in_tenant():
        group = db.session.get(ApplicantProfile, group_id)
        assert group.name == "Przyjaciele parku i lasu"
        users = {u.email: u for u in db.session.scalars(db.select(User))}
        ola_user, anna_user = users["ola@example.org"], users["anna@example.org"]
        from flask_login import login_user

        login_user(ola_user)
        assert [p.id for p in operations.profiles_for(ola_user)] == [group_id]
        assert operations.can_edit(ola_user, group) and operations.can_edit(anna_user, group)
        assert not operations.is_owner(ola_user, group)
    assert "profile.editor_added" in audit_changes(app)

    editors_page = site.get(f"/profiles/{group_id}/editors").get_data(as_text=True)
    editor_id = re.search(r"/editors/(\d+)/remove", editors_page).group(1)
    assert site.post(f"/profiles/{group_id}/editors/{editor_id}/remove").status_code == 302
    assert ola.get(f"/profiles/{group_id}").status_code == 404


def test_helpers_for_other_modules(site, create_user, in_tenant, create_tenant):
    group_id = create_group(site)
    org_id = create_organisation(site)
    create_user("bob@example.org", roles=["applicant"])

    from flask_login import AnonymousUserMixin

    from core.accounts.models import User
    from core.applicants import operations
    from core.applicants.models import ApplicantProfile
    from core.db import db

    with in_tenant():
        anna = db.session.execute(db.select(User).where(User.email == "anna@example.org")
                                  ).scalar_one()
        bob = db.session.execute(db.select(User).where(User.email == "bob@example.org")
                                 ).scalar_one()
        assert sorted(p.id for p in operations.profiles_for(anna)) == [group_id, org_id]
        assert operations.profiles_for(bob) == []
        assert operations.profiles_for(AnonymousUserMixin()) == []
        group = db.session.get(ApplicantProfile, group_id)
        assert operations.can_edit(anna, group) and not operations.can_edit(bob, group)
    create_tenant("gmina-b")
    with in_tenant("gmina-b"):
        anna = db.session.execute(db.select(User).where(User.email == "anna@example.org")
                                  ).scalar_one()
        assert operations.profiles_for(anna) == []  # only the current tenant's profiles


def test_next_after_creating_a_profile_stays_on_this_site(site):
    for target in ("https://evil.example.org/", "//evil.example.org/", "/\\evil.example.org"):
        response = site.post("/profiles/new", query_string={"kind": "public_institution",
                                                            "next": target},
                             data={"name": "Szkoła", "seat": "Lipiny"})
        assert response.status_code == 302
        assert re.search(r"/profiles/\d+$", response.headers["Location"]), target


def test_a_patron_link_of_one_tenant_does_not_work_on_another(
        site, create_tenant, create_user, clients, outbox):
    group_id = create_group(site)
    site.post(f"/profiles/{group_id}/patron", data={"email": "org@example.org"})
    link_path = path_of(link_in(outbox()[-1][2]))
    create_tenant("gmina-b")
    create_user("org@example.org", roles=["applicant"], tenant="gmina-b")
    b = clients("gmina-b")
    b.login("org@example.org")
    assert b.get(link_path).status_code == 404


# --- on a phone, with and without JavaScript --------------------------------------------

@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_a_group_is_entered_on_a_phone(chromium, live_server, create_tenant, create_user,
                                       javascript, in_tenant):
    create_tenant("gmina-a", name="Gmina Lipiny")
    create_user("anna@example.org", roles=["applicant"])
    context = chromium.new_context(java_script_enabled=javascript, locale="pl-PL",
                                   viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.goto(live_server.url(f"gmina-a.{BASE}", "/login"))
    page.get_by_label("E-mail").fill("anna@example.org")
    page.get_by_label("Hasło").fill(PASSWORD)
    page.get_by_role("button", name="Zaloguj").click()
    page.get_by_role("link", name="Moje profile").click()
    page.get_by_role("link", name="Dodaj profil").click()
    page.get_by_role("link", name="Grupa nieformalna").click()
    page.get_by_label("Nazwa grupy").fill("Przyjaciele parku")
    for row, (name, born) in enumerate([("Anna Nowak", "1980-01-01"),
                                        ("Jan Kowalski", "1990-06-12"),
                                        ("Ewa Wiśniewska", "1944-05-14")]):
        page.locator(f"#people-{row}-name").fill(name)
        page.locator(f"#people-{row}-birth_date").fill(born)
    page.get_by_label("Przedstawiciel grupy").nth(1).check()
    page.get_by_role("button", name="Dodaj osobę").click()
    page.locator("#people-3-name").fill("Piotr Nowy")
    page.locator("#people-3-birth_date").fill("2001-09-30")
    # Nothing typed was lost by adding the row; the page fits the screen.
    assert page.get_by_label("Nazwa grupy").input_value() == "Przyjaciele parku"
    assert page.locator("#people-2-name").input_value() == "Ewa Wiśniewska"
    assert page.locator("#representative-1").is_checked()
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    page.get_by_role("button", name="Zapisz profil").click()
    assert page.locator("h1").inner_text() == "Przyjaciele parku"
    assert page.get_by_text("Piotr Nowy").is_visible()
    context.close()
    assert [name for _id, _kind, name in profiles(in_tenant)] == ["Przyjaciele parku"]
