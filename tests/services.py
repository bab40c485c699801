"""Real services for the tests that run the application as production does: an SMTP sink,
a Redis server of the test's own, and the app's processes (gunicorn, workers, commands).

Every process is started as a child of the test, on 127.0.0.1 and a free port, and
stopped by the test; the shared PostgreSQL and Redis services of a CI run are never
stopped or emptied from here (a test that needs a Redis to go down starts its own
:class:`RedisServer`).

Subprocesses get the test app's configuration through the environment
(:func:`worker_env`), so that the server and the workers see the same database, domain
and plugins as the test that seeded the data.
"""
from __future__ import annotations

import email
import email.policy
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
QUEUES = ("mikrogranty-mail", "mikrogranty-default", "mikrogranty-documents")


def free_port() -> int:
    """A TCP port nobody listens on right now (the kernel's choice)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_answers(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def _read(log) -> str:
    """What a child wrote to ``log`` so far, read without moving the file's offset (which
    the child shares)."""
    fd = log.fileno()
    return os.pread(fd, os.fstat(fd).st_size, 0).decode("utf-8", "replace")


# --- the SMTP sink ---------------------------------------------------------------------------

class SmtpSink:
    """A local SMTP server that keeps every message it is given, in arrival order.

    ``with SmtpSink() as sink:`` then point MAIL_SERVER=127.0.0.1, MAIL_PORT=sink.port at
    it; ``sink.wait_for(1)`` waits for the first message.  Messages are parsed with
    ``email.policy.default`` (``get_body``, ``iter_parts`` and decoded headers work).
    """

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []  # (MAIL FROM, RCPT TOs) per message
        self._arrived = threading.Condition()
        self._last_arrival = time.monotonic()
        self._controller = None

    # aiosmtpd calls this for every message, in its own thread's event loop.
    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        parsed = email.message_from_bytes(envelope.original_content or envelope.content,
                                          policy=email.policy.default)
        with self._arrived:
            self.messages.append(parsed)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self._last_arrival = time.monotonic()
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def start(self) -> "SmtpSink":
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> "SmtpSink":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def wait_for(self, count: int, timeout: float = 30) -> list[EmailMessage]:
        """Wait until at least ``count`` messages arrived; the messages so far."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    arrived = [f"{m['To']}: {m['Subject']}" for m in self.messages]
                    raise AssertionError(
                        f"expected {count} e-mail(s) within {timeout:.0f} s, "
                        f"{len(self.messages)} arrived: {arrived}")
                self._arrived.wait(left)
            return list(self.messages)

    def wait_quiet(self, seconds: float = 1.0) -> list[EmailMessage]:
        """Return once ``seconds`` passed without a new message (counted from the call and
        from the last arrival): a late duplicate would have shown by then."""
        began = time.monotonic()
        with self._arrived:
            while True:
                left = max(began, self._last_arrival) + seconds - time.monotonic()
                if left <= 0:
                    return list(self.messages)
                self._arrived.wait(left)


# --- a Redis server of the test's own ---------------------------------------------------------

