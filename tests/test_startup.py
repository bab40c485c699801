"""Starting the application: SECRET_KEY, the WSGI entry point, `flask run`, the
environment, and the deployment files in deploy/ that must agree with the code."""
from __future__ import annotations

import http.client
import os
import re
import runpy
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core import StartupError, create_app, jobs
from core.config import INSTANCE, ROOT, from_environment

DEPLOY = ROOT / "deploy"
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
PYTHON = str(VENV_PYTHON if VENV_PYTHON.exists() else Path(sys.executable))
FLASK = [str(Path(PYTHON).parent / "flask")] if (Path(PYTHON).parent / "flask").exists() \
    else [PYTHON, "-m", "flask"]
# Variables that would change what a started process does; each test sets what it needs.
CLEARED = {"SECRET_KEY", "FLASK_DEBUG", "FLASK_APP", "DATABASE_URL", "REDIS_URL", "DEMO",
           "BASE_DOMAIN", "TRUSTED_HOSTS", "ENABLED_PLUGINS", "RATELIMIT_STORAGE_URI",
           "WEB_CONCURRENCY", "GUNICORN_BIND", "FORWARDED_ALLOW_IPS", "PUBLIC_PORT"}


# --- helpers ------------------------------------------------------------------------------

@pytest.fixture
def bare_env(monkeypatch, tmp_path):
    """This process's environment without a secret, debug or services; returns overrides
    that keep the database in a temporary SQLite file."""
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    return {"DATABASE_URL": f"sqlite:///{tmp_path / 'app.sqlite'}"}


def process_env(tmp_path: Path, **values: str) -> dict[str, str]:
    """An environment for a child process: no secret, no debug, a temporary SQLite file."""
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'app.sqlite'}",
               RUNTIME_DIRECTORY=str(tmp_path),  # gunicorn's control socket
               PYTHONDONTWRITEBYTECODE="1")
    env.update(values)
    return env


