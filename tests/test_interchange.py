"""Importing whole editions (``mikrogranty/call@1``) and printing their results.

A document goes through the same models, rules and hooks as the web forms; a malformed
one is refused whole, naming the place, and stores nothing.
"""
from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.db import db, tenant_scope

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
LPM = json.loads((TESTS / "scenarios" / "lpm_debowa_wola_2025.json").read_text("utf-8"))
REF = LPM["call"]["ref"]


def document(**changes):
    doc = copy.deepcopy(LPM)
    doc.pop("expected")
    return doc


@pytest.fixture
def tenant(create_tenant):
    return create_tenant("gmina-a", variants=["lpm"])


def run_import(app, doc, slug="gmina-a"):
    from core.interchange.operations import import_call
    from core.tenancy.models import Tenant

    with app.app_context():
        t = db.session.execute(db.select(Tenant).where(Tenant.slug == slug)).scalar_one()
        with tenant_scope(t):
            try:
                call = import_call(doc, t)
                db.session.commit()
                return call.id
            except Exception:
                db.session.rollback()
                raise


def stored(app, tenant_id):
    """How many rows the tenant has in every table an import writes."""
    from core.applicants.models import ApplicantProfile, Person, ProfileMember
    from core.applications.models import Application, BudgetLine, ContributionLine
    from core.audit.models import AuditEvent
    from core.calls.models import Call
    from core.interchange.models import CallImport

    models = (Call, Person, ApplicantProfile, ProfileMember, Application, BudgetLine,
              ContributionLine, CallImport, AuditEvent)
    with app.app_context(), tenant_scope(tenant_id):
        return {m.__name__: db.session.scalar(db.select(sa.func.count()).select_from(m))
                for m in models}


def results(app, ref=REF, slug="gmina-a"):
    from core.interchange.operations import call_results, find_call
    from core.tenancy.models import Tenant

    with app.app_context():
        t = db.session.execute(db.select(Tenant).where(Tenant.slug == slug)).scalar_one()
        with tenant_scope(t):
            return call_results(find_call(ref))


# --- a good document ----------------------------------------------------------------------

def test_import_creates_the_edition_and_judges_it(app, tenant):
    from core.applicants.models import ApplicantProfile
    from core.applications.models import Application
    from core.audit.models import AuditEvent
    from core.calls.models import Call
    from core.interchange.models import CallImport

    call_id = run_import(app, document())
    with app.app_context(), tenant_scope(tenant):
        call = db.session.execute(db.select(Call).where(Call.id == call_id)).scalar_one()
        assert call.ref == REF and call.variant == "lpm" and call.status == "closed"
        assert call.pool == Decimal("12000.00")
        assert call.params["municipality_budget"] == "15000.00"
        assert call.deadline_at.isoformat() == "2025-03-31T21:59:59+00:00"
        assert str(call.realization_start) == "2025-05-01"
        apps = {a.ref: a for a in db.session.scalars(db.select(Application))}
        assert len(apps) == 9
        assert apps["A7"].status == "rejected"
        assert apps["A7"].rules == ["applicant.duplicate_application"]
        assert apps["A9"].status == "rejected" and apps["A9"].rules == ["amount.above_max"]
        # The evaluations, the allocation and A1's resignation are applied too
        # (tests/test_results.py and tests/test_scenarios.py check them in full).
        assert {r: a.status for r, a in apps.items() if a.status != "rejected"} == {
            "A1": "withdrawn", "A2": "funded", "A3": "funded", "A4": "below_threshold",
            "A5": "disqualified", "A6": "funded", "A8": "funded"}
        a1 = apps["A1"]
        assert a1.applicant.ref == "P1" and a1.realizer.ref == "G1"
        assert a1.requested == Decimal("4000.00") and len(a1.budget) == 5
        assert a1.budget_total == a1.requested
        assert {c.kind: c.amount for c in a1.contributions} == {
            "in_kind": Decimal("300.00"), "volunteer": Decimal("1200.00")}
        assert a1.submitted_at.isoformat() == "2025-03-12T08:00:00+00:00"
        assert a1.content_sha256 and a1.submitted_content["ref"] == "A1"
        assert apps["A2"].realizer is None
        g1 = db.session.execute(db.select(ApplicantProfile).where(
            ApplicantProfile.ref == "G1")).scalar_one()
        assert g1.patron.ref == "P1" and g1.representative.ref == "O1"
        assert [p.ref for p in g1.people("member")] == ["O1", "O2", "O3"]
        p1 = db.session.execute(db.select(ApplicantProfile).where(
            ApplicantProfile.ref == "P1")).scalar_one()
        assert [p.ref for p in p1.people("board")] == ["O10", "O11"]
        assert p1.krs == "0000287154" and p1.revenue_last_year == Decimal("84300.00")
        kept = db.session.execute(db.select(CallImport)).scalar_one()
        assert len(kept.evaluations) == 30 and kept.events == [
            {"type": "resignation", "application": "A1"}]
        actions = [e.action for e in db.session.scalars(db.select(AuditEvent))]
        assert actions.count("application.rejected") == 2
        assert "call.imported" in actions and "call.created" in actions


