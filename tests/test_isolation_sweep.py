"""The isolation sweep: every route of the app, on tenant B, with tenant A's object ids.

A world with one of each object is built in tenant A, every text field carrying a marker
(``TAJNE-A-…``).  Then every route of ``app.url_map`` is requested on tenant B's host, with
tenant A's ids (and refs, tokens) in every URL argument, as each kind of person of B:

* the answer never depends on whether the id exists in tenant A: it is exactly the answer
  for an id that exists nowhere (same status, same redirect);
* a person who holds the route's permission gets 404; anonymous people get the redirect
  to log in on a protected route and 404 on a public one; a signed-in person without the
  permission gets 403 — a refusal that is the same for every id, so it reveals nothing;
* no response (pages, lists, PDF and XLSX exports, JSON) contains A's marker.

URL arguments are filled from ``ARGUMENTS``: a route whose argument is not there fails
``test_every_url_argument_has_a_value``, so a route added later is swept too.
"""
from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
import zlib
from decimal import Decimal
from types import SimpleNamespace

import pytest

from conftest import PASSWORD

MARK = "TAJNE-A"
SLUG_A, SLUG_B = "gmina-a", "gmina-b"
INVITATION_TOKEN = "zaproszenie-gminy-a-0123456789"
PATRON_TOKEN = "patronat-gminy-a-0123456789"
B_ROLES = ["applicant", "evaluator", "committee", "admin"]
WHO = [None, *B_ROLES, "operator"]


def m(field: str) -> str:
    return f"{MARK}-{field}"