def run(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{' '.join(args)} did not exit by itself within {timeout} s "
                    f"(it must refuse to start, not serve): {exc.stderr!r}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def env_file(path: Path) -> tuple[dict[str, str], set[str]]:
    """Read an environment file as systemd does: (values set, every name mentioned)."""
    values, names = {}, set()
    for line in path.read_text("utf-8").splitlines():
        match = re.match(r"^(#?)([A-Z][A-Z0-9_]*)=(.*)$", line.strip())
        if not match:
            continue
        commented, name, value = match.groups()
        names.add(name)
        if not commented:
            values[name] = value.strip().strip("'\"")
    return values, names


SECRET_MESSAGE = "SECRET_KEY is not set"


# --- (a) SECRET_KEY: required to serve outside debug, never for CLI and tests --------------

def test_serving_without_secret_key_outside_debug_is_refused(bare_env):
    with pytest.raises(StartupError) as info:
        create_app(bare_env, serving=True)
    message = str(info.value)
    assert SECRET_MESSAGE in message
    assert "secrets.token_hex" in message  # it says how to make one
    assert isinstance(info.value, SystemExit)  # a server stops with the message, no traceback


def test_debug_server_starts_without_secret_key(bare_env, monkeypatch):
    app = create_app({**bare_env, "DEBUG": True}, serving=True)
    assert app.debug and len(app.config["SECRET_KEY"]) == 64
    monkeypatch.setenv("FLASK_DEBUG", "1")  # what `flask --debug run` sets
    assert create_app(bare_env, serving=True).debug


def test_serving_with_secret_key_starts_and_answers(bare_env, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "a-secret-from-the-environment")
    app = create_app(bare_env, serving=True)
    assert app.config["SECRET_KEY"] == "a-secret-from-the-environment"
    assert not app.debug
    response = app.test_client().get("/", headers={"Host": "localhost"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/console/")
    monkeypatch.delenv("SECRET_KEY")
    app = create_app({**bare_env, "SECRET_KEY": "given-in-config"}, serving=True)
    assert app.config["SECRET_KEY"] == "given-in-config"


def test_cli_and_tests_need_no_secret_key(bare_env):
    cli = create_app(bare_env, serving=False)
    outside_flask_run = create_app(bare_env)  # no click context: not serving
    testing = create_app({**bare_env, "TESTING": True}, serving=True)
    keys = {app.config["SECRET_KEY"] for app in (cli, outside_flask_run, testing)}
    assert len(keys) == 3 and all(len(key) == 64 for key in keys)  # throw-away keys


# --- (b) core.wsgi: the entry point gunicorn imports -----------------------------------------

def test_wsgi_module_refuses_to_import_without_secret_key(tmp_path):
    result = run([PYTHON, "-c", "import core.wsgi"], process_env(tmp_path))
    assert result.returncode != 0
    assert SECRET_MESSAGE in result.stderr
    assert "Traceback" not in result.stderr  # a clear message, not a stack trace


WSGI_PROBE = """
from flask import request
from core.wsgi import app

@app.get("/_probe")
def probe():
    return f"{request.remote_addr} {request.scheme}"

client = app.test_client()
home = client.get("/", headers={"Host": "localhost"})
forged = client.get("/", headers={"Host": "evil.example.com"})
proxied = client.get("/_probe", environ_base={"REMOTE_ADDR": "127.0.0.1"}, headers={
    "Host": "localhost", "X-Forwarded-For": "198.51.100.1, 203.0.113.7",
    "X-Forwarded-Proto": "https"})
print(home.status_code, home.headers["Location"])
print(forged.status_code)
print(proxied.get_data(as_text=True))
print(app.config["SECRET_KEY"], app.config["SQLALCHEMY_DATABASE_URI"])
"""


def test_wsgi_module_serves_with_secret_key(tmp_path):
    env = process_env(tmp_path, SECRET_KEY="wsgi-secret")
    result = run([PYTHON, "-c", WSGI_PROBE], env)
    assert result.returncode == 0, result.stderr
    home, forged, proxied, config = result.stdout.strip().splitlines()
    assert home == "302 /console/"
    assert forged == "400"  # a Host outside TRUSTED_HOSTS
    # One proxy hop is trusted: the address nginx saw, and the scheme it was asked on.
    assert proxied == "203.0.113.7 https"
    assert config == f"wsgi-secret sqlite:///{tmp_path / 'app.sqlite'}"


def _gunicorn(tmp_path: Path, port: int, **values: str) -> subprocess.Popen:
    pytest.importorskip("gunicorn")
    env = process_env(tmp_path, GUNICORN_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="1",
                      **values)
    return subprocess.Popen([PYTHON, "-m", "gunicorn", "--config",
                             str(DEPLOY / "gunicorn.conf.py")],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_gunicorn_with_the_deploy_config_stops_without_secret_key(tmp_path):
    proc = _gunicorn(tmp_path, free_port())
    try:
        _, stderr = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("gunicorn kept running without SECRET_KEY")
    assert proc.returncode != 0
    assert SECRET_MESSAGE in stderr


def test_gunicorn_with_the_deploy_config_serves(tmp_path):
    port = free_port()
    proc = _gunicorn(tmp_path, port, SECRET_KEY="gunicorn-secret")
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.communicate()[1]
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/", headers={"Host": "localhost",
                                                  "X-Forwarded-For": "203.0.113.7"})
                response = conn.getresponse()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("gunicorn did not answer within 60 s")
                time.sleep(0.2)
        assert response.status == 302
        assert response.getheader("Location") == "/console/"
        conn.close()
    finally:
        proc.terminate()
        try:
            stdout, stderr = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate()
    # The access log (on stdout) names the client and the host, i.e. the tenant.
    assert '203.0.113.7 localhost - - [' in stdout, stderr


# --- (c) `flask run` --------------------------------------------------------------------------

def test_flask_run_without_secret_key_exits_with_the_message(tmp_path):
    result = run(FLASK + ["--app", "core", "run", "--port", str(free_port())],
                 process_env(tmp_path), timeout=60)
    assert result.returncode != 0
    assert SECRET_MESSAGE in result.stderr


def test_flask_commands_need_no_secret_key(tmp_path):
    result = run(FLASK + ["--app", "core", "plugins", "list"], process_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert SECRET_MESSAGE not in result.stderr


# --- (d) configuration from environment variables ------------------------------------------

def test_configuration_is_read_from_environment_variables():
    config = from_environment({
        "SECRET_KEY": "k" * 64,
        "DATABASE_URL": "postgresql://mg:pw@db.internal:5432/mikrogranty",
        "REDIS_URL": "redis://cache.internal:6379/1",
        "BASE_DOMAIN": " Mikrogranty.Example.org ",
        "TRUSTED_HOSTS": "www.gmina-a.pl, gmina-a.pl",
        "ENABLED_PLUGINS": "lpm, wroclaw,,",
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": "smtp.example.org",
        "MAIL_PORT": "587",
        "MAIL_USERNAME": "mailer",
        "MAIL_PASSWORD": "mail-pw",
        "MAIL_USE_TLS": "1",
        "MAIL_DEFAULT_SENDER": "mikrogranty@example.org",
        "SESSION_COOKIE_SECURE": "true",
    })
    assert config["SECRET_KEY"] == "k" * 64
    assert config["SQLALCHEMY_DATABASE_URI"] == (
        "postgresql+psycopg://mg:pw@db.internal:5432/mikrogranty")
    assert config["REDIS_URL"] == "redis://cache.internal:6379/1"
    assert config["RATELIMIT_STORAGE_URI"] == "redis://cache.internal:6379/1"
    assert config["BASE_DOMAIN"] == "mikrogranty.example.org"
    assert config["TRUSTED_HOSTS"] == ["mikrogranty.example.org", ".mikrogranty.example.org",
                                       "www.gmina-a.pl", "gmina-a.pl"]
    assert config["ENABLED_PLUGINS"] == ["lpm", "wroclaw"]
    assert (config["MAIL_BACKEND"], config["MAIL_SERVER"], config["MAIL_PORT"]) == (
        "smtp", "smtp.example.org", 587)
    assert (config["MAIL_USERNAME"], config["MAIL_PASSWORD"]) == ("mailer", "mail-pw")
    assert config["MAIL_USE_TLS"] is True
    assert config["MAIL_DEFAULT_SENDER"] == "mikrogranty@example.org"
    assert config["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize("url, expected", [
    ("postgresql://u@h/d", "postgresql+psycopg://u@h/d"),
    ("postgres://u@h/d", "postgresql+psycopg://u@h/d"),
    ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
    ("sqlite:////var/lib/mikrogranty.sqlite", "sqlite:////var/lib/mikrogranty.sqlite"),
])
def test_database_url_uses_psycopg_3(url, expected):
    assert from_environment({"DATABASE_URL": url})["SQLALCHEMY_DATABASE_URI"] == expected


def test_defaults_are_embedded_sqlite_and_no_redis():
    config = from_environment({})
    assert INSTANCE == ROOT / "instance"
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{INSTANCE / 'mikrogranty.sqlite'}"
    assert config["REDIS_URL"] is None
    assert config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert config["SECRET_KEY"] is None
    assert config["BASE_DOMAIN"] == "localhost"
    assert config["TRUSTED_HOSTS"] == ["localhost", ".localhost"]
    assert config["ENABLED_PLUGINS"] is None  # every installed plugin
    assert config["MAIL_BACKEND"] == "outbox"
    assert config["MAX_CONTENT_LENGTH"] == 20 * 1024 * 1024


def record_job(*args, **kwargs):
    return ("ran", args, kwargs)


def test_without_redis_jobs_run_in_process(bare_env):
    app = create_app(bare_env)
    assert app.config["REDIS_URL"] is None
    with app.app_context():
        assert jobs.enqueue(record_job, 1, two=2, tenant_id=None) == ("ran", (1,), {"two": 2})


# --- deploy/ agrees with the code --------------------------------------------------------------

def _names_read(path: Path) -> set[str]:
    return set(re.findall(r"""(?:env|os\.environ)\.get\(\s*["']([A-Z][A-Z0-9_]*)["']""",
                          path.read_text("utf-8")))


def test_env_example_lists_every_environment_variable():
    _, listed = env_file(DEPLOY / "env.example")
    read = _names_read(ROOT / "core" / "config.py") | _names_read(DEPLOY / "gunicorn.conf.py")
    read -= {"RUNTIME_DIRECTORY"}  # set by systemd from the unit's RuntimeDirectory=
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "BASE_DOMAIN", "MAIL_SERVER"} <= read
    assert read - listed == set(), "variables read by the code but missing from env.example"
    assert listed - read - {"FLASK_APP"} == set(), "env.example lists variables nobody reads"


def test_env_example_is_a_working_production_configuration():
    values, _ = env_file(DEPLOY / "env.example")
    config = from_environment({**values, "SECRET_KEY": "x" * 64})
    assert config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")
    assert config["REDIS_URL"] and config["RATELIMIT_STORAGE_URI"] == config["REDIS_URL"]
    assert config["MAIL_BACKEND"] == "smtp" and isinstance(config["MAIL_PORT"], int)
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["PREFERRED_URL_SCHEME"] == "https" and config["PUBLIC_PORT"] is None
    assert config["ENABLED_PLUGINS"] is None and config["DEMO"] is False


def test_worker_unit_listens_on_every_queue_the_jobs_use(bare_env, monkeypatch):
    import rq

    names = []

    class RecordingQueue:
        def __init__(self, name, connection):
            names.append(name)

        def enqueue(self, *args, **kwargs):
            return None

    monkeypatch.setattr(rq, "Queue", RecordingQueue)
    app = create_app({**bare_env, "REDIS_URL": "redis://127.0.0.1:1/0"})
    with app.app_context():
        for queue in ("default", "mail", "documents"):
            jobs.enqueue(record_job, tenant_id=None, queue=queue)
        # `flask jobs worker` without --queue works on every queue of core.jobs.QUEUES,
        # with RQ's scheduler (the delayed retries) unless told otherwise.
        worker_queues = {jobs.queue_name(queue) for queue in jobs.QUEUES}
    unit = (DEPLOY / "systemd" / "mikrogranty-worker.service").read_text("utf-8")
    command = re.search(r"^ExecStart=(.*)$", unit, re.M).group(1)
    assert command == "/opt/mikrogranty/.venv/bin/flask --app core jobs worker"
    assert worker_queues == set(names) == {
        "mikrogranty-default", "mikrogranty-mail", "mikrogranty-documents"}


def test_systemd_units_read_the_environment_file():
    for unit in ("mikrogranty-web.service", "mikrogranty-worker.service"):
        text = (DEPLOY / "systemd" / unit).read_text("utf-8")
        assert "EnvironmentFile=/etc/mikrogranty/env" in text.splitlines()
        assert re.search(r"^User=mikrogranty$", text, re.M)
    web = (DEPLOY / "systemd" / "mikrogranty-web.service").read_text("utf-8")
    assert "gunicorn --config /opt/mikrogranty/deploy/gunicorn.conf.py" in web


def test_gunicorn_config_reads_the_environment(monkeypatch):
    for name in ("GUNICORN_BIND", "WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS"):
        monkeypatch.delenv(name, raising=False)
    defaults = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert defaults["wsgi_app"] == "core.wsgi:app"
    assert defaults["bind"] == "127.0.0.1:8000"
    assert 1 <= defaults["workers"] <= 8
    assert defaults["forwarded_allow_ips"] == "127.0.0.1,::1"
    assert defaults["accesslog"] == "-"
    monkeypatch.setenv("GUNICORN_BIND", "unix:/run/mikrogranty-web/gunicorn.sock")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.0.0.0/8")
    custom = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert (custom["bind"], custom["workers"], custom["forwarded_allow_ips"]) == (
        "unix:/run/mikrogranty-web/gunicorn.sock", 3, "10.0.0.0/8")


def test_nginx_config_matches_the_application():
    site = (DEPLOY / "nginx" / "mikrogranty.conf").read_text("utf-8")
    locations = (DEPLOY / "nginx" / "mikrogranty-locations.conf").read_text("utf-8")
    assert re.search(r"server_name example\.org \*\.example\.org;", site)
    assert "include /opt/mikrogranty/deploy/nginx/mikrogranty-locations.conf;" in site
    upstream = re.search(r"upstream mikrogranty \{\s*server ([^ ;]+)", site).group(1)
    assert upstream == runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))["bind"]
    size = re.search(r"client_max_body_size (\d+)m;", locations).group(1)
    assert int(size) * 1024 * 1024 == from_environment({})["MAX_CONTENT_LENGTH"]
    assert "proxy_set_header Host $host;" in locations
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in locations  # one trusted hop
    static = re.search(r"location /static/ \{\s*alias /opt/mikrogranty/(\S+);", locations)
    assert (ROOT / static.group(1)).resolve() == ROOT / "core" / "static"