def test_results_of_an_imported_call(app, tenant):
    run_import(app, document())
    found = results(app)
    assert found["call"] == REF and found["pool"] == "12000.00"
    assert found["applications"]["A7"] == {"status": "rejected",
                                          "rules": ["applicant.duplicate_application"]}
    assert found["applications"]["A9"] == {"status": "rejected", "rules": ["amount.above_max"]}
    assert found["applications"]["A3"] == {"status": "funded", "rank": 1, "score": "27.50",
                                          "amount": "5000.00"}
    assert found["ranking"] == ["A3", "A1", "A2", "A6", "A8"]


def test_import_fires_application_state_changed(app, app_config, tenant):
    from core import create_app
    from core.plugins.toolkit import hookimpl
    from core.interchange.operations import import_call
    from core.tenancy.models import Tenant

    class Spy:
        def __init__(self):
            self.changes = []

        @hookimpl
        def application_state_changed(self, application, old, new, actor):
            self.changes.append((application.ref, old, new))

    spy = Spy()
    other = create_app(app_config, plugins={"spy": spy})
    with other.app_context():
        t = db.session.execute(db.select(Tenant).where(Tenant.slug == "gmina-a")).scalar_one()
        with tenant_scope(t):
            import_call(document(), t)
            db.session.commit()
    assert ("A1", "draft", "submitted") in spy.changes
    assert ("A7", "submitted", "rejected") in spy.changes
    assert ("A1", "submitted", "rejected") not in spy.changes


def test_operator_staff_refs_are_resolved_to_people(app, tenant):
    doc = document()
    doc["applicants"][1]["members"] = ["O1", "O2", "E1"]   # G1 gains an evaluator
    doc["events"] = []   # (A1's resignation would mark the rejected A1 withdrawn)
    run_import(app, doc)
    assert results(app)["applications"]["A1"] == {
        "status": "rejected", "rules": ["applicant.conflict_of_interest"]}


def test_the_same_document_twice_is_refused(app, tenant):
    from core.interchange import DocumentError

    run_import(app, document())
    before = stored(app, tenant)
    with pytest.raises(DocumentError) as refused:
        run_import(app, document())
    assert f'call.ref: a call "{REF}" exists already' in str(refused.value)
    assert stored(app, tenant) == before


def test_another_municipality_may_import_the_same_document(app, tenant, create_tenant):
    other = create_tenant("gmina-b", variants=["lpm"])
    run_import(app, document())
    run_import(app, document(), slug="gmina-b")
    assert stored(app, other)["Application"] == 9
    assert stored(app, tenant)["Application"] == 9


# --- malformed documents -------------------------------------------------------------------

def _set(doc, path, value):
    *parents, last = path
    target = doc
    for key in parents:
        target = target[key]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value


_DELETE = object()


def _drop_evaluations(doc, application, stage):
    doc["evaluations"] = [e for e in doc["evaluations"]
                          if not (e["application"] == application and e["stage"] == stage)]


