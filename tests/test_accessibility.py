"""Accessibility in a real browser: axe-core (WCAG 2.1 A and AA) over every page of every
role, in Polish and in English, and a keyboard-only journey through the generator.

axe-core is vendored under core/static/vendor/axe/ (from the npm registry), so the tests
need no network; it is loaded from the live server's own origin, which the CSP allows.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from browser import chromium, live_server  # noqa: F401  (fixtures)
from conftest import BASE, PASSWORD

WARSAW = ZoneInfo("Europe/Warsaw")
UTC = dt.UTC
AXE = "/static/vendor/axe/axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
TENANT = f"gmina-a.{BASE}"

# Routes that are not pages a person reads: files, fragments, and links from e-mails,
# which are checked with a token the test cannot know (their pages are the forms below).
NOT_PAGES = {
    "static", "theme.css",
    "applications.receipt_pdf", "results.download", "calls.document",
    "applications.new_row",
    "accounts.confirm", "accounts.accept_invitation", "accounts.reset",
    "applicants.patron_confirm",
    # An e-mail's HTML as its recipient sees it (tests/test_mail_templates.py checks those).
    "outbox.message_html",
}

# (role, host, endpoint, arguments); the arguments name attributes of the world.
PAGES = [
    ("public", TENANT, "site.home", {}),
    ("public", TENANT, "calls.index", {}),
    ("public", TENANT, "calls.show", {"ref": "lpm-2027"}),
    ("public", TENANT, "results.index", {}),
    ("public", TENANT, "results.public_results", {"ref": "lpm-2025"}),
    ("public", TENANT, "accounts.login", {}),
    ("public", TENANT, "accounts.register", {}),
    ("public", TENANT, "accounts.reset_request", {}),
    ("applicant", TENANT, "applications.dashboard", {}),
    ("applicant", TENANT, "applications.start", {"ref": "lpm-2027"}),
    *[("applicant", TENANT, "applications.step", {"application_id": "draft", "step": step})
      for step in ("applicant", "project", "schedule", "budget", "contribution", "summary")],
    ("applicant", TENANT, "applications.receipt", {"application_id": "submitted"}),
    ("applicant", TENANT, "applications.withdraw", {"application_id": "submitted"}),
    ("applicant", TENANT, "results.application", {"application_id": "invited"}),
    ("applicant", TENANT, "results.resign", {"application_id": "invited"}),
    ("applicant", TENANT, "applicants.index", {}),
    ("applicant", TENANT, "applicants.new", {}),
    ("applicant", TENANT, "applicants.detail", {"profile_id": "group"}),
    ("applicant", TENANT, "applicants.edit", {"profile_id": "group"}),
    ("applicant", TENANT, "applicants.editors", {"profile_id": "group"}),
    ("applicant", TENANT, "applicants.members", {"profile_id": "group"}),
    ("applicant", TENANT, "applicants.patron", {"profile_id": "group"}),
    ("evaluator", TENANT, "review.my_assignments", {}),
    ("evaluator", TENANT, "review.assignment", {"assignment_id": "assignment"}),
    ("committee", TENANT, "committee.index", {}),
    ("committee", TENANT, "committee.ranking", {"call_id": "closed_call"}),
    ("committee", TENANT, "committee.interviews", {"call_id": "closed_call"}),
    ("committee", TENANT, "committee.stage2", {"application_id": "invited"}),
    ("committee", TENANT, "committee.award", {"application_id": "invited"}),
    ("admin", TENANT, "committee.record_resignation", {"application_id": "invited"}),
    ("admin", TENANT, "calls.admin_index", {}),
    ("admin", TENANT, "calls.admin_new", {}),
    ("admin", TENANT, "calls.admin_edit", {"call_id": "open_call"}),
    ("admin", TENANT, "review.calls", {}),
    ("admin", TENANT, "review.evaluators", {"call_id": "closed_call"}),
    ("admin", TENANT, "review.formal_list", {"call_id": "closed_call"}),
    ("admin", TENANT, "review.formal", {"application_id": "invited"}),
    ("admin", TENANT, "review.cards", {"application_id": "invited"}),
    ("admin", TENANT, "admin.members", {}),
    ("admin", TENANT, "admin.member", {"membership_id": "membership"}),
    ("admin", TENANT, "admin.audit", {}),
    ("admin", TENANT, "admin.audit_event", {"event_id": "event"}),
    ("admin", TENANT, "payments.index", {}),
    ("admin", TENANT, "payments.ledger", {"application_id": "operator_paid"}),
    ("applicant", TENANT, "payments.group_ledger", {"application_id": "operator_paid"}),
    ("operator", BASE, "console.tenants", {}),
    ("operator", BASE, "console.tenant", {"slug": "gmina-a"}),
    ("operator", BASE, "console.create_tenant", {}),
    ("operator", BASE, "outbox.index", {}),
    ("operator", BASE, "outbox.message", {"message_id": "message"}),
    ("operator", BASE, "console.jobs_page", {}),
    ("applicant", TENANT, "notices.preferences", {}),
    ("public", TENANT, "notices.turn_off", {"token": "notice_token"}),
]

LOGINS = {"applicant": "anna@example.org", "evaluator": "ocena@example.org",
          "committee": "kom@example.org", "admin": "admin@example.org",
          "operator": "operator@example.org"}


def test_every_page_is_in_the_axe_sweep(app):
    """A new page fails here until it is added to PAGES (or named in NOT_PAGES)."""
    pages = {rule.endpoint for rule in app.url_map.iter_rules() if "GET" in rule.methods
             and not rule.endpoint.startswith("sample.")}  # the tests' own sample plugin
    swept = {endpoint for _, _, endpoint, _ in PAGES}
    assert pages - NOT_PAGES - swept == set()
    assert swept - pages == set()


# --- the world ----------------------------------------------------------------------------

@pytest.fixture
def world(app, create_tenant, create_user, clients):
    """Gmina A (lpm) with a published call and its document, a closed call with an
    application invited to stage II (formally accepted, a score card, an interview slot),
    Anna's informal group with three members, her draft and submitted applications, and
    each role's person."""
    from core.accounts.models import Membership
    from core.applicants.models import ApplicantProfile, Person, ProfileMember
    from core.applications.models import Application
    from core.audit.models import AuditEvent
    from core.calls.models import Call, CallDocument
    from core.db import Scope, db, reset_scope, set_scope, tenant_scope
    from core.evaluation import decisions
    from core.evaluation.models import Assignment, FormalReview, InterviewSlot, ScoreCard
    from core.notifications.models import OutboxMessage
    from test_applications import _fill, _start

    tenant_id = create_tenant("gmina-a", variants=["lpm"], name="Gmina Lipiny")
    w = SimpleNamespace(tenant_id=tenant_id)
    w.anna = create_user("anna@example.org", roles=["applicant"])
    w.evaluator = create_user("ocena@example.org", roles=["evaluator"])
    create_user("kom@example.org", roles=["committee"])
    create_user("admin@example.org", roles=["admin"])
    create_user("operator@example.org", platform_role="operator_staff")
    today = dt.datetime.now(WARSAW).date()
    deadline_day = today + dt.timedelta(days=30)
    w.start = deadline_day + dt.timedelta(days=30)
    params = {
        "deadline": deadline_day.isoformat(), "pool": "38000.00", "amount_min": "1000.00",
        "amount_max": "4000.00", "young_ngo_amount_max": "5000.00",
        "young_ngo_max_age_months": 30, "young_ngo_max_revenue": "25000.00",
        "admin_max_percent": 10, "min_group_members": 3, "group_requires_patron": True,
        "eligible_gminas": ["Lipiny"], "realization_start": w.start.isoformat(),
        "realization_end": (w.start + dt.timedelta(days=180)).isoformat(),
        "stage1_max_points": 18, "stage1_pass_mark": "10.00", "stage2": True,
        "stage2_max_points": 12, "cutoff_policy": "STOP", "operator_staff": []}
    with app.app_context(), tenant_scope(tenant_id):
        organisation = ApplicantProfile(
            kind="ngo", name="Stowarzyszenie Przyjaciół Lipin", legal_form="association",
            krs="0000123456", registered_on=dt.date(2015, 2, 1),
            revenue_last_year=Decimal("120000.00"), seat="Lipiny", owner_id=w.anna)
        group = ApplicantProfile(kind="group", name="Sąsiedzi z Lipowej", owner_id=w.anna)
        db.session.add_all([organisation, group])
        db.session.flush()
        for n, name in enumerate(("Anna Nowak", "Jan Kowalski", "Ewa Wiśniewska")):
            person = Person(name=name, birth_date=dt.date(1980 + n, 5, 1), email=None)
            db.session.add(ProfileMember(profile_id=group.id, person=person, role="member"))
        open_call = Call(
            ref="lpm-2027", title="Mikrogranty Lipiny 2027", variant="lpm", status="published",
            params=params, pool=Decimal("38000.00"),
            deadline_at=dt.datetime(deadline_day.year, deadline_day.month, deadline_day.day,
                                    23, 59, 59, tzinfo=WARSAW).astimezone(UTC),
            realization_start=w.start, realization_end=w.start + dt.timedelta(days=180))
        closed_call = Call(
            ref="lpm-2025", title="Mikrogranty Lipiny 2025", variant="lpm", status="closed",
            params={**params, "deadline": "2025-03-31"}, pool=Decimal("10000.00"),
            deadline_at=dt.datetime(2025, 3, 31, 21, 59, 59, tzinfo=UTC))
        db.session.add_all([open_call, closed_call])
        db.session.flush()
        db.session.add(CallDocument(call_id=open_call.id, title="Regulamin naboru",
                                    filename="regulamin.pdf", stored_name="a11y-regulamin",
                                    size=1024, sha256="0" * 64))
        invited = Application(
            call_id=closed_call.id, ref="A1", applicant_id=organisation.id, status="invited",
            title="Warsztaty rękodzieła", requested=Decimal("3500.00"), created_by_id=w.anna,
            content={"description": "Cykl warsztatów.", "place_gmina": "Lipiny",
                     "project_type": "activation"},
            place={"gmina": "Lipiny"}, submitted_at=dt.datetime(2025, 3, 20, 9, tzinfo=UTC),
            receipt_number="LPM-2025/0001", stage1_score=Decimal("15"))
        db.session.add(invited)
        db.session.flush()
        db.session.add(FormalReview(application_id=invited.id, status="accepted", items=[]))
        assignment = Assignment(application_id=invited.id, evaluator_id=w.evaluator, stage=1,
                                status="declared", declared_at=dt.datetime.now(UTC))
        assignment.card = ScoreCard(points={}, justifications={})
        db.session.add(assignment)
        db.session.add(InterviewSlot(call_id=closed_call.id, place="Urząd Gminy, sala 12",
                                     starts_at=dt.datetime.now(UTC) + dt.timedelta(days=9),
                                     published=True))
        db.session.flush()
        w.open_call, w.closed_call, w.invited = open_call.id, closed_call.id, invited.id
        w.assignment, w.group, w.profile_id = assignment.id, group.id, organisation.id
        w.membership = db.session.execute(db.select(Membership.id).limit(1)).scalar_one()
        db.session.commit()
        closed = db.session.execute(db.select(Call).where(Call.ref == "lpm-2025")).scalar_one()
        decisions.approve_stage1_list(closed, None)
        decisions.publish_list(closed, "stage1", None)
        db.session.commit()
        w.operator_paid = _operator_paid_project(w, group.id)
    site = clients("gmina-a")
    site.login("anna@example.org")
    w.submitted = _start(site, w)
    _fill(site, w, w.submitted)
    assert site.post(f"/applications/{w.submitted}/submit",
                     data={"token": "tok"}).status_code == 303
    w.draft = _start(site, w)
    _fill(site, w, w.draft)
    with app.app_context():
        token = set_scope(Scope(platform=True, reason="tests"))
        try:
            w.event = db.session.execute(db.select(AuditEvent.id).where(
                AuditEvent.tenant_id == tenant_id).limit(1)).scalar_one()
            w.message = db.session.execute(db.select(OutboxMessage.id).limit(1)).scalar()
            if w.message is None:
                db.session.add(OutboxMessage(tenant_id=tenant_id, recipient="anna@example.org",
                                             subject="Potwierdzenie", body_text="Dzień dobry"))
                db.session.commit()
                w.message = db.session.execute(db.select(OutboxMessage.id)).scalar()
            from core.accounts.models import User
            from core.notifications.notices import unsubscribe_token

            anna = db.session.execute(db.select(User.id).where(
                User.email == "anna@example.org")).scalar_one()
            w.notice_token = unsubscribe_token(anna, "deadline_reminder", tenant_id)
        finally:
            reset_scope(token)
    return w


