"""``make bench``: how fast the engine ranks and allocates, and how a real page compares.

1. Ranking and allocation: a SQLite database is seeded with one call of 10 000
   applications, each scored by 2 evaluators (20 000 submitted score cards); then, from
   that loaded data, the run times computing the scores from the cards, and ranking +
   allocating the pool (``core.evaluation.allocation.allocate_call``: the query, the
   ranking order and the walk through the ``allocate`` hook).  The goal is under a second
   for ranking + allocation; the figure is printed, never asserted.

2. Page throughput: where ``../shared/bench/baseline_app.py`` exists (a bare Flask app
   reading one page of 50 applications with one query), both it and Mikrogranty are
   started with gunicorn on 127.0.0.1, loaded in the same run with the same bounded
   client loop (or ``wrk`` when installed), and the ratio of requests per second is
   printed (ours / baseline), so machine noise cancels out.  Our page is a
   municipality's public list of calls (``/calls``).  The baseline's code is run where
   it lives, never copied.  Without ../shared this part is skipped with a message.

Options: ``--applications N`` (default 10 000), ``--seconds S`` per throughput run
(default 5), ``--skip-http``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
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


# --- 2. page throughput --------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, host: str, path: str, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path, headers={"Host": host})
            status = conn.getresponse().status
            conn.close()
            return status
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server on port {port} did not answer within {timeout:.0f} s")


def load(port: int, host: str, path: str, seconds: float, threads: int = 4) -> float:
    """Requests per second: ``wrk`` when installed, else ``threads`` keep-alive clients
    looping for ``seconds`` (bounded by time, every response read in full)."""
    wrk = shutil.which("wrk")
    if wrk:
        out = subprocess.run([wrk, "-t", str(threads), "-c", str(threads * 2), "-d",
                              f"{int(seconds)}s", "-H", f"Host: {host}",
                              f"http://127.0.0.1:{port}{path}"],
                             capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Requests/sec:"):
                return float(line.split()[1])
    counts = [0] * threads
    errors = [0] * threads
    stop = time.monotonic() + seconds

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.monotonic() < stop:
            try:
                conn.request("GET", path, headers={"Host": host})
                response = conn.getresponse()
                response.read()
                if response.status == 200:
                    counts[n] += 1
                else:
                    errors[n] += 1
            except (OSError, http.client.HTTPException):
                errors[n] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.close()

    start = time.monotonic()
    workers = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - start
    if sum(errors):
        say(f"  ({sum(errors)} requests failed or were not 200)")
    return sum(counts) / elapsed


def gunicorn(args: list[str], env: dict, cwd: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "-w", "2", "--log-level", "warning", *args]
    return subprocess.Popen(command, cwd=cwd, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def part_two(workdir: Path, database_url: str, seconds: float) -> None:
    if not BASELINE.exists():
        say(f"Page throughput: skipped ({BASELINE} is absent; the ratio needs the "
            f"baseline app of ../shared/bench).")
        return
    if shutil.which("gunicorn") is None and not (Path(sys.executable).parent / "gunicorn").exists():
        say("Page throughput: skipped (gunicorn is not installed).")
        return
    env = {k: v for k, v in os.environ.items() if k not in ("FLASK_APP", "ENABLED_PLUGINS")}
    baseline_db = workdir / "baseline.sqlite"
    base_env = {**env, "BASELINE_DB": f"sqlite:///{baseline_db}"}
    say("Page throughput (gunicorn -w 2 on 127.0.0.1, "
        f"{'wrk' if shutil.which('wrk') else '4 keep-alive Python clients'}, "
        f"{seconds:.0f} s each) …")
    subprocess.run([sys.executable, str(BASELINE), "seed"], cwd=BASELINE.parent, env=base_env,
                   check=True, stdout=subprocess.DEVNULL)
    ours_env = {**env, "DATABASE_URL": database_url, "SECRET_KEY": SECRET,
                "BASE_DOMAIN": BASE_DOMAIN, "MAIL_BACKEND": "outbox",
                "RATELIMIT_STORAGE_URI": "memory://"}
    base_port, our_port = free_port(), free_port()
    baseline = gunicorn(["-b", f"127.0.0.1:{base_port}", "baseline_app:app"], base_env,
                        BASELINE.parent)
    ours = gunicorn(["-b", f"127.0.0.1:{our_port}", "core.wsgi:app"], ours_env, ROOT)
    try:
        base_host, base_path = "t0.localhost", "/calls/0/applications"
        our_host, our_path = f"{SLUG}.{BASE_DOMAIN}", "/calls"
        for port, host, path, name in ((base_port, base_host, base_path, "baseline"),
                                       (our_port, our_host, our_path, "Mikrogranty")):
            status = wait_for(port, host, path)
            if status != 200:
                raise RuntimeError(f"{name} answered {status} for {path}")
        load(base_port, base_host, base_path, 1)      # warm up both
        load(our_port, our_host, our_path, 1)
        base_rate = load(base_port, base_host, base_path, seconds)
        our_rate = load(our_port, our_host, our_path, seconds)
        say(f"  baseline  GET {base_path:28} {base_rate:8.0f} req/s")
        say(f"  ours      GET {our_path:28} {our_rate:8.0f} req/s  (a municipality's calls)")
        say(f"  ratio ours / baseline: {our_rate / base_rate:.2f}")
    except Exception as exc:   # a failed server is reported, with what it said
        say(f"Page throughput: failed: {exc}")
        for process, name in ((baseline, "baseline"), (ours, "Mikrogranty")):
            stop(process)
            err = process.stderr.read().decode("utf-8", "replace")[-2000:] if process.stderr \
                else ""
            if err.strip():
                say(f"  {name} said:\n{err}")
    finally:
        stop(baseline)
        stop(ours)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split(
        "\n\n")[0])
    parser.add_argument("--applications", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--skip-http", action="store_true")
    options = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="mikrogranty-bench-"))
    try:
        url = part_one(workdir, options.applications)
        if not options.skip_http:
            part_two(workdir, url, options.seconds)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