def build_world(app, create_tenant, create_user) -> SimpleNamespace:
    """Tenant A with one of each object (and its own people); tenant B with people only."""
    from core.accounts.models import Invitation, Membership
    from core.accounts.tokens import hash_token
    from core.applicants.models import ApplicantProfile, Person, ProfileEditor, ProfileMember
    from core.applications.models import (Application, ApplicationRevision, BudgetLine,
                                          ContributionLine)
    from core.audit.models import AuditEvent
    from core.calls.models import Call, CallDocument
    from core.db import db, tenant_scope, utcnow
    from core.evaluation.models import (Assignment, Award, CommitteeScore, FormalReview,
                                        InterviewSlot, ResultList, ScoreCard)
    from core.interchange.models import CallImport
    from core.notifications.models import OutboxMessage
    from core.notifications.notices import unsubscribe_token
    from core.payments.models import Ledger, LedgerLine, Purchase
    from mikrogranty_sample.models import SampleNote

    a = create_tenant(SLUG_A, name=m("gmina"))
    b = create_tenant(SLUG_B, name="Gmina B")
    users = {}
    for role in B_ROLES:
        users[f"{role}-a"] = create_user(f"{role}-a@example.org", roles=[role], tenant=SLUG_A)
        users[f"{role}-b"] = create_user(f"{role}-b@example.org", roles=[role], tenant=SLUG_B)
    users["operator"] = create_user("operator@example.org", platform_role="operator_staff")
    applicant, evaluator = users["applicant-a"], users["evaluator-a"]
    now = utcnow()
    with app.app_context(), tenant_scope(a):
        membership = db.session.execute(db.select(Membership).where(
            Membership.user_id == evaluator)).scalar_one()
        call = Call(ref="tajne-a-nabor", title=m("call-title"), description=m("call-description"),
                    variant="lpm", status="published",
                    # The operator pays its projects' costs: the application has a ledger.
                    params={"pool": "10000.00", "payment_mode": "operator_paid"},
                    deadline_at=now - dt.timedelta(days=30), pool=Decimal("10000.00"))
        document = CallDocument(call=call, title=m("document"), filename="tajne-a.pdf", size=5,
                                sha256="0" * 64, stored_name="TajneA0000000000000000.pdf")
        person = Person(name=m("person"), birth_date=dt.date(1980, 1, 1), email="tajne-a@example.org")
        profile = ApplicantProfile(owner_id=applicant, kind="group", name=m("profile"),
                                   seat=m("seat"), patron_token_hash=hash_token(PATRON_TOKEN),
                                   patron_invited_at=now)
        patron = ApplicantProfile(owner_id=applicant, kind="ngo", name=m("patron"),
                                  seat=m("patron-seat"))
        member = ProfileMember(profile=profile, person=person, role="member")
        editor = ProfileEditor(profile=profile, user_id=users["committee-a"])
        application = Application(call=call, title=m("application"), created_by_id=applicant,
                                  status="submitted", submitted_at=now - dt.timedelta(days=31),
                                  receipt_number=m("receipt"), content={"summary": m("content")},
                                  requested=Decimal("1000.00"))
        db.session.add_all([call, document, person, profile, patron, member, editor, application])
        db.session.flush()
        application.applicant_id = profile.id
        profile.patron_id = patron.id
        budget = BudgetLine(application=application, category="materials", item=m("budget-item"),
                            amount=Decimal("1000.00"))
        contribution = ContributionLine(application=application, kind="financial",
                                        description=m("contribution"), amount=Decimal("10.00"))
        revision = ApplicationRevision(application=application, version=2, step="project",
                                       changes={"title": ["", m("revision")]})
        review = FormalReview(application=application, status="accepted", reason=m("formal"))
        assignment = Assignment(application=application, evaluator_id=evaluator, status="declared")
        card = ScoreCard(assignment=assignment, points={"total": "1"},
                         justifications={"total": m("justification")})
        slot = InterviewSlot(call_id=call.id, place=m("place"), published=True,
                             starts_at=now + dt.timedelta(days=3))
        score = CommitteeScore(application_id=application.id, member_ref=m("member"),
                               points=Decimal("5"))
        award = Award(application_id=application.id, amount=Decimal("1000.00"))
        results = ResultList(call_id=call.id, kind="final", published_at=now, approved_at=now,
                             results={"call": m("results")})
        audit = AuditEvent(actor_id=applicant, action="test.marker", changes={"m": m("audit")})
        outbox = OutboxMessage(recipient="tajne-a@example.org", sender="A", subject=m("subject"),
                               body_text=m("body"), body_html=f"<p>{m('html')}</p>",
                               template="test")
        invitation = Invitation(email="tajne-a-invited@example.org", role="evaluator",
                                token_hash=hash_token(INVITATION_TOKEN), invited_by_id=applicant,
                                expires_at=now + dt.timedelta(days=3))
        note = SampleNote(title=m("note"))
        imported = CallImport(call=Call(ref="tajne-a-import", title=m("import"), variant="lpm",
                                        params={}), format="mikrogranty/call@1", sha256="1" * 64,
                              evaluations=[{"application": m("import-row")}], events=[])
        db.session.add_all([budget, contribution, revision, review, assignment, card, slot, score,
                            award, results, audit, outbox, invitation, note, imported])
        # The operator-paid ledger of the application (core/payments).
        ledger = Ledger(application_id=application.id)
        ledger_line = LedgerLine(application_id=application.id, position=1,
                                 category="materials", item=m("ledger-line"),
                                 planned=Decimal("1000.00"))
        db.session.add_all([ledger, ledger_line])
        db.session.flush()
        bought = Purchase(application_id=application.id, line_id=ledger_line.id,
                          supplier=m("supplier"), invoice_number=m("invoice"),
                          invoice_date=dt.date(2027, 7, 1), amount=Decimal("10.00"),
                          note=m("purchase-note"))
        db.session.add(bought)
        db.session.commit()
        return SimpleNamespace(
            a=a, b=b, users=users, call=call.id, ref=call.ref, document=document.id,
            person=person.id, profile=profile.id, group=profile.id, patron=patron.id,
            member=member.id, editor=editor.id, application=application.id, budget=budget.id,
            assignment=assignment.id, card=card.id, slot=slot.id, award=award.id,
            results=results.id, membership=membership.id, audit=audit.id, outbox=outbox.id,
            note=note.id, notice_token=unsubscribe_token(applicant, "deadline_reminder", a),
            purchase=bought.id)


