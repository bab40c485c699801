"""Every tenant-scoped model: a row of tenant A is invisible from tenant B, in the ORM and over HTTP.

Adding a tenant-scoped model without a row in ``ROWS`` below fails ``test_every_model_is_covered``.
"""
from __future__ import annotations

import datetime as dt

import pytest

from conftest import BASE


def _membership(tenant_id, user_id):
    from core.accounts.models import Membership
    return Membership(tenant_id=tenant_id, user_id=user_id, role="evaluator")


def _audit(tenant_id, user_id):
    from core.audit.models import AuditEvent
    return AuditEvent(tenant_id=tenant_id, actor_id=user_id, action="test.marker",
                      changes={"marker": "TAJNE-A"})


def _invitation(tenant_id, user_id):
    from core.accounts.models import Invitation
    from core.accounts.tokens import hash_token
    from core.db import utcnow
    return Invitation(tenant_id=tenant_id, email="zaproszona@example.org", role="evaluator",
                      token_hash=hash_token("token-of-a"), invited_by_id=user_id,
                      expires_at=utcnow() + dt.timedelta(days=3))


def _outbox(tenant_id, user_id):
    from core.notifications.models import OutboxMessage
    return OutboxMessage(tenant_id=tenant_id, recipient="anna@example.org", sender="A",
                         subject="TAJNE-A", body_text="TAJNE-A", template="test")


def _sample_note(tenant_id, user_id):
    from mikrogranty_sample.models import SampleNote
    return SampleNote(tenant_id=tenant_id, title="TAJNE-A")


def _profile(tenant_id, user_id):
    from core.applicants.models import ApplicantProfile
    return ApplicantProfile(tenant_id=tenant_id, owner_id=user_id, kind="group", name="TAJNE-A")


def _person(tenant_id, user_id):
    from core.applicants.models import Person
    return Person(tenant_id=tenant_id, name="TAJNE-A", birth_date=dt.date(1980, 1, 1))


def _profile_member(tenant_id, user_id):
    from core.applicants.models import ProfileMember
    return ProfileMember(tenant_id=tenant_id, profile=_profile(tenant_id, user_id),
                         person=_person(tenant_id, user_id), role="member")


def _profile_editor(tenant_id, user_id):
    from core.applicants.models import ProfileEditor
    return ProfileEditor(tenant_id=tenant_id, profile=_profile(tenant_id, user_id),
                         user_id=user_id)


def _call(tenant_id, user_id, ref="tajne-a"):
    from core.calls.models import Call
    return Call(tenant_id=tenant_id, ref=ref, title="TAJNE-A", variant="lpm",
                status="published", params={"pool": "1000.00"})


def _call_document(tenant_id, user_id):
    from core.calls.models import CallDocument
    return CallDocument(tenant_id=tenant_id, call=_call(tenant_id, user_id, "tajne-a-dok"),
                        title="TAJNE-A", filename="tajne-a.pdf", size=5, sha256="0" * 64,
                        stored_name="TajneTajneTajneTajneA.pdf")


def _call_import(tenant_id, user_id):
    from core.interchange.models import CallImport
    return CallImport(tenant_id=tenant_id, call=_call(tenant_id, user_id, "tajne-a-import"),
                      format="mikrogranty/call@1", sha256="0" * 64,
                      evaluations=[{"application": "TAJNE-A", "stage": 1, "points": "1"}],
                      events=[])


def _application(tenant_id, user_id, ref="tajne-a-wniosek"):
    from core.applications.models import Application
    return Application(tenant_id=tenant_id, call=_call(tenant_id, user_id, ref),
                       title="TAJNE-A", created_by_id=user_id)


def _budget_line(tenant_id, user_id):
    from decimal import Decimal

    from core.applications.models import BudgetLine
    return BudgetLine(tenant_id=tenant_id, application=_application(tenant_id, user_id, "tajne-a-b"),
                      category="materials", item="TAJNE-A", amount=Decimal("1.00"))


def _contribution_line(tenant_id, user_id):
    from decimal import Decimal

    from core.applications.models import ContributionLine
    return ContributionLine(tenant_id=tenant_id,
                            application=_application(tenant_id, user_id, "tajne-a-c"),
                            kind="financial", description="TAJNE-A", amount=Decimal("1.00"))


def _application_revision(tenant_id, user_id):
    from core.applications.models import ApplicationRevision
    return ApplicationRevision(tenant_id=tenant_id,
                               application=_application(tenant_id, user_id, "tajne-a-r"),
                               version=2, step="project", changes={"title": ["", "TAJNE-A"]})


