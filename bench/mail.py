"""E-mail delivery: ``count`` messages queued, then delivered by one worker over SMTP.

Before the clock starts: a Redis of the benchmark's own (``redis-server`` on a spare port,
never a shared one: the worker listens on the default queue names), a local SMTP server
(aiosmtpd) that only counts and keeps what it receives, and a database — PostgreSQL
(a dedicated database ``bench_mail``) when psql reaches a server, else a SQLite file —
with one municipality, into whose outbox ``send_mail`` writes ``count`` password-reset
messages (text and HTML), each enqueued on the ``mail`` queue after its commit, as a
request would.

Timed (twice: the forking worker, then ``--no-fork``): one ``flask jobs worker --burst``
process (MAIL_BACKEND=smtp to the sink) from its start, application start-up included, to the last message received by the sink.
Reported: messages delivered (must be exactly ``count``: each exactly once, with its own
Message-ID, and marked sent in the outbox), seconds, messages per second; the rate from
the first delivery to the last is shown too (start-up left out).

``python -m bench.mail [--messages N] [--sqlite]``; also part 4 of ``python -m bench.run``.
Exits non-zero when a message was lost or delivered twice.
"""
from __future__ import annotations

import argparse
import email
import email.policy
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.web import free_port, say

ROOT = Path(__file__).resolve().parent.parent
BASE_DOMAIN = "bench.test"
SLUG = "listowo"
SECRET = "bench-not-a-secret-" + "4" * 32
DATABASE = "bench_mail"
SENDER = "nabor@listowo.example.org"


class Sink:
    """An SMTP server on 127.0.0.1 that keeps the Message-ID and arrival time of each
    message (parsing the whole message would slow the sink, not the sender)."""

    def __init__(self):
        self.port = free_port()
        self.lock = threading.Lock()
        self.message_ids: list[str] = []
        self.first: float | None = None
        self.last: float | None = None
        self.controller = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        headers = email.message_from_bytes(envelope.content.split(b"\r\n\r\n", 1)[0],
                                           policy=email.policy.compat32)
        now = time.perf_counter()
        with self.lock:
            self.message_ids.append(str(headers.get("Message-ID", "")).strip())
            self.first = self.first or now
            self.last = now
        return "250 Message accepted for delivery"

    def __enter__(self) -> "Sink":
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    @property
    def count(self) -> int:
        with self.lock:
            return len(self.message_ids)


class Redis:
    """``redis-server`` on a spare port, without persistence, stopped at the end."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Redis":
        from redis import Redis as Client
        from redis.exceptions import RedisError

        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        client = Client.from_url(self.url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 15
        while True:
            try:
                client.ping()
                return self
            except (RedisError, OSError):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.__exit__()
                    raise RuntimeError(f"redis-server on port {self.port} did not start")
                time.sleep(0.05)

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def database_url(workdir: Path, sqlite: bool) -> str:
    if not sqlite:
        from bench import rush

        server = rush.postgres_server()
        if server is not None:
            host = server.rsplit("@", 1)[1]
            user = server.split("//", 1)[1].split("@", 1)[0]
            for sql in (f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)",
                        f"CREATE DATABASE {DATABASE}"):
                subprocess.run(["psql", "-h", host, "-U", user, "-d", "postgres", "-qc", sql],
                               check=True, capture_output=True, text=True)
            return f"{server}/{DATABASE}"
    return f"sqlite:///{workdir / 'bench-mail.sqlite'}"


def environment(url: str, redis_url: str, smtp_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("FLASK_APP", "ENABLED_PLUGINS", "RQ_QUEUE_PREFIX", "DEMO")}
    env.update({"DATABASE_URL": url, "REDIS_URL": redis_url, "SECRET_KEY": SECRET,
                "BASE_DOMAIN": BASE_DOMAIN, "MAIL_BACKEND": "smtp",
                "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp_port),
                "MAIL_USE_TLS": "0", "MAIL_DEFAULT_SENDER": SENDER,
                "RATELIMIT_STORAGE_URI": "memory://"})
    return env


def queue_messages(url: str, redis_url: str, count: int) -> int:
    """The outbox of one municipality gets ``count`` messages, enqueued after each commit
    (in batches of 100, as that many requests would); returns the tenant's id."""
    from core import create_app
    from core.cli import upgrade_all
    from core.db import db, tenant_scope
    from core.notifications.operations import send_mail
    from core.tenancy import operations as tenancy

    app = create_app({
        "TESTING": False, "DATABASE_URL": url, "SECRET_KEY": SECRET,
        "BASE_DOMAIN": BASE_DOMAIN, "TRUSTED_HOSTS": [BASE_DOMAIN, "." + BASE_DOMAIN],
        "MAIL_BACKEND": "smtp", "REDIS_URL": redis_url, "RATELIMIT_STORAGE_URI": "memory://",
        "MAIL_DEFAULT_SENDER": SENDER, "DEMO": False})
    with app.test_request_context(base_url=f"https://{SLUG}.{BASE_DOMAIN}/"):
        upgrade_all()
        tenant = tenancy.create_tenant({"slug": SLUG, "name": "Gmina Listowo",
                                        "variants": ["lpm"], "hosts": []})
        db.session.commit()
        tenant_id = tenant.id
        with tenant_scope(tenant_id):
            for n in range(count):
                send_mail(f"osoba{n}@{SLUG}.example.org", "password_reset", tenant=tenant,
                          locale="pl",
                          reset_url=f"https://{SLUG}.{BASE_DOMAIN}/reset/{n:06d}")
                if n % 100 == 99:
                    db.session.commit()
            db.session.commit()
    return tenant_id


