"""Test fixtures: an app per session, a clean database per test, factories that return callables.

Services: ``DATABASE_URL`` (PostgreSQL) and ``REDIS_URL`` choose real services; a test that
needs one it does not have skips, except under ``REQUIRE_SERVICES=1``, where it fails.
"""
from __future__ import annotations

import os
import tempfile
import sys
import tomllib
from pathlib import Path

import pytest
import sqlalchemy as sa

TESTS = Path(__file__).resolve().parent
SAMPLE_PLUGIN = TESTS / "sample_plugin"
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "").strip() in {"1", "true", "yes"}
DATABASE_URL = os.environ.get("DATABASE_URL") or None
REDIS_URL = os.environ.get("REDIS_URL") or None
BASE = "mikrogranty.test"
PASSWORD = "Kasztanowa-Aleja-17"


def need_service(name: str, available: bool, why: str = "") -> None:
    """Skip when ``name`` is missing; under REQUIRE_SERVICES=1 fail instead."""
    if available:
        return
    message = f"needs {name}{': ' + why if why else ''}"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message} (REQUIRE_SERVICES=1: a missing service is a failure)")
    pytest.skip(message)


def is_postgres() -> bool:
    return bool(DATABASE_URL) and DATABASE_URL.startswith(("postgres://", "postgresql"))


# --- the sample plugin, found through its entry point ---------------------------------

def _install_sample_plugin_entry_point(folder: Path) -> None:
    """Make the sample plugin discoverable as if `pip install tests/sample_plugin` had run.

    The entry points are read from the plugin's own pyproject.toml, so the guide's
    example and the tests cannot drift apart.
    """
    project = tomllib.loads((SAMPLE_PLUGIN / "pyproject.toml").read_text("utf-8"))["project"]
    dist = folder / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n")
    lines = []
    for group, entries in project.get("entry-points", {}).items():
        lines.append(f"[{group}]")
        lines += [f"{name} = {target}" for name, target in entries.items()]
    (dist / "entry_points.txt").write_text("\n".join(lines) + "\n")
    for path in (str(folder), str(SAMPLE_PLUGIN)):
        if path not in sys.path:
            sys.path.insert(0, path)


def pytest_configure(config):
    if (SAMPLE_PLUGIN / "pyproject.toml").exists():
        _install_sample_plugin_entry_point(Path(tempfile.mkdtemp(prefix="mikrogranty-plugins-")))


# --- application and database ------------------------------------------------------------

def base_config(tmp_path_factory) -> dict:
    if DATABASE_URL:
        url = DATABASE_URL
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
    return {
        "TESTING": True,
        "DATABASE_URL": url,
        "SECRET_KEY": "test-secret",
        "BASE_DOMAIN": BASE,
        "TRUSTED_HOSTS": [BASE, "." + BASE, "gmina-a.example.org", "gmina-b.example.org",
                          "www.gmina-a.example.org"],
        "PUBLIC_PORT": None,
        "PREFERRED_URL_SCHEME": "https",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "LOGIN_RATE_LIMIT": "1000 per minute",
        "ENABLED_PLUGINS": None,
        "REDIS_URL": None,
        "MAIL_BACKEND": "outbox",
        "DEMO": False,
        # Still argon2id, at a cost that keeps the suite quick.
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 1024,
    }


def reset_schema(app) -> None:
    from core.cli import upgrade_all
    from core.db import db

    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
        else:
            db.drop_all()
            with engine.begin() as conn:
                for table in sa.inspect(conn).get_table_names():
                    conn.execute(sa.text(f'DROP TABLE "{table}"'))
        upgrade_all()


@pytest.fixture(scope="session")
def app_config(tmp_path_factory):
    return base_config(tmp_path_factory)


@pytest.fixture(scope="session")
def app(app_config):
    from core import create_app

    application = create_app(app_config)
    reset_schema(application)
    return application


@pytest.fixture
def make_app(app_config):
    """Build another app on the same database with changed settings."""
    from core import create_app

    def factory(**overrides):
        return create_app({**app_config, **overrides})

    return factory


@pytest.fixture(autouse=True)
def _clean_database(request):
    yield
    if "app" not in request.fixturenames:
        return
    application = request.getfixturevalue("app")
    from core.db import db

    with application.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            existing = set(sa.inspect(conn).get_table_names())
            tables = [t for t in tables if t in existing]
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("TRUNCATE {} RESTART IDENTITY CASCADE".format(
                    ", ".join(f'"{t}"' for t in tables))))
            else:
                for table in tables:
                    conn.execute(sa.text(f'DELETE FROM "{table}"'))


@pytest.fixture(autouse=True)
def _sql_guard():
    """Fail any SQL on a tenant table without a tenant condition (tests/sql_guard.py).

    Defined after ``_clean_database`` so that its clean-up runs with the guard off.
    """
    import sql_guard

    sql_guard.install()
    with sql_guard.active():
        yield


@pytest.fixture
def ctx(app):
    """An application context with no tenant (as a CLI command has)."""
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


def host(slug: str | None) -> str:
    return f"{slug}.{BASE}" if slug else BASE


class HostClient:
    """A test client bound to one host: ``c = clients('gmina-a'); c.get('/')``."""

    def __init__(self, app, hostname: str):
        self.app, self.host = app, hostname
        self.http = app.test_client()

    def _kw(self, kwargs):
        headers = dict(kwargs.pop("headers", {}) or {})
        headers.setdefault("Host", self.host)
        kwargs["headers"] = headers
        kwargs.setdefault("base_url", f"https://{self.host}")
        return kwargs

    def get(self, path, **kwargs):
        return self.http.get(path, **self._kw(kwargs))

    def post(self, path, **kwargs):
        return self.http.post(path, **self._kw(kwargs))

    def login(self, email, password=PASSWORD):
        response = self.post("/login", data={"email": email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    def session_cookie(self):
        return self.http.get_cookie(self.app.config.get("SESSION_COOKIE_NAME", "session"),
                                    domain=self.host)


@pytest.fixture
def clients(app):
    def factory(slug: str | None) -> HostClient:
        return HostClient(app, host(slug))

    return factory


# --- factories --------------------------------------------------------------------------

@pytest.fixture
def create_tenant(app):
    from core.db import db
    from core.tenancy import operations

    def factory(slug="gmina-a", name=None, variants=(), hosts=(), **values):
        with app.app_context():
            tenant = operations.create_tenant({"slug": slug, "name": name or slug.title(),
                                               "variants": list(variants),
                                               "hosts": list(hosts), **values})
            db.session.commit()
            return tenant.id

    return factory


@pytest.fixture
def create_user(app):
    from core.accounts import operations
    from core.db import db
    from core.tenancy.models import Tenant

    def factory(email, roles=(), tenant="gmina-a", platform_role=None, password=PASSWORD,
                confirmed=True):
        with app.app_context():
            user = operations.find_user(email) or operations.create_user(
                email, password, confirmed=confirmed, platform_role=platform_role)
            if roles:
                t = db.session.execute(db.select(Tenant).where(Tenant.slug == tenant)).scalar_one()
                for role in roles:
                    operations.ensure_role(user, t, role)
            db.session.commit()
            return user.id

    return factory


@pytest.fixture
def outbox(app):
    """The messages written so far, newest last (read in the platform scope)."""
    from core.db import Scope, db, reset_scope, set_scope
    from core.notifications.models import OutboxMessage

    def read():
        with app.app_context():
            token = set_scope(Scope(platform=True, reason="tests"))
            try:
                return [(m.recipient, m.subject, m.body_text, m.tenant_id) for m in
                        db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id))]
            finally:
                reset_scope(token)

    return read