class RedisServer:
    """``redis-server`` on a spare port, without persistence, as a child of the test.

    A test may ``stop()`` it (Redis goes down) and ``start()`` it again on the same port.
    Skips (or fails under REQUIRE_SERVICES=1) when redis-server is not installed.
    """

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen | None = None
        self._log = tempfile.TemporaryFile()

    @staticmethod
    def binary() -> str | None:
        return shutil.which("redis-server")

    def start(self, timeout: float = 15) -> "RedisServer":
        from conftest import need_service

        binary = self.binary()
        need_service("redis-server", binary is not None,
                     "the redis-server program runs a Redis the test may stop")
        if self._process is not None and self._process.poll() is None:
            return self
        self._process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no"],
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"redis-server on port {self.port} exited with "
                                   f"{self._process.returncode}: {self.output()[-2000:]}")
            if self.ping():
                return self
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server on port {self.port} did not answer PING "
                                   f"within {timeout:.0f} s")
            time.sleep(0.05)

    def ping(self) -> bool:
        from redis import Redis
        from redis.exceptions import RedisError

        client = Redis.from_url(self.url, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.ping())
        except (RedisError, OSError):
            return False
        finally:
            client.close()

    def stop(self, timeout: float = 10) -> None:
        """Terminate the server and wait for it: afterwards the port refuses connections."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        deadline = time.monotonic() + timeout
        while port_answers(self.port, 0.2) and time.monotonic() < deadline:
            time.sleep(0.05)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def output(self) -> str:
        return _read(self._log)

    def __enter__(self) -> "RedisServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        self._log.close()


# --- the environment of the app's processes ---------------------------------------------------

def _plugin_path() -> list[str]:
    """Folders that make the test session's plugins importable in a subprocess as well
    (conftest installs the sample plugin's entry point in a temporary folder)."""
    found = []
    for entry in sys.path:
        folder = Path(entry) if entry else None
        if folder is not None and folder.is_dir() and \
                any(folder.glob("mikrogranty_sample-*.dist-info")):
            found.append(str(folder))
    sample = TESTS / "sample_plugin"
    if found and str(sample) in sys.path:
        found.append(str(sample))
    return found


def worker_env(app_config: dict, **overrides: str | None) -> dict[str, str]:
    """``os.environ`` plus what a process of the app needs to be the test app.

    ``core.config.from_environment`` reads these; TRUSTED_HOSTS lists only the extra
    hosts (it adds BASE_DOMAIN and its subdomains itself).  REDIS_URL is the test
    config's (none: jobs would run in-process), never a shared Redis inherited from the
    environment; pass ``REDIS_URL=...`` to use one.  The argon2 cost is not read from
    the environment: a password hashed at the tests' low cost is still checked (the hash
    carries its parameters).  ``overrides``: more variables (``None`` removes one).
    """
    base = app_config["BASE_DOMAIN"]
    env = dict(os.environ)
    for name in ("FLASK_APP", "FLASK_DEBUG", "DEMO", "REDIS_URL", "PUBLIC_PORT",
                 "ENABLED_PLUGINS", "RQ_QUEUE_PREFIX"):
        env.pop(name, None)
    trusted = [h for h in app_config.get("TRUSTED_HOSTS") or () if h not in (base, "." + base)]
    env.update({
        "DATABASE_URL": app_config["DATABASE_URL"],
        "BASE_DOMAIN": base,
        "SECRET_KEY": app_config["SECRET_KEY"],
        "TRUSTED_HOSTS": ",".join(trusted),
        "MAIL_BACKEND": app_config.get("MAIL_BACKEND") or "outbox",
        "PREFERRED_URL_SCHEME": app_config.get("PREFERRED_URL_SCHEME") or "https",
        "LOGIN_RATE_LIMIT": app_config.get("LOGIN_RATE_LIMIT") or "10 per minute",
        "PYTHONUNBUFFERED": "1",
    })
    if app_config.get("REDIS_URL"):
        env["REDIS_URL"] = app_config["REDIS_URL"]
    if app_config.get("PUBLIC_PORT"):
        env["PUBLIC_PORT"] = str(app_config["PUBLIC_PORT"])
    if app_config.get("ENABLED_PLUGINS") is not None:
        env["ENABLED_PLUGINS"] = ",".join(app_config["ENABLED_PLUGINS"])
    if app_config.get("RQ_QUEUE_PREFIX"):
        env["RQ_QUEUE_PREFIX"] = app_config["RQ_QUEUE_PREFIX"]
    extra = _plugin_path()
    if extra:
        env["PYTHONPATH"] = os.pathsep.join(
            extra + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = str(value)
    return env


# --- processes --------------------------------------------------------------------------------

class Process:
    """A child process of the test, its output (stdout and stderr) kept in a temp file.

    Started in its own session, so that stopping it stops its children too (gunicorn's
    workers, an RQ work horse).
    """

    def __init__(self, command: list[str], env: dict[str, str], *, cwd: Path = ROOT,
                 name: str | None = None):
        self.command = [str(part) for part in command]
        self.name = name or Path(self.command[0]).name
        self.folders: list[str] = []  # removed once the process has stopped
        # An unnamed file: nothing is left behind, whether or not the test stops it.
        self._log = tempfile.TemporaryFile(prefix=f"mikrogranty-{self.name}-")
        self.popen = subprocess.Popen(self.command, cwd=cwd, env=env, stdout=self._log,
                                      stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def running(self) -> bool:
        return self.popen.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    def wait(self, timeout: float | None = None) -> int:
        return self.popen.wait(timeout=timeout)

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self, timeout: float = 10) -> int | None:
        """SIGTERM (a warm shutdown for gunicorn and RQ), then SIGKILL after ``timeout``."""
        if self.popen.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._signal_group(signal.SIGKILL)  # a leftover child of the group, if any
        for folder in self.folders:
            shutil.rmtree(folder, ignore_errors=True)
        return self.popen.returncode

    def kill(self) -> None:
        """SIGKILL the process and its children at once (a crash, a power cut)."""
        self._signal_group(signal.SIGKILL)
        self.popen.wait()

    def output(self) -> str:
        """Everything the process wrote so far (stdout and stderr)."""
        return _read(self._log)

    def __enter__(self) -> "Process":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<Process {self.name} pid={self.pid} rc={self.returncode}>"


def rq_worker(env: dict[str, str], queues=QUEUES, *, burst: bool = False,
              extra_args=()) -> Process:
    """The plain ``rq worker`` of the deployment guide, on ``env["REDIS_URL"]``."""
    command = [str(Path(sys.executable).with_name("rq")), "worker", "--url", env["REDIS_URL"]]
    if burst:
        command.append("--burst")
    command += [*extra_args, *queues]
    return Process(command, env, name="rq-worker")


def flask_worker(env: dict[str, str], *, burst: bool = False) -> Process:
    """``flask jobs worker``: the app built once, an RQ worker on every queue."""
    command = [sys.executable, "-m", "flask", "--app", "core", "jobs", "worker"]
    if burst:
        command.append("--burst")
    return Process(command, env, name="flask-worker")


def run_flask(env: dict[str, str], *args: str, timeout: float = 120
              ) -> subprocess.CompletedProcess:
    """Run one ``flask --app core …`` command (e.g. ``jobs tick``) to its end."""
    return subprocess.run([sys.executable, "-m", "flask", "--app", "core", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=timeout)


def gunicorn(env: dict[str, str], port: int, *, timeout: float = 60) -> Process:
    """gunicorn with the deployment's settings (deploy/gunicorn.conf.py), two workers on
    127.0.0.1:``port``; returns once the port answers."""
    # Its control socket goes to a folder of its own (as systemd's RuntimeDirectory gives),
    # so that two servers at once never share one.
    runtime = tempfile.mkdtemp(prefix="mikrogranty-gunicorn-")
    env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2",
           "RUNTIME_DIRECTORY": runtime}
    process = Process([sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF)], env,
                      name="gunicorn")
    process.folders.append(runtime)
    deadline = time.monotonic() + timeout
    while not port_answers(port):
        if not process.running:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n"
                               f"{process.output()[-4000:]}")
        if time.monotonic() > deadline:
            process.stop()
            raise RuntimeError(f"gunicorn did not listen on port {port} within "
                               f"{timeout:.0f} s:\n{process.output()[-4000:]}")
        time.sleep(0.1)
    return process


