"""Page throughput: the main pages against the baseline app, as ratios.

A SQLite database is seeded (bench/seed.py) with one municipality whose closed call has
``applications`` applications, each scored by two evaluators, the final list approved and
published.  Mikrogranty (``core.wsgi:app``) and ``../shared/bench/baseline_app.py`` are
started with gunicorn on 127.0.0.1 and loaded in the same run with the same tool (``wrk``,
installed with apt-get when missing and run as root, else a bounded Python loop).  Each
page's requests per second are printed as a ratio of the baseline's page (a tenant's 50
applications read with one query), so machine noise cancels out.

Pages: a municipality's public list of calls, an evaluator's list of applications, the
committee's ranking, the public results.  The protected pages are loaded with the session
cookie of a real login.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from bench.seed import PASSWORD, seed_evaluated_call
from bench.web import CSRF, Client, free_port, gunicorn, load, say, stop, wait_for

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT.parent / "shared" / "bench" / "baseline_app.py"
BASE_DOMAIN = "bench.test"
SLUG = "stronowo"
SECRET = "bench-not-a-secret-" + "1" * 32


def ensure_wrk() -> None:
    """Install wrk from the distribution when it is missing and we may (root, apt-get)."""
    if shutil.which("wrk") or not hasattr(os, "geteuid") or os.geteuid() != 0 \
            or not shutil.which("apt-get"):
        return
    say("  (installing wrk with apt-get …)")
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def seed(database_url: str, applications: int):
    from core import create_app
    from core.cli import upgrade_all

    app = create_app({
        "TESTING": False, "DATABASE_URL": database_url, "SECRET_KEY": SECRET,
        "BASE_DOMAIN": BASE_DOMAIN, "TRUSTED_HOSTS": [BASE_DOMAIN, "." + BASE_DOMAIN],
        "MAIL_BACKEND": "outbox", "REDIS_URL": None, "RATELIMIT_STORAGE_URI": "memory://",
        "DEMO": False, "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 1024})
    with app.app_context():
        upgrade_all()
    return seed_evaluated_call(app, SLUG, applications,
                               base_url=f"http://{SLUG}.{BASE_DOMAIN}/")


def session_cookie(port: int, host: str, email: str) -> str:
    """Log in through the login form (with its CSRF token); the session cookie it set."""
    client = Client(port, host)
    try:
        status, page, _ = client.get("/login")
        token = CSRF.search(page)
        form = {"email": email, "password": PASSWORD}
        if token:
            form["csrf_token"] = token.group(1)
        status, _, _ = client.post("/login", form)
        if status not in (302, 303):
            raise RuntimeError(f"logging in as {email} answered {status}")
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    finally:
        client.close()


def run(workdir: Path, applications: int = 150, seconds: float = 5.0) -> None:
    if not BASELINE.exists():
        say(f"Page throughput: skipped ({BASELINE} is absent; the ratios need the "
            f"baseline app of ../shared/bench).")
        return
    if shutil.which("gunicorn") is None and not (Path(sys.executable).parent / "gunicorn").exists():
        say("Page throughput: skipped (gunicorn is not installed).")
        return
    ensure_wrk()
    database_url = f"sqlite:///{workdir / 'pages.sqlite'}"
    say(f"Page throughput: seeding {applications} applications, 2 evaluations each, a "
        f"published result list …")
    seeded = seed(database_url, applications)
    env = {k: v for k, v in os.environ.items()
           if k not in ("FLASK_APP", "ENABLED_PLUGINS", "DATABASE_URL", "REDIS_URL")}
    base_env = {**env, "BASELINE_DB": f"sqlite:///{workdir / 'baseline.sqlite'}"}
    subprocess.run([sys.executable, str(BASELINE), "seed"], cwd=BASELINE.parent, env=base_env,
                   check=True, stdout=subprocess.DEVNULL)
    ours_env = {**env, "DATABASE_URL": database_url, "SECRET_KEY": SECRET,
                "BASE_DOMAIN": BASE_DOMAIN, "MAIL_BACKEND": "outbox",
                "RATELIMIT_STORAGE_URI": "memory://", "LOGIN_RATE_LIMIT": "1000 per minute"}
    base_port, our_port = free_port(), free_port()
    baseline = gunicorn("baseline_app:app", base_port, base_env, BASELINE.parent)
    ours = gunicorn("core.wsgi:app", our_port, ours_env, ROOT)
    tool = "wrk" if shutil.which("wrk") else "4 keep-alive Python clients"
    say(f"  gunicorn -w 2 on 127.0.0.1, {tool}, {seconds:.0f} s per page")
    try:
        base_host, base_path = "t0.localhost", "/calls/0/applications"
        host = f"{SLUG}.{BASE_DOMAIN}"
        if wait_for(base_port, base_host, base_path) != 200 or \
                wait_for(our_port, host, "/calls") != 200:
            raise RuntimeError("a server did not answer 200")
        evaluator = session_cookie(our_port, host, seeded.evaluator)
        committee = session_cookie(our_port, host, seeded.committee)
        pages = [
            ("public list of calls", "/calls", None),
            ("evaluator's applications", "/evaluation", evaluator),
            ("committee's ranking", f"/committee/calls/{seeded.call_id}/ranking", committee),
            ("public results", f"/calls/{seeded.call_ref}/results", None),
        ]
        load(base_port, base_host, base_path, 1)   # warm up
        base_rate, base_failed = load(base_port, base_host, base_path, seconds)
        say(f"  baseline  {'(50 applications, 1 query)':28} {base_rate:8.0f} req/s")
        for name, path, cookie in pages:
            check = Client(our_port, host)
            status, _, _ = check.get(path, headers={"Cookie": cookie} if cookie else None)
            check.close()
            if status != 200:
                raise RuntimeError(f"{path} answered {status}")
            load(our_port, host, path, 1, cookie=cookie)
            rate, failed = load(our_port, host, path, seconds, cookie=cookie)
            note = f"  ({failed} failed or not 2xx/3xx)" if failed else ""
            say(f"  {name:38} {rate:8.0f} req/s  ratio {rate / base_rate:5.2f}{note}")
        if base_failed:
            say(f"  (baseline: {base_failed} failed)")
    except Exception as exc:   # a failed server is reported, with what it said
        say(f"Page throughput: failed: {exc}")
        for process, name in ((baseline, "baseline"), (ours, "Mikrogranty")):
            err = stop(process)
            if err.strip():
                say(f"  {name} said:\n{err}")
    finally:
        stop(baseline)
        stop(ours)
