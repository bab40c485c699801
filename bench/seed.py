"""Seeding for the page benchmark and the query-count tests: one municipality with one
closed LPM call of ``applications`` applications, each scored by two evaluators, the
final list approved and published.

Rows are written through the models (the evaluation statuses through the real scoring,
approval and publication operations), so the pages read what production would hold.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

PASSWORD = "Kasztanowa-Aleja-17"


@dataclass
class Seeded:
    tenant_id: int
    call_id: int
    call_ref: str
    evaluator: str      # e-mail of an evaluator who scored every application
    committee: str      # e-mail of a committee member (sees the ranking)


def seed_evaluated_call(app, slug: str, applications: int, *, password: str = PASSWORD,
                        base_url: str | None = None) -> Seeded:
    """Create tenant ``slug`` (or use it) and a closed, evaluated call with a published
    final list; returns the ids and the staff's e-mails."""
    from core.accounts import operations as accounts
    from core.applicants.models import ApplicantProfile
    from core.applications.models import Application
    from core.calls.models import Call
    from core.db import db, tenant_scope
    from core.evaluation import decisions, scoring
    from core.evaluation.models import Assignment, ScoreCard
    from core.tenancy import operations as tenancy
    from core.tenancy.models import Tenant

    evaluator_email, other_email = f"oceniajaca@{slug}.example.org", f"oceniajacy@{slug}.example.org"
    committee_email = f"komisja@{slug}.example.org"
    with app.test_request_context(base_url=base_url or "http://localhost/"):
        tenant = db.session.execute(db.select(Tenant).where(Tenant.slug == slug)
                                    ).scalar_one_or_none()
        if tenant is None:
            tenant = tenancy.create_tenant({"slug": slug, "name": f"Gmina {slug.title()}",
                                            "variants": ["lpm"], "hosts": []})
            db.session.commit()
        users = {}
        for email, role in ((evaluator_email, "evaluator"), (other_email, "evaluator"),
                            (committee_email, "committee")):
            user = accounts.find_user(email) or accounts.create_user(
                email, password, confirmed=True)
            accounts.ensure_role(user, tenant, role)
            users[email] = user
        db.session.commit()
        now = dt.datetime.now(dt.timezone.utc)
        with tenant_scope(tenant.id):
            call = Call(ref=f"lpm-{slug}", title=f"Mikrogranty {slug.title()} 2025",
                        variant="lpm", status="closed", pool=Decimal(applications) * 2000,
                        deadline_at=now - dt.timedelta(days=30),
                        params={"stage1_max_points": 40, "stage2": False,
                                "cutoff_policy": "SKIP_TO_FIT", "amount_min": "1000.00",
                                "amount_max": "6000.00", "one_grant_per_realizer": True})
            db.session.add(call)
            db.session.flush()
            profiles = [ApplicantProfile(kind="ngo", name=f"Stowarzyszenie {i}", seat="Lipiny")
                        for i in range(applications)]
            db.session.add_all(profiles)
            db.session.flush()
            rows = []
            for i, profile in enumerate(profiles):
                rows.append(Application(
                    call_id=call.id, ref=f"W{i + 1:04d}", applicant_id=profile.id,
                    status="accepted", title=f"Projekt {i + 1}",
                    requested=Decimal(1000 + (i * 370) % 5000),
                    place={"gmina": "Lipiny", "population": 7000},
                    receipt_number=f"LPM/{i + 1:04d}",
                    submitted_at=now - dt.timedelta(days=40, minutes=i)))
            db.session.add_all(rows)
            db.session.flush()
            for i, application in enumerate(rows):
                for k, email in enumerate((evaluator_email, other_email)):
                    assignment = Assignment(application_id=application.id,
                                            evaluator_id=users[email].id, stage=1,
                                            status="submitted", declared_at=now)
                    db.session.add(assignment)
                    db.session.flush()
                    total = Decimal((i * 7 + k * 3) % 40)
                    db.session.add(ScoreCard(assignment_id=assignment.id,
                                             points={"total": str(total)}, total=total,
                                             submitted_at=now))
            db.session.flush()
            scoring.settle_call(call)
            decisions.approve_final_list(call, users[committee_email])
            decisions.publish_list(call, "final", users[committee_email])
            seeded = Seeded(tenant_id=tenant.id, call_id=call.id, call_ref=call.ref,
                          evaluator=evaluator_email, committee=committee_email)
            db.session.commit()
            return seeded