MALFORMED = [
    ("budget amount not a number", [(("applications", 3, "budget", 1, "amount"), "abc")],
     "applications[3].budget[1].amount: not a number"),
    ("money as a float", [(("applications", 0, "requested"), 4000.0)],
     "applications[0].requested: money is a string with two decimals"),
    ("money without decimals", [(("applications", 0, "requested"), "4000")],
     "applications[0].requested: money needs exactly two decimals"),
    ("negative money", [(("applications", 2, "budget", 0, "amount"), "-5.00")],
     "applications[2].budget[0].amount: must not be negative"),
    ("a datetime without offset", [(("applications", 1, "submitted_at"), "2025-03-10T10:00:00")],
     "applications[1].submitted_at: needs its offset"),
    ("a date that does not exist", [(("applications", 0, "start"), "2025-13-01")],
     "applications[0].start: not a date"),
    ("a missing applicant", [(("applications", 2, "applicant"), "ZZ")],
     'applications[2].applicant: no applicant with ref "ZZ" in applicants'),
    ("a missing group member", [(("applicants", 1, "members", 2), "O99")],
     'applicants[1].members[2]: no person with ref "O99" in people'),
    ("a missing staff member", [(("call", "params", "operator_staff", 2), "E9")],
     'call.params.operator_staff[2]: no person with ref "E9" in people'),
    ("a duplicate ref", [(("people", 1, "ref"), "O1")],
     'people[1].ref: duplicate ref "O1" (also at people[0].ref)'),
    ("an application ref used by a person", [(("applications", 0, "ref"), "O5")],
     'applications[0].ref: duplicate ref "O5"'),
    ("no call ref", [(("call", "ref"), _DELETE)], "call.ref: missing"),
    ("an unknown variant", [(("call", "variant"), "nope")],
     'call.variant: unknown variant "nope" (available here: lpm)'),
    ("an unknown format", [(("format",), "mikrogranty/call@2")],
     'format: expected "mikrogranty/call@1"'),
    ("an unknown category", [(("applications", 0, "budget", 0, "category"), "beer")],
     "applications[0].budget[0].category: unknown category 'beer'"),
    ("an unknown applicant kind", [(("applicants", 0, "kind"), "company")],
     "applicants[0].kind: unknown kind 'company'"),
    ("points as a float", [(("evaluations", 0, "points"), 15.5)],
     "evaluations[0].points: give an integer or a string"),
    ("points above the stage's maximum", [(("evaluations", 0, "points"), "19")],
     "evaluations[0].points: 19 is above the stage's maximum (18)"),
    ("an award above the request",
     [(("events", 1), {"type": "award", "application": "A2", "amount": "1500.00"})],
     "events[1].amount: an award (1500.00) is never above the requested amount (1000.00)"),
    ("an unknown event", [(("events", 0, "type"), "party")],
     "events[0].type: unknown event type 'party'"),
    ("a call the calls operation refuses", [(("call", "params", "realization_start"),
                                             "2025-03-01")],
     "call.params.realization_start: "),
    ("a ref the calls operation refuses", [(("call", "ref"), "LPM 2025!")], "call.ref: "),
    ("parameters the variant's form refuses", [(("call", "params", "amount_min"), "5000.00")],
     "call.params.amount_max: Najwyższy mikrogrant nie może być niższy niż najniższy."),
]


@pytest.mark.parametrize("changes,message", [(c, m) for _, c, m in MALFORMED],
                         ids=[name for name, _, _ in MALFORMED])
def test_a_malformed_document_is_refused_naming_the_place(app, tenant, changes, message):
    from core.interchange import DocumentError

    doc = document()
    for path, value in changes:
        if path[0] == "events" and path[1] == len(doc["events"]):
            doc["events"].append(value)
        else:
            _set(doc, path, value)
    before = stored(app, tenant)
    with pytest.raises(DocumentError) as refused:
        run_import(app, doc)
    assert message in str(refused.value)
    assert stored(app, tenant) == before


def test_a_formally_valid_application_needs_stage_1_points(app, tenant):
    from core.interchange import DocumentError

    doc = document()
    _drop_evaluations(doc, "A8", 1)
    before = stored(app, tenant)
    with pytest.raises(DocumentError) as refused:
        run_import(app, doc)
    assert 'applications[7]: "A8" passes the formal rules but has no stage-1 points' in str(
        refused.value)
    assert stored(app, tenant) == before  # rows were written, judged, and rolled back


def test_a_rejected_application_needs_no_points(app, tenant):
    doc = document()
    _drop_evaluations(doc, "A7", 1)   # A7 has none anyway: it is a duplicate
    run_import(app, doc)


def test_a_stage_2_candidate_needs_points_or_a_no_show(app, tenant):
    from core.interchange import DocumentError

    doc = document()
    doc["evaluations"] = [e for e in doc["evaluations"] if not e.get("no_show")]
    with pytest.raises(DocumentError) as refused:
        run_import(app, doc)
    assert ('applications[4]: "A5" goes on to stage 2 but has neither stage-2 points nor '
            'no_show') in str(refused.value)


def test_below_the_pass_mark_needs_no_stage_2(app, tenant):
    doc = document()
    _drop_evaluations(doc, "A4", 2)   # 12.50 < 13.00: A4 has no stage 2 anyway
    run_import(app, doc)