# --- a browser of one person ------------------------------------------------------------------

class WebClient:
    """One person's browser against a server on 127.0.0.1: the site's Host header and
    the cookies it set.  Redirects are not followed (the status is the answer)."""

    def __init__(self, port: int, host: str, timeout: float = 60):
        self.port, self.host, self.timeout = port, host, timeout
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None,
                headers: dict | None = None) -> "WebResponse":
        body = urlencode(form) if form is not None else None
        sent = {"Host": self.host, **(headers or {})}
        if body is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            headers_got = response.getheaders()
        finally:
            conn.close()
        for name, value in headers_got:
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
        return WebResponse(response.status, text, {k.lower(): v for k, v in headers_got})

    def get(self, path: str, **kw) -> "WebResponse":
        return self.request("GET", path, **kw)

    def post(self, path: str, form: dict, **kw) -> "WebResponse":
        return self.request("POST", path, form, **kw)


class WebResponse:
    def __init__(self, status: int, text: str, headers: dict[str, str]):
        self.status, self.text, self.headers = status, text, headers

    def field(self, name: str) -> str | None:
        """The value of the (first) hidden or text input called ``name`` in the page."""
        import html
        import re

        for tag in re.findall(r"<input\b[^>]*>", self.text):
            if re.search(rf'\bname="{re.escape(name)}"', tag):
                value = re.search(r'\bvalue="([^"]*)"', tag)
                return html.unescape(value.group(1)) if value else ""
        return None

    def __repr__(self) -> str:
        return f"<WebResponse {self.status} {self.headers.get('location', '')}>"
