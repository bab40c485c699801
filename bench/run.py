"""``make bench``: how fast the engine ranks and allocates, and how a real page compares.

1. Ranking and allocation: a SQLite database is seeded with one call of 10 000
   applications, each scored by 2 evaluators (20 000 submitted score cards); then, from
   that loaded data, the run times computing the scores from the cards, and ranking +
   allocating the pool (``core.evaluation.allocation.allocate_call``: the query, the
   ranking order and the walk through the ``allocate`` hook).  The goal is under a second
   for ranking + allocation; the figure is printed, never asserted.

2. Page throughput (bench/pages.py): the public list of calls, an evaluator's list of
   applications, the committee's ranking and the public results of a call of 150
   evaluated applications, each as a ratio of ``../shared/bench/baseline_app.py``'s page,
   both served by gunicorn and loaded with wrk in the same run.

3. The deadline rush (bench/rush.py): 200 applicants autosave and submit at once against
   gunicorn and PostgreSQL (a dedicated database ``bench_rush``); requests/s, p50/p99,
   errors, and every submission checked to be stored exactly once with its receipt.

4. E-mail (bench/mail.py): 1 000 messages written to the outbox and enqueued, then
   delivered by one ``flask jobs worker --burst`` over SMTP to a local server (its own
   redis-server; PostgreSQL ``bench_mail`` when reachable, else SQLite); messages
   delivered (exactly 1 000, each once, or the run exits non-zero), seconds, messages/s.

Options: ``--applications N`` (default 10 000), ``--seconds S`` per throughput run
(default 5), ``--skip-http`` (parts 2 and 3), ``--page-applications N`` (150),
``--rush-applicants N`` (200), ``--mail-messages N`` (1 000), ``--skip-mail`` (part 4).
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import signal
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT.parent / "shared" / "bench" / "baseline_app.py"
BASE_DOMAIN = "bench.test"
SLUG = "benchowo"
SECRET = "bench-not-a-secret-" + "0" * 32


def say(message: str = "") -> None:
    print(message, flush=True)


# --- 1. ranking and allocation ------------------------------------------------------------

def make_app(database_url: str):
    from core import create_app

    return create_app({
        "TESTING": False, "DATABASE_URL": database_url, "SECRET_KEY": SECRET,
        "BASE_DOMAIN": BASE_DOMAIN, "TRUSTED_HOSTS": [BASE_DOMAIN, "." + BASE_DOMAIN],
        "MAIL_BACKEND": "outbox", "REDIS_URL": None, "RATELIMIT_STORAGE_URI": "memory://",
        "DEMO": False})


def seed(app, applications: int, rng: random.Random) -> dict:
    """One tenant with one closed LPM-shaped call of ``applications`` applications, two
    submitted cards each; bulk inserts (the seeding is not what is measured)."""
    import sqlalchemy as sa

    from core.applicants.models import ApplicantProfile
    from core.applications.models import Application
    from core.calls.models import Call
    from core.cli import upgrade_all
    from core.db import db, tenant_scope
    from core.evaluation.models import Assignment, ScoreCard
    from core.tenancy import operations

    with app.app_context():
        upgrade_all()
        tenant = operations.create_tenant({"slug": SLUG, "name": "Gmina Benchowo",
                                           "variants": ["lpm"], "hosts": []})
        db.session.commit()
        tenant_id = tenant.id
        now = dt.datetime.now(dt.timezone.utc)
        with tenant_scope(tenant_id):
            # Pool for about a third of the projects; one grant per realizer; a sub-pool for
            # the large towns, so that every branch of the walk is taken.
            call = Call(tenant_id=tenant_id, ref="bench-2025", title="Benchmark 2025",
                        variant="lpm", status="closed", pool=Decimal(applications) * 1000,
                        deadline_at=now - dt.timedelta(days=30),
                        params={"stage1_max_points": 40,
                                "stage2": False, "cutoff_policy": "SKIP_TO_FIT",
                                "amount_min": "1000.00", "one_grant_per_realizer": True,
                                "large_town_population": 20000,
                                "large_town_pool": f"{applications * 100}.00"})
            db.session.add(call)
            db.session.flush()
            call_id = call.id
            realizers = max(applications * 9 // 10, 1)
            db.session.execute(sa.insert(ApplicantProfile), [
                {"id": i + 1, "tenant_id": tenant_id, "kind": "ngo", "name": f"Org {i}",
                 "ref": f"P{i}", "created_at": now, "updated_at": now}
                for i in range(realizers)])
            rows = []
            for i in range(applications):
                rows.append({
                    "id": i + 1, "tenant_id": tenant_id, "call_id": call_id, "ref": f"A{i:05d}",
                    "applicant_id": rng.randint(1, realizers), "status": "accepted",
                    "title": f"Projekt {i}", "requested": Decimal(rng.randrange(1000, 6001, 50)),
                    "place": {"gmina": "Benchowo",
                              "population": 40000 if i % 10 == 0 else 7000},
                    "submitted_at": now - dt.timedelta(days=40, minutes=rng.randint(0, 40000)),
                    "created_at": now, "updated_at": now, "version": 1, "content": {},
                    "rules": [], "mode": "standard", "claims_young_ngo": False})
            db.session.execute(sa.insert(Application), rows)
            assignments, cards = [], []
            for i in range(applications):
                for k, evaluator in enumerate(("E1", "E2")):
                    aid = 2 * i + k + 1
                    total = Decimal(rng.randint(0, 40))
                    assignments.append({
                        "id": aid, "tenant_id": tenant_id, "application_id": i + 1,
                        "evaluator_ref": evaluator, "stage": 1, "status": "submitted",
                        "created_at": now})
                    cards.append({"id": aid, "tenant_id": tenant_id, "assignment_id": aid,
                                  "points": {"total": str(total)}, "total": total,
                                  "justifications": {}, "submitted_at": now, "updated_at": now})
            db.session.execute(sa.insert(Assignment), assignments)
            db.session.execute(sa.insert(ScoreCard), cards)
            db.session.commit()
    return {"tenant_id": tenant_id, "call_id": call_id}


def store_scores(app, ids: dict) -> tuple[float, int]:
    """Compute every application's scores from its cards (timed) and store them, ranked."""
    import sqlalchemy as sa

    from core.applications.models import Application
    from core.calls.models import Call
    from core.db import db, tenant_scope
    from core.evaluation import scoring

    with app.app_context(), tenant_scope(ids["tenant_id"]):
        call = db.session.execute(db.select(Call).where(Call.id == ids["call_id"])).scalar_one()
        stages = scoring.stages_for(call)
        start = time.perf_counter()
        sheets = scoring.score_sheets(call)
        scores = {i: sheet.scores(scoring.has_stage2(stages)) for i, sheet in sheets.items()}
        decided = {i: scoring.outcome(stages, s) for i, s in scores.items()}
        elapsed = time.perf_counter() - start
        db.session.execute(sa.update(Application), [
            {"id": i, "version": 1, "stage1_score": s.stage1, "final_score": s.final,
             "status": decided[i]} for i, s in scores.items()],
            execution_options={"skip_tenant_filter": True})
        db.session.commit()
        return elapsed, sum(1 for d in decided.values() if d == "ranked")


