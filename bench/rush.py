"""The deadline rush: ``applicants`` people autosave their drafts and submit at once.

Before the clock starts, a dedicated PostgreSQL database (``bench_rush``, dropped and
created again with psql) gets one municipality with an open LPM call closing tonight at
23:59:59 Warsaw time, and for each applicant an account (password hashed at a low argon2
cost), an NGO profile and an empty draft; each applicant then logs in once through the
login form of the server under test (gunicorn, several workers, ``core:create_app``
with the same low argon2 cost).

The rush (timed): every applicant, in a bounded pool of threads on 127.0.0.1 with the
municipality's Host header, opens the first step of the draft, autosaves the five steps
and the description twice more (as typing does), opens the summary and submits; every
tenth one submits twice at the same moment (the double click of someone in a hurry).
Reported: requests per second, p50/p99 latency, errors (any unexpected answer); then the
database is checked: every draft submitted exactly once, with its own receipt number and
one ``application.submitted`` audit event.

Without PostgreSQL (psql missing or the server not answering) the rush is skipped with a
message.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.seed import PASSWORD
from bench.web import CSRF, Client, free_port, gunicorn, say, stop, wait_for

ROOT = Path(__file__).resolve().parent.parent
BASE_DOMAIN = "bench.test"
SLUG = "pospiechowo"
SECRET = "bench-not-a-secret-" + "2" * 32
DATABASE = "bench_rush"
WARSAW = ZoneInfo("Europe/Warsaw")
VERSION = re.compile(r'name="version" id="version" value="(\d+)"')
TOKEN = re.compile(r'name="token" value="([^"]+)"')


def postgres_server() -> str | None:
    """``postgresql://…/`` of a server psql reaches (PG* variables or 127.0.0.1 as
    postgres), or None."""
    if not shutil.which("psql"):
        return None
    host = os.environ.get("PGHOST", "127.0.0.1")
    user = os.environ.get("PGUSER", "postgres")
    probe = subprocess.run(["psql", "-h", host, "-U", user, "-d", "postgres", "-Atc",
                            "SELECT 1"], capture_output=True, text=True, timeout=20)
    if probe.returncode != 0:
        return None
    return f"postgresql://{user}@{host}"


def fresh_database(server: str) -> str:
    host = server.rsplit("@", 1)[1]
    user = server.split("//", 1)[1].split("@", 1)[0]
    for sql in (f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)", f"CREATE DATABASE {DATABASE}"):
        subprocess.run(["psql", "-h", host, "-U", user, "-d", "postgres", "-qc", sql],
                       check=True, capture_output=True, text=True)
    return f"{server}/{DATABASE}"


def seed(database_url: str, applicants: int) -> dict:
    from core import create_app
    from core.accounts import operations as accounts
    from core.applicants.models import ApplicantProfile
    from core.applications.models import Application
    from core.calls.models import Call
    from core.cli import upgrade_all
    from core.db import db, tenant_scope
    from core.rules.values import deadline_instant
    from core.tenancy import operations as tenancy

    app = create_app({
        "TESTING": False, "DATABASE_URL": database_url, "SECRET_KEY": SECRET,
        "BASE_DOMAIN": BASE_DOMAIN, "TRUSTED_HOSTS": [BASE_DOMAIN, "." + BASE_DOMAIN],
        "MAIL_BACKEND": "outbox", "REDIS_URL": None, "RATELIMIT_STORAGE_URI": "memory://",
        "DEMO": False, "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 1024})
    today = dt.datetime.now(WARSAW).date()
    start = today + dt.timedelta(days=30)
    with app.test_request_context(base_url=f"http://{SLUG}.{BASE_DOMAIN}/"):
        upgrade_all()
        tenant = tenancy.create_tenant({"slug": SLUG, "name": "Gmina Pośpiechowo",
                                        "variants": ["lpm"], "hosts": []})
        db.session.commit()
        tenant_id = tenant.id
        users = []
        for n in range(applicants):
            user = accounts.create_user(f"osoba{n}@{SLUG}.example.org", PASSWORD,
                                        confirmed=True)
            accounts.ensure_role(user, tenant, "applicant")
            users.append(user)
        db.session.commit()
        with tenant_scope(tenant_id):
            params = {
                "deadline": today.isoformat(), "pool": "1000000.00", "amount_min": "1000.00",
                "amount_max": "4000.00", "young_ngo_amount_max": "5000.00",
                "young_ngo_max_age_months": 30, "young_ngo_max_revenue": "25000.00",
                "admin_max_percent": 10, "min_group_members": 3,
                "group_requires_patron": True, "eligible_gminas": ["Lipiny"],
                "realization_start": start.isoformat(),
                "realization_end": (start + dt.timedelta(days=180)).isoformat(),
                "stage1_max_points": 18, "stage2": False, "cutoff_policy": "STOP",
                "operator_staff": []}
            call = Call(ref="lpm-rush", title="Mikrogranty Pośpiechowo", variant="lpm",
                        status="published", params=params, deadline_at=deadline_instant(today),
                        realization_start=start, realization_end=start + dt.timedelta(days=180),
                        pool=Decimal("1000000.00"))
            db.session.add(call)
            db.session.flush()
            drafts = []
            for n, user in enumerate(users):
                profile = ApplicantProfile(
                    kind="ngo", name=f"Stowarzyszenie Pośpiech {n}", legal_form="association",
                    krs=f"{n + 1:010d}", registered_on=dt.date(2015, 2, 1),
                    revenue_last_year=Decimal("120000.00"), seat="Lipiny", owner_id=user.id)
                db.session.add(profile)
                db.session.flush()
                draft = Application(call_id=call.id, created_by_id=user.id,
                                    applicant_id=profile.id, status="draft", content={},
                                    place={}, mode="standard")
                db.session.add(draft)
                drafts.append((user.email, profile, draft))
            db.session.flush()
            people = [{"email": email, "profile_id": profile.id, "application_id": draft.id}
                      for email, profile, draft in drafts]
            db.session.commit()
    return {"app": app, "tenant_id": tenant_id, "people": people, "start": start,
            "deadline": deadline_instant(today)}


def steps(person: dict, start: dt.date) -> list[tuple[str, dict]]:
    n = person["application_id"]
    return [
        ("applicant", {"applicant_id": str(person["profile_id"]), "realizer_id": "",
                       "applicant_option": "ngo::standard"}),
        ("project", {"title": f"Warsztaty w świetlicy nr {n}",
                     "description": "Cykl warsztatów", "beneficiaries": "Mieszkańcy Lipin",
                     "project_type": "regional_identity", "place_gmina": "Lipiny",
                     "place_locality": "Świetlica wiejska"}),
        ("schedule", {"start": start.isoformat(),
                      "end": (start + dt.timedelta(days=90)).isoformat(),
                      "activities": "Warsztaty co tydzień"}),
        ("budget", {"budget-present": "1", "budget-0-category": "admin",
                    "budget-0-item": "Koordynacja", "budget-0-quantity": "1",
                    "budget-0-unit_price": "350", "budget-1-category": "materials",
                    "budget-1-item": "Materiały plastyczne", "budget-1-quantity": "10",
                    "budget-1-unit_price": "315,00"}),
        ("contribution", {"contribution-present": "1", "contribution-0-kind": "volunteer",
                          "contribution-0-description": "Praca wolontariuszy",
                          "contribution-0-hours": "20", "contribution-0-rate": "30"}),
        ("project", {"description": "Cykl warsztatów dla seniorów"}),
        ("project", {"description": "Cykl warsztatów dla seniorów i dzieci."}),
    ]


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.sent_submissions = 0

    def timed(self, client: Client, method: str, path: str, expect: tuple, **kw):
        began = time.perf_counter()
        try:
            status, body, headers = client.request(method, path, **kw)
        except Exception as exc:  # a dropped connection is an error of the run, counted
            with self.lock:
                self.latencies.append(time.perf_counter() - began)
                self.errors.append(f"{method} {path}: {exc!r}")
            return None, "", {}
        with self.lock:
            self.latencies.append(time.perf_counter() - began)
            if status not in expect:
                self.errors.append(f"{method} {path}: {status}")
        return status, body, headers


def rush_one(port: int, host: str, person: dict, start: dt.date, tally: Tally) -> None:
    client = person["client"]
    application_id = person["application_id"]
    _, page, _ = tally.timed(client, "GET", f"/applications/{application_id}/applicant", (200,))
    csrf = CSRF.search(page)
    version = VERSION.search(page)
    if not csrf or not version:
        with tally.lock:
            tally.errors.append(f"application {application_id}: no form in the step page")
        return
    csrf, version = csrf.group(1), version.group(1)
    for step, data in steps(person, start):
        form = {"csrf_token": csrf, "version": version, "form_step": step, **data}
        _, fragment, _ = tally.timed(client, "POST",
                                     f"/applications/{application_id}/{step}/autosave",
                                     (200,), form=form, headers={"HX-Request": "true"})
        found = VERSION.search(fragment)
        if found:
            version = found.group(1)
    _, summary, _ = tally.timed(client, "GET", f"/applications/{application_id}/summary",
                                (200,))
    token = TOKEN.search(summary)
    form = {"csrf_token": csrf, "token": token.group(1) if token else ""}
    path = f"/applications/{application_id}/submit"
    if application_id % 10 == 0:  # a double click: the same submission twice at once
        twin = Client(port, host)
        twin.cookies = dict(client.cookies)
        both = [threading.Thread(target=tally.timed, args=(c, "POST", path, (303,)),
                                 kwargs={"form": form}) for c in (client, twin)]
        for thread in both:
            thread.start()
        for thread in both:
            thread.join()
        twin.close()
        sent = 2
    else:
        tally.timed(client, "POST", path, (303,), form=form)
        sent = 1
    with tally.lock:
        tally.sent_submissions += sent


def log_in(port: int, host: str, person: dict) -> None:
    client = Client(port, host)
    _, page, _ = client.get("/login")
    token = CSRF.search(page)
    status, _, _ = client.post("/login", {"email": person["email"], "password": PASSWORD,
                                          "csrf_token": token.group(1) if token else ""})
    if status not in (302, 303):
        raise RuntimeError(f"logging in as {person['email']} answered {status}")
    person["client"] = client


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def check_stored(app, tenant_id: int, people: list[dict]) -> list[str]:
    import sqlalchemy as sa

    from core.applications.models import Application
    from core.audit.models import AuditEvent
    from core.db import db, tenant_scope

    problems = []
    with app.app_context(), tenant_scope(tenant_id):
        rows = db.session.execute(db.select(Application.id, Application.status,
                                            Application.receipt_number)).all()
        events = db.session.execute(
            db.select(AuditEvent.object_id, sa.func.count())
            .where(AuditEvent.action == "application.submitted")
            .group_by(AuditEvent.object_id)).all()
    by_id = {r.id: r for r in rows}
    counted = {int(object_id): n for object_id, n in events}
    numbers = [r.receipt_number for r in rows if r.receipt_number]
    if len(numbers) != len(set(numbers)):
        problems.append("a receipt number was given twice")
    for person in people:
        row = by_id.get(person["application_id"])
        if row is None or row.status != "submitted" or not row.receipt_number:
            problems.append(f"application {person['application_id']} is not submitted "
                            f"({row.status if row else 'missing'})")
        elif counted.get(person["application_id"], 0) != 1:
            problems.append(f"application {person['application_id']} has "
                            f"{counted.get(person['application_id'], 0)} submission events")
    return problems


def run(applicants: int = 200, workers: int = 4, concurrency: int = 50) -> None:
    server = postgres_server()
    if server is None:
        say("Deadline rush: skipped (PostgreSQL is absent: psql cannot reach a server at "
            "127.0.0.1 as postgres; set PGHOST/PGUSER to use another).")
        return
    database_url = fresh_database(server)
    say(f"Deadline rush: seeding {applicants} applicants with their drafts into "
        f"{DATABASE} …")
    seeded = seed(database_url, applicants)
    env = {k: v for k, v in os.environ.items()
           if k not in ("FLASK_APP", "ENABLED_PLUGINS", "REDIS_URL")}
    env.update({"DATABASE_URL": database_url, "SECRET_KEY": SECRET, "BASE_DOMAIN": BASE_DOMAIN,
                "MAIL_BACKEND": "outbox", "RATELIMIT_STORAGE_URI": "memory://",
                "LOGIN_RATE_LIMIT": "100000 per minute"})
    port = free_port()
    host = f"{SLUG}.{BASE_DOMAIN}"
    # The passwords were hashed at a low argon2 cost; the server checks them at that cost
    # too (at the default cost it would rehash every one on login), so the logins done
    # before the rush stay cheap.
    target = ('core:create_app({"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 1024}, '
              'serving=True)')
    process = gunicorn(target, port, env, ROOT, workers=workers)
    try:
        if wait_for(port, host, "/calls") != 200:
            raise RuntimeError("the server did not answer 200 for /calls")
        people = seeded["people"]
        with ThreadPoolExecutor(max_workers=min(concurrency, 16)) as pool:
            list(pool.map(lambda p: log_in(port, host, p), people))
        tally = Tally()
        say(f"  gunicorn -w {workers}, {concurrency} applicants at a time, each: open the "
            f"draft, 7 autosaves, the summary, submit (every tenth twice at once)")
        began = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            list(pool.map(lambda p: rush_one(port, host, p, seeded["start"], tally), people))
        elapsed = time.perf_counter() - began
        for person in people:
            person["client"].close()
        count = len(tally.latencies)
        say(f"  {count} requests in {elapsed:.1f} s: {count / elapsed:.0f} req/s, "
            f"p50 {percentile(tally.latencies, 0.5) * 1000:.0f} ms, "
            f"p99 {percentile(tally.latencies, 0.99) * 1000:.0f} ms, "
            f"{len(tally.errors)} errors")
        for error in tally.errors[:10]:
            say(f"    {error}")
        problems = check_stored(seeded["app"], seeded["tenant_id"], people)
        say(f"  submissions sent {tally.sent_submissions} (for {len(people)} drafts); "
            f"stored {len(people) - len([p for p in problems if 'not submitted' in p])}, "
            f"each exactly once with its own receipt: {'yes' if not problems else 'NO'}")
        for problem in problems[:10]:
            say(f"    {problem}")
    except Exception as exc:
        say(f"Deadline rush: failed: {exc}")
        err = stop(process)
        if err.strip():
            say(f"  the server said:\n{err}")
    finally:
        stop(process)