# URL argument name → its value from tenant A's world (a callable of the world and the
# endpoint), and the value of something that exists nowhere.
ARGUMENTS = {
    "application_id": (lambda w, e: w.application, 987654),
    "assignment_id": (lambda w, e: w.assignment, 987654),
    "call_id": (lambda w, e: w.call, 987654),
    "document_id": (lambda w, e: w.document, 987654),
    "editor_id": (lambda w, e: w.editor, 987654),
    "event_id": (lambda w, e: w.audit, 987654),
    "group_id": (lambda w, e: w.group, 987654),
    "membership_id": (lambda w, e: w.membership, 987654),
    "message_id": (lambda w, e: w.outbox, 987654),
    "note_id": (lambda w, e: w.note, 987654),
    "profile_id": (lambda w, e: w.profile, 987654),
    "purchase_id": (lambda w, e: w.purchase, 987654),
    "slot_id": (lambda w, e: w.slot, 987654),
    "ref": (lambda w, e: w.ref, "nie-ma-takiego-naboru"),
    "slug": (lambda w, e: SLUG_A, "nie-ma-takiej-gminy"),
    "token": (lambda w, e: PATRON_TOKEN if e.startswith("applicants.") else
              w.notice_token if e.startswith("notices.") else INVITATION_TOKEN,
              "nie-ma-takiego-tokenu"),
    "job_id": (lambda w, e: "nie-ma-takiego-zadania", "nie-ma-takiego-zadania"),
    # Not ids: every value is tried (the steps of the application form, the lists, formats).
    "step": (lambda w, e: "project", "project"),
    "kind": (lambda w, e: "final", "final"),
    "fmt": (lambda w, e: "pdf", "pdf"),
}
ITERATED = {"fmt": ["pdf", "xlsx"], "kind": ["stage1", "final"],
            "step": ["applicant", "project", "budget", "contribution", "summary"]}


def routes(app):
    """(endpoint, rule, method) for every route but static files."""
    found = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if rule.endpoint == "static":
            continue
        methods = rule.methods - {"HEAD", "OPTIONS"}
        found.append((rule.endpoint, rule, "GET" if "GET" in methods else "POST"))
    return found


def urls(rule, endpoint, world):
    """The paths of ``rule`` with A's values, each beside the same path with unknown values."""
    names = sorted(rule.arguments)
    combos = [{}]
    for name in names:
        values = ITERATED.get(name)
        if values:
            combos = [{**c, name: (v, v)} for c in combos for v in values]
        else:
            of_a, nowhere = ARGUMENTS[name]
            combos = [{**c, name: (of_a(world, endpoint), nowhere)} for c in combos]
    result = []
    for combo in combos:
        a_path = _build(rule, {k: v[0] for k, v in combo.items()})
        none_path = _build(rule, {k: v[1] for k, v in combo.items()})
        result.append((a_path, none_path))
    return result


def _build(rule, values):
    from werkzeug.routing import Map

    adapter = Map([rule.empty()]).bind("x")
    return adapter.build(rule.endpoint, values, method=None)


def visible_text(response) -> str:
    """All the text a response carries: HTML/JSON, and inside XLSX (zip) and PDF streams."""
    data = response.get_data()
    parts = [data.decode("utf-8", "replace")]
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts += [archive.read(n).decode("utf-8", "replace") for n in archive.namelist()]
    if data[:4] == b"%PDF":
        for stream in re.findall(rb"stream\r?\n(.*?)endstream", data, re.DOTALL):
            try:
                parts.append(zlib.decompress(stream).decode("latin-1"))
            except zlib.error:
                pass
    return "\n".join(parts)


def test_every_url_argument_has_a_value(app):
    unknown = sorted({(rule.rule, name) for _, rule, _ in routes(app)
                      for name in rule.arguments if name not in ARGUMENTS})
    assert unknown == [], "give these URL arguments a value of tenant A in ARGUMENTS"


@pytest.fixture
def world(app, create_tenant, create_user):
    return build_world(app, create_tenant, create_user)


def _request(site, method, path):
    return site.get(path) if method == "GET" else site.post(path, data={})