def _formal_review(tenant_id, user_id):
    from core.evaluation.models import FormalReview
    return FormalReview(tenant_id=tenant_id,
                        application=_application(tenant_id, user_id, "tajne-a-f"),
                        status="rejected", reason="TAJNE-A")


def _assignment(tenant_id, user_id, ref="tajne-a-e"):
    from core.evaluation.models import Assignment
    return Assignment(tenant_id=tenant_id,
                      application=_application(tenant_id, user_id, ref),
                      evaluator_id=user_id, status="declared")


def _score_card(tenant_id, user_id):
    from core.evaluation.models import ScoreCard
    return ScoreCard(tenant_id=tenant_id, assignment=_assignment(tenant_id, user_id, "tajne-a-s"),
                     points={"total": "1"}, justifications={"total": "TAJNE-A"})


def _flushed(row):
    from core.db import db

    db.session.add(row)
    db.session.flush()
    return row


def _interview_slot(tenant_id, user_id):
    import datetime as dt

    from core.evaluation.models import InterviewSlot
    call = _flushed(_call(tenant_id, user_id, "tajne-a-slot"))
    return InterviewSlot(tenant_id=tenant_id, call_id=call.id, place="TAJNE-A",
                         starts_at=dt.datetime(2030, 1, 1, 10, tzinfo=dt.UTC), published=True)


def _committee_score(tenant_id, user_id):
    from decimal import Decimal

    from core.evaluation.models import CommitteeScore
    application = _flushed(_application(tenant_id, user_id, "tajne-a-k"))
    return CommitteeScore(tenant_id=tenant_id, application_id=application.id,
                          member_ref="TAJNE-A", points=Decimal("5"))


def _award(tenant_id, user_id):
    from decimal import Decimal

    from core.evaluation.models import Award
    application = _flushed(_application(tenant_id, user_id, "tajne-a-aw"))
    return Award(tenant_id=tenant_id, application_id=application.id, amount=Decimal("1.00"))


def _result_list(tenant_id, user_id):
    from core.evaluation.models import ResultList
    call = _flushed(_call(tenant_id, user_id, "tajne-a-rl"))
    return ResultList(tenant_id=tenant_id, call_id=call.id, kind="final",
                      results={"call": "TAJNE-A"})


def _ledger(tenant_id, user_id):
    from core.payments.models import Ledger
    application = _flushed(_application(tenant_id, user_id, "tajne-a-ledger"))
    return Ledger(tenant_id=tenant_id, application_id=application.id)


def _ledger_line(tenant_id, user_id, ref="tajne-a-ll"):
    from decimal import Decimal

    from core.payments.models import LedgerLine
    application = _flushed(_application(tenant_id, user_id, ref))
    return LedgerLine(tenant_id=tenant_id, application_id=application.id, position=1,
                      category="materials", item="TAJNE-A", planned=Decimal("100.00"))


def _purchase(tenant_id, user_id):
    from decimal import Decimal

    from core.payments.models import Purchase
    line = _flushed(_ledger_line(tenant_id, user_id, "tajne-a-pu"))
    return Purchase(tenant_id=tenant_id, application_id=line.application_id, line_id=line.id,
                    supplier="TAJNE-A", invoice_number="TAJNE-A",
                    invoice_date=dt.date(2027, 7, 1), amount=Decimal("10.00"))


