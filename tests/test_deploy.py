"""The deployment files agree with the code and with each other.

nginx itself checks the shipped site (``nginx -t``, where nginx is installed).  Docker and
Helm cannot run here, so the Dockerfile, compose.yaml, the Helm chart and the systemd
units are read as data: the commands they start exist, the files they copy exist, the
ports, paths and queues match what the application uses, and every setting the
application reads is documented for whoever installs it.
"""
from __future__ import annotations

import configparser
import importlib.util
import os
import re
import shlex
import shutil
import socket
import subprocess
import threading
import tomllib
from pathlib import Path

import pytest
import yaml

from conftest import need_service
from core import create_app
from core.config import ROOT, from_environment

DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "mikrogranty"
SYSTEMD = DEPLOY / "systemd"
CHECKOUT = "/opt/mikrogranty"  # where deploy/ expects the checkout on one server


def names_read(path: Path) -> set[str]:
    """Environment variables a Python file reads with ``env.get("NAME"`` or ``os.environ``."""
    return set(re.findall(r"""(?:env|os\.environ)(?:\.get\(|\[)\s*["']([A-Z][A-Z0-9_]*)["']""",
                          path.read_text("utf-8")))


def settings_read() -> set[str]:
    """Every variable the application and the shipped deploy scripts read."""
    names = set()
    for path in (ROOT / "core" / "config.py", DEPLOY / "gunicorn.conf.py",
                 DEPLOY / "healthcheck.py"):
        names |= names_read(path)
    return names - {"RUNTIME_DIRECTORY"}  # set by systemd from the unit's RuntimeDirectory=


def cli_accepts(command: str) -> None:
    """``flask --app core <command>`` exists: its ``--help`` runs without an error."""
    args = shlex.split(command)
    assert args[:3] == ["flask", "--app", "core"] or args[0] == "flask", command
    args = args[3:] if args[:3] == ["flask", "--app", "core"] else args[1:]
    first_option = next((i for i, a in enumerate(args) if a.startswith("-")), len(args))
    words, options = args[:first_option], [a for a in args if a.startswith("-")]
    app = create_app({"SECRET_KEY": "x", "DATABASE_URL": "sqlite://"})
    result = app.test_cli_runner().invoke(args=words + ["--help"])
    assert result.exit_code == 0, f"flask {' '.join(words)}: {result.output}"
    for option in options:  # every option given in a deploy file is one the command has
        assert option.split("=")[0] in result.output, f"flask {' '.join(words)} {option}"


def flask_commands(text: str) -> list[str]:
    """The ``flask …`` commands in a shell line (split at ``&&`` and ``;``)."""
    found = []
    for part in re.split(r"&&|;|\|\|", text):
        part = part.strip()
        match = re.search(r"(?:^|[\s/])flask\s(.*)$", part)
        if match:
            found.append("flask " + match.group(1).strip())
    return found


# --- nginx ------------------------------------------------------------------------------

