"""Configuration: defaults for the embedded demo, overridden by environment variables.

Production sets at least SECRET_KEY, DATABASE_URL, REDIS_URL, BASE_DOMAIN and MAIL_*.
"""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"


def _list(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [item.strip() for item in value.split(",") if item.strip()]


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _ints(value: str | None, default: list[int]) -> list[int]:
    items = _list(value)
    return [int(item) for item in items] if items else list(default)


def from_environment(env: dict[str, str] | None = None) -> dict:
    """Build the configuration mapping from the environment (``os.environ`` by default)."""
    env = dict(os.environ if env is None else env)
    base_domain = env.get("BASE_DOMAIN", "localhost").strip().lower()
    trusted = _list(env.get("TRUSTED_HOSTS"))
    config = {
        "SECRET_KEY": env.get("SECRET_KEY") or None,
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(
            env.get("DATABASE_URL") or f"sqlite:///{INSTANCE / 'mikrogranty.sqlite'}"),
        # pre-ping: a connection the database closed (a restart) is replaced, not used.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": env.get("REDIS_URL") or None,
        "BASE_DOMAIN": base_domain,
        # Hosts the app answers; tenant subdomains are covered by the leading dot.
        # Custom (secondary) hosts of a tenant must be listed here as well.
        "TRUSTED_HOSTS": [base_domain, "." + base_domain] + (trusted or []),
        # Port and scheme used to build links in e-mails from a tenant's stored host.
        "PUBLIC_PORT": env.get("PUBLIC_PORT") or None,
        "PREFERRED_URL_SCHEME": env.get("PREFERRED_URL_SCHEME", "https"),
        "ENABLED_PLUGINS": _list(env.get("ENABLED_PLUGINS")),
        "MAIL_BACKEND": env.get("MAIL_BACKEND", "outbox"),
        "MAIL_SERVER": env.get("MAIL_SERVER", "localhost"),
        "MAIL_PORT": int(env.get("MAIL_PORT", "25")),
        "MAIL_USERNAME": env.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": _bool(env.get("MAIL_USE_TLS")),
        "MAIL_DEFAULT_SENDER": env.get("MAIL_DEFAULT_SENDER", "mikrogranty@localhost"),
        "MAIL_TIMEOUT": int(env.get("MAIL_TIMEOUT", "30")),
        # Delivery attempts of one message, and the seconds before the 2nd, 3rd, … attempt.
        "MAIL_MAX_ATTEMPTS": int(env.get("MAIL_MAX_ATTEMPTS", "5")),
        "MAIL_RETRY_INTERVALS": _ints(env.get("MAIL_RETRY_INTERVALS"), [60, 300, 1800, 7200]),
        # A message still queued this many seconds after it was enqueued is enqueued again
        # by the sweep (its job was lost: Redis was down, or the job failed for good).
        "MAIL_REQUEUE_AFTER": int(env.get("MAIL_REQUEUE_AFTER", "600")),
        # A message "sending" for longer than this was cut off mid-way: marked failed.
        "MAIL_SENDING_LEASE": int(env.get("MAIL_SENDING_LEASE", "300")),
        # Jobs: the time one job may run, and RQ's retries (seconds before each retry).
        "JOB_TIMEOUT": int(env.get("JOB_TIMEOUT", "180")),
        "JOB_RETRY_INTERVALS": _ints(env.get("JOB_RETRY_INTERVALS"), [10, 60, 300]),
        # Reminders: days before a call's deadline, at this hour, Polish time.
        "DEADLINE_REMINDER_DAYS": _ints(env.get("DEADLINE_REMINDER_DAYS"), [7, 1]),
        "REMINDER_HOUR": int(env.get("REMINDER_HOUR", "9")),
        "DEMO": _bool(env.get("DEMO")),
        "TENANTS_DIR": env.get("TENANTS_DIR", str(ROOT / "tenants")),
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI")
        or env.get("REDIS_URL") or "memory://",
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT", "10 per minute"),
        # Redis down: rate limits fall back to memory instead of refusing the request.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), default=False),
        # Host-only cookies: a login on one municipality's site is not a login on another.
        "SESSION_COOKIE_DOMAIN": False,
        "REMEMBER_COOKIE_DOMAIN": None,
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": "pl",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Warsaw",
        "LANGUAGES": ["pl", "en", "uk"],
        "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,
    }
    return config


def normalise_database_url(url: str) -> str:
    """Accept the usual ``postgresql://`` and ``postgres://`` forms and use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url