# model name → (make a row of a tenant, the URL on tenant B that must not find it)
ROWS = {
    "Membership": (_membership, "/admin/members/{id}"),
    "AuditEvent": (_audit, "/admin/audit/{id}"),
    "Invitation": (_invitation, "/invitation/token-of-a"),
    "OutboxMessage": (_outbox, "/outbox/{id}"),
    "SampleNote": (_sample_note, "/sample/notes/{id}"),
    "Call": (_call, "/admin/calls/{id}"),
    "CallDocument": (_call_document, "/calls/tajne-a-dok/documents/{id}"),
    # An import is kept beside its call and shown with it.
    "CallImport": (_call_import, "/admin/calls/{id}"),
    "ApplicantProfile": (_profile, "/profiles/{id}"),
    # People, members and editors are shown only on their profile's pages.
    "Person": (_person, "/profiles/{id}"),
    "ProfileMember": (_profile_member, "/profiles/{id}/members"),
    "ProfileEditor": (_profile_editor, "/profiles/{id}/editors"),
    "Application": (_application, "/applications/{id}/summary"),
    # Lines and revisions are shown only on their application's pages.
    "BudgetLine": (_budget_line, "/applications/{id}/budget"),
    "ContributionLine": (_contribution_line, "/applications/{id}/contribution"),
    "ApplicationRevision": (_application_revision, "/applications/{id}/project"),
    # The formal check and the evaluators' work (core/evaluation/review_views.py).
    "FormalReview": (_formal_review, "/admin/applications/{id}/formal"),
    "Assignment": (_assignment, "/evaluation/{id}"),
    "ScoreCard": (_score_card, "/admin/applications/{id}/cards"),
    # Stage II, awards and the approved lists are shown on the call's committee pages
    # (core/evaluation/decision_views.py).
    "InterviewSlot": (_interview_slot, "/committee/calls/{id}/interviews"),
    "CommitteeScore": (_committee_score, "/committee/calls/{id}/interviews"),
    "Award": (_award, "/committee/calls/{id}/ranking"),
    "ResultList": (_result_list, "/committee/calls/{id}/ranking"),
    # The operator-paid ledger (core/payments): its lines and purchases are shown on it.
    "Ledger": (_ledger, "/payments/{id}"),
    "LedgerLine": (_ledger_line, "/payments/{id}"),
    "Purchase": (_purchase, "/payments/{id}"),
}
# Pages an administrator of B may not open at all (403 for any id, never a row of A).
NOT_FOR_ADMINS = {"OutboxMessage", "Application", "BudgetLine", "ContributionLine",
                  "ApplicationRevision", "Assignment"}


def test_every_model_is_covered(app):
    from core.db import tenant_scoped_models

    assert {m.__name__ for m in tenant_scoped_models()} == set(ROWS)


@pytest.fixture
def two_tenants(create_tenant, create_user):
    a = create_tenant("gmina-a", name="Gmina A")
    b = create_tenant("gmina-b", name="Gmina B")
    # An administrator of B (and operator staff) who looks for A's rows from B's site.
    admin_b = create_user("admin-b@example.org", roles=["admin"], tenant="gmina-b")
    create_user("operator@example.org", platform_role="operator_staff")
    return a, b, admin_b


def _make_row(app, name, tenant_id, user_id):
    from core.db import db, tenant_scope

    with app.app_context(), tenant_scope(tenant_id):
        row = ROWS[name][0](tenant_id, user_id)
        db.session.add(row)
        db.session.commit()
        return row.id


@pytest.mark.parametrize("name", sorted(ROWS))
def test_row_of_tenant_a_is_invisible_from_tenant_b_in_the_orm(app, two_tenants, name):
    from core.db import db, tenant_scope, tenant_scoped_models

    a, b, admin_b = two_tenants
    model = next(m for m in tenant_scoped_models() if m.__name__ == name)
    row_id = _make_row(app, name, a, admin_b)
    with app.app_context():
        with tenant_scope(b):
            assert db.session.execute(db.select(model).where(model.id == row_id)).first() is None
            assert row_id not in {r.id for r in db.session.scalars(db.select(model))}
        with tenant_scope(a):
            assert db.session.execute(db.select(model).where(model.id == row_id)).first()


# The outbox holds reset links: only operator staff may read it (admins get 403 for any id);
# applications are opened by applicants only.
VIEWERS = [(name, who) for name in sorted(ROWS)
           for who in ("admin-b@example.org", "operator@example.org")
           if not (name in NOT_FOR_ADMINS and who.startswith("admin"))]


@pytest.mark.parametrize("name, who", VIEWERS)
def test_row_of_tenant_a_gives_404_on_tenant_b(app, two_tenants, clients, name, who):
    a, b, admin_b = two_tenants
    row_id = _make_row(app, name, a, admin_b)
    site = clients("gmina-b")
    site.login(who)
    response = site.get(ROWS[name][1].format(id=row_id))
    assert response.status_code == 404
    assert "TAJNE-A" not in response.get_data(as_text=True)


def test_lists_on_tenant_b_show_nothing_of_tenant_a(app, two_tenants, clients):
    a, b, admin_b = two_tenants
    for name in ROWS:
        _make_row(app, name, a, admin_b)
    site = clients("gmina-b")
    site.login("operator@example.org")
    for path in ("/admin/members", "/admin/audit", "/outbox/", "/sample/notes", "/calls",
                 "/admin/calls", "/payments/", "/"):
        body = site.get(path).get_data(as_text=True)
        assert "TAJNE-A" not in body and "Gmina A" not in body, path