def _operator_paid_project(w, group_id) -> int:
    """A funded project of Anna's group in a call whose costs the operator pays, with its
    ledger opened, one purchase and one cancelled (the ledger's pages)."""
    from core.applications.models import Application, BudgetLine
    from core.calls.models import Call
    from core.db import db
    from core.payments import operations

    call = Call(ref="dl-2024", title="Działaj Lokalnie 2024", variant="lpm", status="closed",
                params={"pool": "6000.00", "payment_mode": "operator_paid"},
                pool=Decimal("6000.00"), deadline_at=dt.datetime(2024, 3, 31, 21, 59, 59,
                                                                 tzinfo=UTC))
    db.session.add(call)
    db.session.flush()
    funded = Application(
        call_id=call.id, ref="DL1", applicant_id=group_id, status="funded", mode="dl_initiative",
        title="Ławki na skwerze", requested=Decimal("1800.00"), allocated=Decimal("1500.00"),
        created_by_id=w.anna, start=dt.date(2024, 6, 1), end=dt.date(2024, 9, 30),
        submitted_at=dt.datetime(2024, 3, 20, 9, tzinfo=UTC), receipt_number="DL-2024/0001")
    funded.budget = [BudgetLine(position=0, category="materials", item="Deski i farby",
                                amount=Decimal("1300.00")),
                     BudgetLine(position=1, category="food", item="", amount=Decimal("500.00"))]
    db.session.add(funded)
    db.session.flush()
    operations.ledger_for(funded)
    line = operations.lines_of(funded)[0]
    for number in ("FV 1/2024", "FV 2/2024"):
        operations.record_purchase(funded, line_id=line.id, supplier="Tartak Lipiny",
                                   invoice_number=number, invoice_date=dt.date(2024, 6, 10),
                                   amount=Decimal("420.50"))
    operations.cancel_purchase(operations.purchases_of(funded)[-1], "Wpisana dwa razy")
    db.session.commit()
    return funded.id