def outbox_states(url: str) -> dict[str, int]:
    import sqlalchemy as sa

    from core.config import normalise_database_url

    engine = sa.create_engine(normalise_database_url(url))
    try:
        with engine.connect() as conn:
            return dict(conn.execute(sa.text(
                "SELECT status, count(*) FROM outbox_message GROUP BY status")).all())
    finally:
        engine.dispose()


def run(workdir: Path, count: int = 1000, *, sqlite: bool = False,
        timeout: float = 900) -> bool:
    """Part 4 of the benchmark, with the forking worker (the default: each job in its own
    process) and with ``--no-fork``; True when every message arrived exactly once in both
    (or when the part cannot run here: no redis-server)."""
    return all([run_once(workdir, count, sqlite=sqlite, timeout=timeout),
                run_once(workdir, count, sqlite=sqlite, timeout=timeout,
                         extra=["--no-fork"])])


def run_once(workdir: Path, count: int = 1000, *, sqlite: bool = False,
             timeout: float = 900, extra: list[str] | None = None) -> bool:
    extra = extra or []
    if shutil.which("redis-server") is None:
        say("E-mail: skipped (redis-server is not installed; the worker needs a Redis of "
            "its own).")
        return True
    url = database_url(workdir, sqlite)
    kind = "PostgreSQL " + DATABASE if url.startswith("postgresql") else "SQLite"
    with Redis() as redis, Sink() as sink:
        say(f"E-mail: {count} messages written to the outbox and enqueued ({kind}, "
            f"Redis on port {redis.port}) …")
        began = time.perf_counter()
        queue_messages(url, redis.url, count)
        say(f"  written and enqueued in {time.perf_counter() - began:.1f} s")
        log = tempfile.TemporaryFile()
        command = [sys.executable, "-m", "flask", "--app", "core", "jobs", "worker", "--burst",
                   *extra]
        start = time.perf_counter()
        worker = subprocess.Popen(command, cwd=ROOT, env=environment(url, redis.url, sink.port),
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            worker.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
            say(f"  the worker did not finish within {timeout:.0f} s")
        # A message the worker handed over just before it exited is still on its way.
        settle = time.perf_counter() + 2
        while sink.count < count and time.perf_counter() < settle:
            time.sleep(0.05)
        delivered = sink.count
        elapsed = (sink.last or time.perf_counter()) - start
        ids = list(sink.message_ids)
        steady = (sink.last - sink.first) if sink.first and sink.last else 0.0
    states = outbox_states(url)
    unique = len(set(ids))
    ok = delivered == count and unique == count and states.get("sent", 0) == count
    say(f"  one worker (flask jobs worker --burst {' '.join(extra)}, exit {worker.returncode}), "
        f"SMTP to a local aiosmtpd:")
    say(f"  delivered {delivered} of {count} ({unique} distinct Message-IDs; outbox: "
        f"{', '.join(f'{k} {v}' for k, v in sorted(states.items()))})")
    say(f"  {elapsed:.1f} s from the worker's start to the last delivery: "
        f"{delivered / elapsed if elapsed else 0:.1f} messages/s")
    if steady > 0 and delivered > 1:
        say(f"  first to last delivery {steady:.1f} s: {(delivered - 1) / steady:.1f} "
            f"messages/s (start-up left out)")
    if not ok:
        log.seek(0)
        tail = log.read().decode("utf-8", "replace")[-3000:]
        say(f"  NOT every message was delivered exactly once. The worker said:\n{tail}")
    log.close()
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mail",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--sqlite", action="store_true",
                        help="use a SQLite file even when PostgreSQL is reachable")
    options = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workdir = Path(tempfile.mkdtemp(prefix="mikrogranty-bench-mail-"))
    try:
        return 0 if run(workdir, options.messages, sqlite=options.sqlite) else 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