def find_nginx() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None)


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A throw-away certificate for example.org and *.example.org (openssl's command line)."""
    openssl = shutil.which("openssl")
    need_service("openssl", openssl is not None, "to make a certificate for `nginx -t`")
    cert, key = folder / "fullchain.pem", folder / "privkey.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                    "-subj", "/CN=example.org",
                    "-addext", "subjectAltName=DNS:example.org,DNS:*.example.org",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def test_nginx_accepts_the_shipped_site(tmp_path):
    """The site as shipped, with only the certificate and the checkout moved, passes
    ``nginx -t`` inside the http block Debian's nginx.conf would include it in."""
    nginx = find_nginx()
    need_service("nginx", nginx is not None,
                 "`nginx -t` on deploy/nginx (scripts/ensure-test-services.sh installs it)")
    cert, key = self_signed_certificate(tmp_path)
    site = (DEPLOY / "nginx" / "mikrogranty.conf").read_text("utf-8")
    for shipped, ours in (("/etc/letsencrypt/live/example.org/fullchain.pem", cert),
                          ("/etc/letsencrypt/live/example.org/privkey.pem", key)):
        assert shipped in site
        site = site.replace(shipped, str(ours))
    site = site.replace(CHECKOUT, str(ROOT))  # includes the checkout's locations file
    (tmp_path / "mikrogranty.conf").write_text(site, "utf-8")
    temp = {name: tmp_path / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for folder in temp.values():
        folder.mkdir()
    (tmp_path / "nginx.conf").write_text(f"""
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log {tmp_path}/access.log;
    client_body_temp_path {temp['body']};
    proxy_temp_path {temp['proxy']};
    fastcgi_temp_path {temp['fastcgi']};
    uwsgi_temp_path {temp['uwsgi']};
    scgi_temp_path {temp['scgi']};
    include {tmp_path}/mikrogranty.conf;
}}
""", "utf-8")
    result = subprocess.run([nginx, "-T", "-p", f"{tmp_path}/", "-c", str(tmp_path / "nginx.conf"),
                             "-e", str(tmp_path / "error.log")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
    # Both shipped files were read: the site and the locations it includes.
    locations = DEPLOY / "nginx" / "mikrogranty-locations.conf"
    assert f"# configuration file {locations}:" in result.stdout
    assert "proxy_pass http://mikrogranty;" in result.stdout


# --- the Dockerfile -------------------------------------------------------------------------

def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    instructions, pending = [], ""
    for line in (ROOT / "Dockerfile").read_text("utf-8").splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if pending and line.lstrip().startswith("#"):
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        keyword, _, rest = pending.strip().partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
        pending = ""
    return instructions


def dockerfile_values(keyword: str) -> list[str]:
    return [rest for kw, rest in dockerfile() if kw == keyword]


def dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text("utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def image_env() -> dict[str, str]:
    values = {}
    for rest in dockerfile_values("ENV"):
        for item in shlex.split(rest):
            name, _, value = item.partition("=")
            values[name] = value
    return values


def test_dockerfile_builds_a_non_root_image_of_the_checkout():
    base = dockerfile_values("FROM")
    assert len(base) == 1 and re.fullmatch(r"python:3\.11-slim(-\w+)?", base[0])
    users = dockerfile_values("USER")
    assert users, "the image must not run as root"
    assert users[-1].split(":")[0] not in {"root", "0"}
    run = " ".join(dockerfile_values("RUN"))
    uid = users[-1].split(":")[0]
    assert re.search(rf"useradd\b[^&]*--uid {uid}\b", run)  # the user exists in the image
    # WeasyPrint's libraries and a font with Polish and Ukrainian letters.
    for package in ("libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz0b", "fonts-dejavu-core"):
        assert re.search(rf"apt-get install[^&]*\b{re.escape(package)}\b", run), package
    ignored = set(dockerignore())
    for rest in dockerfile_values("COPY"):
        *sources, _ = shlex.split(rest)
        for source in sources:
            assert not source.startswith("--"), "no COPY --from: the checkout only"
            assert (ROOT / source).exists(), f"COPY {source}: no such file in the checkout"
            assert source.rstrip("/") not in ignored, f"COPY {source}, but .dockerignore drops it"
    # The application finds these beside core/ (core.config.ROOT): the image keeps the layout.
    copied = {shlex.split(rest)[0].rstrip("/") for rest in dockerfile_values("COPY")}
    assert {"pyproject.toml", "README.md", "core", "plugins", "migrations", "translations",
            "tenants", "deploy"} <= copied
    assert "pip install --no-deps -e ." in run
    assert dockerfile_values("WORKDIR") == ["/app"]
    # Secrets and local state never go into the image.
    assert {".env", ".venv", "instance", ".git"} <= ignored


def test_dockerfile_compiles_every_catalogue():
    run = " ".join(dockerfile_values("RUN"))
    match = re.search(r"for folder in ([^;]+); do\s+pybabel compile --use-fuzzy -d \"\$folder\"",
                      run)
    assert match, "the image compiles the translations with pybabel"
    compiled = set()
    for pattern in match.group(1).split():
        compiled |= {p.resolve() for p in ROOT.glob(pattern)}
    catalogues = {po.parent.parent.parent.resolve()
                  for po in ROOT.glob("**/LC_MESSAGES/messages.po")
                  if ".venv" not in po.parts and "tests" not in po.relative_to(ROOT).parts}
    assert catalogues and catalogues <= compiled


def test_dockerfile_serves_gunicorn_on_the_exposed_port():
    env = image_env()
    port = env["GUNICORN_BIND"].rpartition(":")[2]
    assert env["GUNICORN_BIND"] == f"0.0.0.0:{port}"
    assert dockerfile_values("EXPOSE") == [port]
    assert env["FLASK_APP"] == "core"
    command = yaml.safe_load(dockerfile_values("CMD")[0])  # the JSON (exec) form
    assert command == ["gunicorn", "--config", "deploy/gunicorn.conf.py"]
    health = dockerfile_values("HEALTHCHECK")[0]
    assert '"deploy/healthcheck.py"' in health and (DEPLOY / "healthcheck.py").exists()
    # gunicorn's control socket needs a writable folder; /app belongs to root.
    assert env["XDG_RUNTIME_DIR"] == "/tmp"


def load_healthcheck():
    spec = importlib.util.spec_from_file_location("deploy_healthcheck", DEPLOY / "healthcheck.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_healthcheck_asks_the_console_with_the_base_domain(tmp_path):
    from werkzeug.serving import make_server

    healthcheck = load_healthcheck()
    assert healthcheck.address("0.0.0.0:8000") == ("127.0.0.1", 8000)
    assert healthcheck.address("[::]:8000") == ("127.0.0.1", 8000)
    app = create_app({"SECRET_KEY": "x", "BASE_DOMAIN": "mikrogranty.test",
                      "TRUSTED_HOSTS": ["mikrogranty.test", ".mikrogranty.test"],
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite'}"}, serving=True)
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        bind = f"0.0.0.0:{port}"  # as in the image
        healthy, detail = healthcheck.check({"GUNICORN_BIND": bind,
                                             "BASE_DOMAIN": "mikrogranty.test"})
        assert healthy, detail
        # Another host is refused by the application: the check must send BASE_DOMAIN.
        healthy, detail = healthcheck.check({"GUNICORN_BIND": bind,
                                             "BASE_DOMAIN": "elsewhere.test"})
        assert not healthy and "HTTP 400" in detail
    finally:
        server.shutdown()
        thread.join(10)
    healthy, detail = healthcheck.check({"GUNICORN_BIND": f"127.0.0.1:{free_port()}"}, timeout=2)
    assert not healthy


# --- compose.yaml ---------------------------------------------------------------------------

def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text("utf-8"))


def command_text(service: dict) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else command


def test_compose_runs_every_process_from_the_image():
    services = compose()["services"]
    assert {"web", "worker", "tick", "migrate", "postgres", "redis"} <= set(services)
    for name in ("web", "worker", "tick", "migrate"):
        service = services[name]
        assert service["build"] == "." and (ROOT / "Dockerfile").exists()
        assert service["env_file"] == ".env"
        assert re.fullmatch(r"\$\{SECRET_KEY:\?.+\}", service["environment"]["SECRET_KEY"])
        assert "@postgres:5432/" in service["environment"]["DATABASE_URL"]
        assert service["environment"]["REDIS_URL"].startswith("redis://redis:6379/")
    assert "command" not in services["web"]  # the image's gunicorn
    assert "flask --app core jobs worker" in command_text(services["worker"])
    tick = command_text(services["tick"])
    assert "flask --app core jobs tick" in tick and "sleep 300" in tick
    migrate = command_text(services["migrate"])
    assert migrate.index("db upgrade") < migrate.index("tenants sync")
    assert services["migrate"]["restart"] == "no"
    for name in ("worker", "tick", "migrate"):  # no web server there to check
        assert services[name]["healthcheck"] == {"disable": True}
    for text in (command_text(services[n]) for n in ("worker", "tick", "migrate")):
        for command in flask_commands(text):
            cli_accepts(command)


def test_compose_starts_the_application_after_its_services_and_migrations():
    services = compose()["services"]
    for name in ("web", "worker", "tick"):
        depends = services[name]["depends_on"]
        assert depends["postgres"] == {"condition": "service_healthy"}, name
        assert depends["redis"] == {"condition": "service_healthy"}, name
        assert depends["migrate"] == {"condition": "service_completed_successfully"}, name
    assert services["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert services["postgres"]["image"].split(":")[1].startswith("16")
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "ping" in services["redis"]["healthcheck"]["test"]
    assert any(v.endswith(":/var/lib/postgresql/data") for v in services["postgres"]["volumes"])


def test_compose_publishes_gunicorn_where_the_shipped_nginx_expects_it():
    services = compose()["services"]
    (published,) = services["web"]["ports"]
    host, host_port, container_port = re.fullmatch(r"([^:]+):(.+):(\d+)", published).groups()
    assert host == "127.0.0.1"  # gunicorn believes X-Forwarded-For: only the proxy may reach it
    assert container_port == image_env()["GUNICORN_BIND"].rpartition(":")[2]
    default_port = re.fullmatch(r"\$\{WEB_PORT:-(\d+)\}", host_port).group(1)
    site = (DEPLOY / "nginx" / "mikrogranty.conf").read_text("utf-8")
    upstream = re.search(r"upstream mikrogranty \{\s*server ([^ ;]+)", site).group(1)
    assert upstream == f"127.0.0.1:{default_port}"
    # Uploaded documents survive a new container: the volume is where the application
    # stores them (instance/uploads beside core/, i.e. under the image's /app).
    uploads = f"/app/{uploads_folder()}"
    for name in ("web", "worker"):
        assert f"uploads:{uploads}" in services[name]["volumes"]
    assert f"install -d -o mikrogranty -g mikrogranty /app/instance {uploads}" in " ".join(
        dockerfile_values("RUN"))


def uploads_folder() -> str:
    """Where call documents are stored, relative to the checkout (core/calls/storage.py)."""
    from core.calls import storage

    app = create_app({"SECRET_KEY": "x", "DATABASE_URL": "sqlite://"})
    with app.app_context():
        folder = storage.uploads_root().relative_to(ROOT).as_posix()
    assert dockerfile_values("WORKDIR") == ["/app"]
    return folder


# --- the Helm chart ---------------------------------------------------------------------------

def chart_values() -> dict:
    return yaml.safe_load((CHART / "values.yaml").read_text("utf-8"))


def templates() -> dict[str, str]:
    return {p.name: p.read_text("utf-8") for p in sorted((CHART / "templates").iterdir())}


def test_chart_and_values_parse():
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text("utf-8"))
    assert chart["apiVersion"] == "v2" and chart["name"] == "mikrogranty"
    version = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["version"]
    assert chart["appVersion"] == version  # the image tag by default
    values = chart_values()
    assert values["baseDomain"] and values["existingSecret"] == ""
    assert set(values["secrets"]) >= {"secretKey", "databaseUrl", "redisUrl", "mailPassword"}


def test_chart_has_every_workload():
    kinds = []
    for name, text in templates().items():
        kinds += [(kind, name) for kind in re.findall(r"^kind:\s*(\w+)", text, re.M)]
    found = [kind for kind, _ in kinds]
    for kind in ("Job", "CronJob", "Ingress", "Service", "ConfigMap", "Secret"):
        assert kind in found, kind
    assert found.count("Deployment") == 2
    assert "NOTES.txt" in templates() and "_helpers.tpl" in templates()


def test_chart_templates_use_only_values_that_exist():
    values = chart_values()
    missing = set()
    for name, text in templates().items():
        for path in re.findall(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)", text):
            node = values
            for key in path.strip(".").split("."):
                if not isinstance(node, dict) or key not in node:
                    missing.add(f"{name}: .Values{path}")
                    break
                node = node[key]
    assert not missing, sorted(missing)


def test_chart_settings_are_settings_the_application_reads():
    values = chart_values()
    read = settings_read()
    assert set(values["config"]) <= read, set(values["config"]) - read
    assert "MAIL_PASSWORD" in read and "SECRET_KEY" in read
    helpers = templates()["_helpers.tpl"]
    for key in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "MAIL_PASSWORD"):
        assert re.search(rf"^{key}: ", helpers, re.M), key
        assert key in read
    assert re.search(r"^BASE_DOMAIN: \{\{ \.Values\.baseDomain", helpers, re.M)


def test_chart_migrates_before_install_and_upgrade():
    job = templates()["migration-job.yaml"]
    documents = job.split("\n---\n")
    (job_document,) = [d for d in documents if re.search(r"^kind: Job$", d, re.M)]
    assert re.search(r"helm\.sh/hook: pre-install,pre-upgrade", job_document)
    assert "flask --app core db upgrade" in job_document
    cli_accepts("flask --app core db upgrade")
    cli_accepts("flask --app core tenants sync --dir /etc/mikrogranty/tenants")
    # Pre-install hooks run before the release's Secret exists: the Job's Secret is a hook too.
    (secret_document,) = [d for d in documents if re.search(r"^kind: Secret$", d, re.M)]
    assert "helm.sh/hook: pre-install,pre-upgrade" in secret_document
    weights = [int(w) for w in re.findall(r'helm\.sh/hook-weight: "(-?\d+)"', job)]
    assert weights[-1] > max(weights[:-1])  # the Job comes after its Secret and ConfigMap


def test_chart_runs_the_worker_and_the_sweep():
    texts = templates()
    worker = texts["worker-deployment.yaml"]
    assert 'args: ["flask", "--app", "core", "jobs", "worker"]' in worker
    cronjob = texts["tick-cronjob.yaml"]
    assert 'args: ["flask", "--app", "core", "jobs", "tick"]' in cronjob
    assert re.search(r"^  concurrencyPolicy: Forbid$", cronjob, re.M)
    assert chart_values()["tick"]["schedule"] == "*/5 * * * *"
    cli_accepts("flask --app core jobs worker")
    cli_accepts("flask --app core jobs tick")
    assert re.search(r"replicas: \{\{ \.Values\.worker\.replicas \}\}", worker)
    web = texts["web-deployment.yaml"]
    assert re.search(r"replicas: \{\{ \.Values\.web\.replicas \}\}", web)


def test_chart_probes_and_ingress_name_the_base_domain():
    texts = templates()
    web = texts["web-deployment.yaml"]
    for probe in ("readinessProbe", "livenessProbe"):
        block = re.search(rf"{probe}:\n((?:\s{{12,}}.*\n)+)", web).group(1)
        assert "path: /login" in block and "port: http" in block
        assert re.search(r"- name: Host\s+value: \{\{ \.Values\.baseDomain \| quote \}\}", block)
    assert "containerPort: 8000" in web and image_env()["GUNICORN_BIND"].endswith(":8000")
    mounts = re.findall(r"mountPath: (\S+)", templates()["_helpers.tpl"])
    assert f"/app/{uploads_folder()}" in mounts
    # The application configured as the chart configures it answers the probe.
    values = chart_values()
    config = from_environment({**values["config"], "BASE_DOMAIN": values["baseDomain"]})
    app = create_app({**config, "SECRET_KEY": "x", "DATABASE_URL": "sqlite://"}, serving=True)
    probe = app.test_client().get("/login", headers={"Host": values["baseDomain"]})
    assert probe.status_code == 200
    ingress = texts["ingress.yaml"]
    assert 'list .Values.baseDomain (printf "*.%s" .Values.baseDomain)' in ingress
    assert '- {{ printf "*.%s" .Values.baseDomain | quote }}' in ingress
    assert "secretName: {{ .Values.ingress.tls.secretName }}" in ingress
    assert "name: Host" not in texts["service.yaml"]


def find_helm() -> str | None:
    return os.environ.get("HELM") or shutil.which("helm")


def test_chart_renders_with_helm(tmp_path):
    """With helm at hand (on PATH, or HELM=/path/to/helm), the chart lints and renders."""
    helm = find_helm()
    if not helm:
        pytest.skip("helm is not installed (HELM=/path/to/helm runs this check)")
    settings = ["--set", "secrets.secretKey=k,secrets.databaseUrl=postgresql://a@db/m,"
                "secrets.redisUrl=redis://redis:6379/0"]
    lint = subprocess.run([helm, "lint", "--strict", str(CHART), *settings],
                          capture_output=True, text=True, timeout=120)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    rendered = subprocess.run([helm, "template", "m", str(CHART), *settings],
                              capture_output=True, text=True, timeout=120)
    assert rendered.returncode == 0, rendered.stderr
    documents = [d for d in yaml.safe_load_all(rendered.stdout) if d]
    kinds = sorted(d["kind"] for d in documents)
    assert kinds.count("Deployment") == 2 and {"Job", "CronJob", "Ingress", "Service",
                                                "ConfigMap", "Secret"} <= set(kinds)
    missing = subprocess.run([helm, "template", "m", str(CHART)], capture_output=True, text=True,
                             timeout=120)
    assert missing.returncode != 0 and "secrets.secretKey is required" in missing.stderr


# --- systemd --------------------------------------------------------------------------------

def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None,
                                       comment_prefixes=("#", ";"))
    parser.optionxform = str  # systemd's keys are case-sensitive
    parser.read_string((SYSTEMD / name).read_text("utf-8"))
    return parser


def venv_command(exec_start: str) -> str:
    """``/opt/mikrogranty/.venv/bin/flask --app core …`` → ``flask --app core …``."""
    prefix = f"{CHECKOUT}/.venv/bin/"
    assert exec_start.startswith(prefix), exec_start
    return exec_start[len(prefix):]


def test_systemd_units_start_the_commands():
    web, worker, tick = (unit(f"mikrogranty-{n}.service") for n in ("web", "worker", "tick"))
    assert venv_command(web["Service"]["ExecStart"]) == (
        f"gunicorn --config {CHECKOUT}/deploy/gunicorn.conf.py")
    assert venv_command(worker["Service"]["ExecStart"]) == "flask --app core jobs worker"
    assert venv_command(tick["Service"]["ExecStart"]) == "flask --app core jobs tick"
    assert tick["Service"]["Type"] == "oneshot"
    assert "Install" not in tick  # started by the timer only
    for service in (worker, tick):
        cli_accepts(venv_command(service["Service"]["ExecStart"]))


def test_tick_runs_as_the_other_units_do():
    web, worker, tick = (unit(f"mikrogranty-{n}.service") for n in ("web", "worker", "tick"))
    shared = ("User", "Group", "WorkingDirectory", "EnvironmentFile", "NoNewPrivileges",
              "PrivateTmp", "ProtectSystem", "ProtectHome", "ProtectKernelTunables",
              "ProtectControlGroups")
    for key in shared:
        assert tick["Service"][key] == web["Service"][key] == worker["Service"][key], key
    assert tick["Service"]["EnvironmentFile"] == "/etc/mikrogranty/env"


def test_tick_timer_every_five_minutes():
    timer = unit("mikrogranty-tick.timer")["Timer"]
    calendar = timer.get("OnCalendar")
    if calendar:
        assert calendar in {"*:0/5", "*:00/5", "*-*-* *:00/5:00"}
        assert timer["Persistent"] == "true"  # a sweep missed while off runs at boot
        analyze = shutil.which("systemd-analyze")
        if analyze:
            out = subprocess.run([analyze, "calendar", "--iterations=3", calendar],
                                 capture_output=True, text=True, timeout=30).stdout
            minutes = [int(m) for m in re.findall(r"\d{2}:(\d{2}):00 UTC", out)]
            steps = {(b - a) % 60 for a, b in zip(minutes, minutes[1:])}
            assert not minutes or steps == {5}, out
    else:
        assert timer["OnUnitActiveSec"] in {"5min", "5m", "300", "300s"}
    delay = timer.get("RandomizedDelaySec", "0")
    assert int(re.match(r"\d+", delay).group()) <= 60  # small: still every five minutes
    assert timer.get("Unit", "mikrogranty-tick.service") == "mikrogranty-tick.service"
    assert unit("mikrogranty-tick.timer")["Install"]["WantedBy"] == "timers.target"


def test_worker_without_queue_options_works_on_every_queue():
    """``flask jobs worker`` with no --queue takes every queue jobs are put on."""
    from core import jobs

    worker = venv_command(unit("mikrogranty-worker.service")["Service"]["ExecStart"])
    assert "--queue" not in worker
    used = set(re.findall(r"""queue\s*=\s*["'](\w+)["']""",
                          "\n".join(p.read_text("utf-8") for p in (ROOT / "core").rglob("*.py"))))
    assert used and used <= set(jobs.QUEUES)


# --- every setting is documented ----------------------------------------------------------

def env_example_names() -> set[str]:
    names = set()
    for line in (DEPLOY / "env.example").read_text("utf-8").splitlines():
        match = re.match(r"^#?([A-Z][A-Z0-9_]*)=", line.strip())
        if match:
            names.add(match.group(1))
    return names


def readme_table_names() -> set[str]:
    names = set()
    for line in (ROOT / "README.md").read_text("utf-8").splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            names |= set(re.findall(r"`([A-Z][A-Z0-9_]*)`", first_cell))
    return names


def test_every_setting_is_in_env_example_and_the_readme():
    read = settings_read()
    assert {"SECRET_KEY", "MAIL_TIMEOUT", "JOB_TIMEOUT", "REMINDER_HOUR"} <= read
    assert read - env_example_names() == set(), "read by the code, missing from env.example"
    assert read - readme_table_names() == set(), "read by the code, missing from the README table"


def test_env_example_defaults_are_the_code_defaults():
    """A commented-out line shows the default (env.example says so): it must be the code's."""
    defaults = from_environment({})
    for line in (DEPLOY / "env.example").read_text("utf-8").splitlines():
        match = re.match(r"^#([A-Z][A-Z0-9_]*)=(.*)$", line.strip())
        if not match or match.group(1) not in defaults:
            continue
        name, shown = match.group(1), match.group(2).strip().strip("'\"")
        value = defaults[name]
        if isinstance(value, list) and value and isinstance(value[0], int):
            assert shown == ",".join(map(str, value)), name
        elif isinstance(value, bool):
            continue  # shown as the value to set (e.g. DEMO=0 or 1)
        elif isinstance(value, int):
            assert shown == str(value), name