def _path(app, endpoint, arguments, world):
    from flask import url_for

    values = {name: getattr(world, value) if name.endswith("_id") or name == "token"
              else value for name, value in arguments.items()}
    with app.test_request_context(base_url=f"https://{TENANT}"):
        return url_for(endpoint, **values)


def _login(page, live_server, hostname, email):
    page.goto(live_server.url(hostname, "/login"))
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form:has(#password) button[type=submit]").click()
    page.wait_for_load_state()
    assert "/login" not in page.url, f"{email} could not log in"


def _choose_language(page, live_server, hostname, locale):
    if locale == "pl":
        return
    page.goto(live_server.url(hostname, "/"))
    page.locator("#language-select").select_option(locale)
    page.locator("form.language-switch button").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == locale


def _axe(page) -> list[dict]:
    """The violations axe finds on the page (and proof that it checked something)."""
    page.add_script_tag(url=AXE)
    result = page.evaluate(
        """tags => axe.run(document, {runOnly: {type: 'tag', values: tags},
                                      resultTypes: ['violations']})
                  .then(r => ({passes: r.passes.length, violations: r.violations.map(v => ({
                      id: v.id, impact: v.impact, help: v.help,
                      targets: v.nodes.slice(0, 5).map(n => n.target.join(' '))}))}))""",
        WCAG)
    assert result["passes"] > 5, f"axe checked nothing on {page.url}"
    return result["violations"]


@pytest.mark.slow
@pytest.mark.parametrize("locale", ["pl", "en"])
def test_every_page_has_no_wcag_violations(chromium, live_server, world, app,  # noqa: F811
                                           locale):
    found, visited = [], 0
    for role in ("public", "applicant", "evaluator", "committee", "admin", "operator"):
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        hostname = BASE if role == "operator" else TENANT
        if role != "public":
            _login(page, live_server, hostname, LOGINS[role])
        _choose_language(page, live_server, hostname, locale)
        for who, host, endpoint, arguments in PAGES:
            if who != role:
                continue
            path = _path(app, endpoint, arguments, world)
            response = page.goto(live_server.url(host, path))
            assert response is not None and response.status == 200, (role, path,
                                                                      response and response.status)
            assert page.locator("html").get_attribute("lang") == locale, path
            visited += 1
            for violation in _axe(page):
                found.append(f"{locale} {role} {path}: {violation['id']} ({violation['impact']})"
                             f" {violation['help']} → {violation['targets']}")
        context.close()
    assert visited == len(PAGES)
    assert not found, "axe found WCAG 2.1 A/AA violations:\n" + "\n".join(found)


# --- the keyboard only ----------------------------------------------------------------------

# The controls of the step's form a keyboard must reach (one radio per group).
CONTROLS = """() => {
  const form = document.querySelector('#step-form');
  const seen = new Set(), keys = [];
  for (const el of form.querySelectorAll('input, select, textarea, button')) {
    if (el.type === 'hidden' || el.disabled || el.tabIndex < 0 || !el.offsetParent) continue;
    const key = el.type === 'radio' ? 'radio:' + el.name : (el.id || el.name + '=' + el.value);
    if (!seen.has(key)) { seen.add(key); keys.push(key); }
  }
  return keys;
}"""
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const again = el.dataset.keyboardSeen === '1';
  el.dataset.keyboardSeen = '1';
  return {again, key: el.type === 'radio' ? 'radio:' + el.name : (el.id || el.name + '=' + el.value),
          visible: (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0)
                   || style.boxShadow !== 'none',
          next: el.matches('button[name=action][value=next]')};
}"""


def _tab_through(page) -> tuple[set, list]:
    """Tab through the whole page once: what got the focus, and what showed no focus."""
    reached, unseen, previous = set(), [], None
    for _ in range(200):
        page.keyboard.press("Tab")
        now = page.evaluate(FOCUSED)
        if now is None or now["key"] == previous:  # a date field's day, month and year
            continue
        if now["again"]:  # round the page once
            break
        previous = now["key"]
        reached.add(now["key"])
        if not now["visible"]:
            unseen.append(now["key"])
    return reached, unseen


def _focus_next_button(page):
    for _ in range(150):
        page.keyboard.press("Shift+Tab")
        now = page.evaluate(FOCUSED)
        if now and now["next"]:
            return
    raise AssertionError("the keyboard cannot reach 'Save and continue'")


@pytest.mark.slow
def test_keyboard_alone_goes_through_the_generator(chromium, live_server, world):  # noqa: F811
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(live_server.url(TENANT, "/login"))
    # Log in: Tab to the e-mail field, type, Tab on, type, Enter.
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "email":
            break
    page.keyboard.type("anna@example.org")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"^(?!.*/login)"))
    page.goto(live_server.url(TENANT, f"/applications/{world.draft}/applicant"))
    titles = []
    for _ in range(5):
        titles.append(page.locator("h2#step-title").inner_text())
        controls = set(page.evaluate(CONTROLS))
        reached, unseen = _tab_through(page)
        assert controls <= reached, (titles[-1], controls - reached)
        assert not unseen, (titles[-1], "focus not visible on", unseen)
        _focus_next_button(page)
        with page.expect_navigation():
            page.keyboard.press("Enter")
    assert page.locator("h2#step-title").inner_text() == "Podsumowanie"
    assert titles[0] == "Wnioskodawca i realizator" and titles[1] == "Opis projektu"
    assert titles[3:] == ["Budżet",
                          "Wkład własny"]
    # On the summary the submit button is reachable too, with a visible focus.
    reached, unseen = _tab_through(page)
    assert not unseen, unseen
    submit = page.evaluate("""() => { const b = [...document.querySelectorAll('main button')]
        .find(b => b.textContent.trim() === 'Złóż wniosek'); return b && (b.id || b.name + '=' + b.value); }""")
    assert submit in reached
    context.close()