@pytest.mark.parametrize("who", WHO, ids=lambda w: w or "anonymous")
def test_every_route_on_tenant_b_finds_nothing_of_tenant_a(app, world, clients, who):
    from flask import g
    from flask_login import login_user

    from core.accounts.models import User
    from core.accounts.permissions import PUBLIC, has_permission
    from core.accounts.permissions import blueprint_host_scope
    from core.db import db, tenant_scope
    from core.tenancy.models import Tenant

    site = clients(SLUG_B)
    email = None
    if who == "operator":
        email = "operator@example.org"
    elif who:
        email = f"{who}-b@example.org"
    if email:
        site.login(email, PASSWORD)
    problems, checked = [], 0
    for endpoint, rule, method in routes(app):
        permission = app.view_functions[endpoint].permission
        if endpoint == "accounts.logout":
            continue  # ends the session of the sweep; it names no object
        with app.test_request_context(base_url=f"https://{SLUG_B}.mikrogranty.test"), \
                tenant_scope(world.b):
            g.tenant = db.session.execute(db.select(Tenant).where(Tenant.slug == SLUG_B)).scalar_one()
            if email:
                login_user(db.session.execute(db.select(User).where(User.email == email)).scalar_one())
            allowed = has_permission(permission)
        for a_path, none_path in urls(rule, endpoint, world):
            response = _request(site, method, a_path)
            status = response.status_code
            text = visible_text(response)
            if MARK in text:
                problems.append(f"{method} {a_path}: shows {MARK}")
            baseline = _request(site, method, none_path)
            if (status, response.headers.get("Location", "").replace(a_path, "")) != (
                    baseline.status_code,
                    baseline.headers.get("Location", "").replace(none_path, "")):
                problems.append(f"{method} {a_path}: {status}, but {baseline.status_code} for "
                                f"{none_path} (reveals that the object exists)")
            if not _names_an_object(rule) or endpoint in USER_TOKENS:
                continue  # lists, forms, account links: the two checks above are what matters
            checked += 1
            if blueprint_host_scope(endpoint.rpartition(".")[0] or None) == "platform":
                expected = {404}  # the operator's console does not exist on tenant hosts
            elif allowed or permission == PUBLIC:
                expected = {404}
            elif who is None:
                expected = {302}
            else:
                expected = {403}
            if status not in expected:
                problems.append(f"{method} {a_path} as {who or 'anonymous'}: {status}, "
                                f"expected {sorted(expected)}")
            if status == 302 and "/login" not in response.headers["Location"]:
                problems.append(f"{method} {a_path}: redirects to {response.headers['Location']}")
    assert not problems, "\n".join(problems)
    assert checked > 50


# Links to a person's own account (users are not a tenant's rows): a link of A's is worth
# exactly as much on B as an unknown one, which the sweep checks; nothing more is expected.
USER_TOKENS = {"accounts.confirm", "accounts.reset"}


def _names_an_object(rule) -> bool:
    return any(name not in ITERATED for name in rule.arguments)


def test_lists_and_exports_of_tenant_b_show_nothing_of_tenant_a(app, world, clients):
    """Every route without an object in its URL (lists, dashboards, exports) as each role."""
    for who in WHO:
        site = clients(SLUG_B)
        if who == "operator":
            site.login("operator@example.org")
        elif who:
            site.login(f"{who}-b@example.org")
        for endpoint, rule, method in routes(app):
            if _names_an_object(rule) or method != "GET":
                continue
            for path, _ in urls(rule, endpoint, world):
                response = site.get(path)
                assert MARK not in visible_text(response), (who, path)
                assert response.status_code < 500, (who, path)


def test_the_guard_refuses_sql_without_a_tenant_condition(app, world):
    """The SQL guard of the suite (tests/sql_guard.py) is switched on and catches raw SQL."""
    import sqlalchemy as sa

    import sql_guard
    from core.db import db, platform_scope, tenant_scope

    assert sql_guard.unscoped("SELECT call.id FROM call WHERE call.id = ?", {"call"}) == ["call"]
    assert sql_guard.unscoped("SELECT c.id FROM call AS c JOIN application ON "
                              "application.call_id = c.id WHERE c.tenant_id = ?",
                              {"call", "application"}) == ["application"]
    assert sql_guard.unscoped("SELECT call.id FROM call WHERE call.tenant_id = ? AND "
                              "call.id = ?", {"call"}) == []
    with app.app_context(), tenant_scope(world.b):
        with pytest.raises(sql_guard.UnscopedTenantQuery):
            db.session.execute(sa.text("SELECT title FROM call WHERE id = :id"),
                               {"id": world.call})
        db.session.rollback()
        with platform_scope("tests: the guard lets the audited platform scope read"):
            assert db.session.execute(sa.text("SELECT title FROM call WHERE id = :id"),
                                      {"id": world.call}).scalar_one() == m("call-title")
        db.session.rollback()