def test_a_document_without_evaluations_records_the_submissions(app, tenant):
    doc = document()
    del doc["evaluations"]
    run_import(app, doc)
    assert stored(app, tenant)["Application"] == 9


def test_every_problem_is_listed(app, tenant):
    from core.interchange import DocumentError

    doc = document()
    doc["applications"][0]["requested"] = "x"
    doc["applications"][5]["place"] = "Dębowa Wola"
    with pytest.raises(DocumentError) as refused:
        run_import(app, doc)
    assert refused.value.problems == ["applications[0].requested: not a number",
                                      "applications[5].place: must be an object"]


def test_a_variant_the_municipality_does_not_run_is_refused(app, create_tenant):
    from core.interchange import DocumentError

    create_tenant("gmina-a", variants=[])
    with pytest.raises(DocumentError) as refused:
        run_import(app, document())
    assert 'call.variant: unknown variant "lpm" (available here: none)' in str(refused.value)


# --- commands ------------------------------------------------------------------------------

def write(tmp_path, doc, name="doc.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    return str(path)


def test_cli_import_and_results(app, tenant, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["calls", "import", write(tmp_path, document()),
                                 "--tenant", "gmina-a"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert f"Imported call {REF} into gmina-a: 9 applications, 2 rejected" in result.stderr
    result = runner.invoke(args=["calls", "results", REF, "--tenant", "gmina-a", "--json"])
    assert result.exit_code == 0
    found = json.loads(result.stdout)
    assert found == results(app)
    expected = LPM["expected"]
    assert found["call"] == expected["call"] and found["pool"] == expected["pool"]
    for ref in ("A7", "A9"):
        assert found["applications"][ref] == expected["applications"][ref]
    human = runner.invoke(args=["calls", "results", REF, "--tenant", "gmina-a"])
    assert "A7\trejected\tapplicant.duplicate_application" in human.stdout


def test_cli_refusals_exit_1_with_the_place_on_stderr(app, tenant, tmp_path):
    runner = app.test_cli_runner()
    before = stored(app, tenant)
    doc = document()
    doc["applications"][3]["budget"][1]["amount"] = "abc"
    result = runner.invoke(args=["calls", "import", write(tmp_path, doc), "--tenant", "gmina-a"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "applications[3].budget[1].amount: not a number" in result.stderr
    assert "Nothing was imported." in result.stderr

    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"format": ', "utf-8")
    result = runner.invoke(args=["calls", "import", str(bad_json), "--tenant", "gmina-a"])
    assert result.exit_code == 1 and "not valid JSON" in result.stderr

    result = runner.invoke(args=["calls", "import", write(tmp_path, document()),
                                 "--tenant", "nowhere"])
    assert result.exit_code == 1 and "no municipality 'nowhere'" in result.stderr

    result = runner.invoke(args=["calls", "results", "nope", "--tenant", "gmina-a", "--json"])
    assert result.exit_code == 1 and result.stdout == ""
    assert "no call 'nope' in gmina-a" in result.stderr

    event = json.loads((TESTS / "scenarios" / "academy_2025_autumn.json").read_text("utf-8"))
    result = runner.invoke(args=["calls", "import", write(tmp_path, event, "event.json"),
                                 "--tenant", "gmina-a"])
    assert result.exit_code == 1 and "flask events import" in result.stderr
    assert stored(app, tenant) == before


def test_the_commands_as_operators_run_them(tmp_path):
    """`flask --app core …` in a fresh process: no SECRET_KEY, JSON alone on stdout."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"SECRET_KEY", "ENABLED_PLUGINS", "FLASK_APP"}}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    flask = [sys.executable, "-m", "flask", "--app", "core"]

    def run(*args):
        return subprocess.run([*flask, *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)

    assert run("db", "upgrade").returncode == 0
    assert run("tenants", "create", "debowa", "--name", "Dębowa Wola").returncode == 0
    scenario = str(TESTS / "scenarios" / "lpm_debowa_wola_2025.json")
    imported = run("calls", "import", scenario, "--tenant", "debowa")
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout == ""
    again = run("calls", "import", scenario, "--tenant", "debowa")
    assert again.returncode == 1 and "exists already" in again.stderr
    shown = run("calls", "results", REF, "--tenant", "debowa", "--json")
    assert shown.returncode == 0, shown.stderr
    found = json.loads(shown.stdout)
    assert found["applications"]["A9"] == {"status": "rejected", "rules": ["amount.above_max"]}