def time_allocation(app, ids: dict, repeat: int = 3) -> dict:
    from core.calls.models import Call
    from core.db import db, tenant_scope
    from core.evaluation.allocation import allocate_call, gather_entries, limits_for, walk
    from core.evaluation.ranking import rank

    best = {"total": float("inf"), "load": float("inf"), "rank_walk": float("inf")}
    allocation = None
    with app.app_context(), tenant_scope(ids["tenant_id"]):
        call = db.session.execute(db.select(Call).where(Call.id == ids["call_id"])).scalar_one()
        for _ in range(repeat):
            start = time.perf_counter()
            allocation = allocate_call(call)
            best["total"] = min(best["total"], time.perf_counter() - start)
            start = time.perf_counter()
            entries = gather_entries(call)
            loaded = time.perf_counter()
            walk(rank(entries), limits_for(call))
            done = time.perf_counter()
            best["load"] = min(best["load"], loaded - start)
            best["rank_walk"] = min(best["rank_walk"], done - loaded)
        best["summary"] = allocation.summary()
    return best


def part_one(workdir: Path, applications: int) -> str:
    database = workdir / "bench.sqlite"
    url = f"sqlite:///{database}"
    app = make_app(url)
    say(f"Seeding {applications} applications with 2 evaluations each "
        f"({2 * applications} score cards) into {database} …")
    start = time.perf_counter()
    ids = seed(app, applications, random.Random(2025))
    say(f"  seeded in {time.perf_counter() - start:.1f} s")
    scoring_time, ranked = store_scores(app, ids)
    say(f"Scores from the {2 * applications} cards (averages and what they decide): "
        f"{scoring_time * 1000:.0f} ms; {ranked} applications ranked")
    found = time_allocation(app, ids)
    summary = found["summary"]
    say(f"Rank + allocate {ranked} applications (allocate_call: query, ranking order, walk "
        f"under {summary['policy']}), best of 3: {found['total'] * 1000:.0f} ms "
        f"(goal: under 1000 ms) — {'met' if found['total'] < 1 else 'NOT met'}")
    say(f"  of which loading the entries {found['load'] * 1000:.0f} ms, ranking + walk "
        f"{found['rank_walk'] * 1000:.0f} ms")
    say(f"  funded {summary['funded']}, reserve {summary['reserve']}, excluded "
        f"{summary['excluded']}; allocated {summary['allocated']} of {summary['pool']}")
    return url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split(
        "\n\n")[0])
    parser.add_argument("--applications", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--page-applications", type=int, default=150)
    parser.add_argument("--rush-applicants", type=int, default=200)
    parser.add_argument("--mail-messages", type=int, default=1000)
    parser.add_argument("--skip-mail", action="store_true")
    options = parser.parse_args(argv)
    # Stopped from outside (a timeout, ^C in a pipeline): still stop the servers started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workdir = Path(tempfile.mkdtemp(prefix="mikrogranty-bench-"))
    try:
        part_one(workdir, options.applications)
        if not options.skip_http:
            from bench import pages, rush

            pages.run(workdir, options.page_applications, options.seconds)
            rush.run(options.rush_applicants)
        if not options.skip_mail:
            from bench import mail

            if not mail.run(workdir, options.mail_messages):
                return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
