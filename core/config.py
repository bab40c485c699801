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


def from_environment(env: dict[str, str] | None = None) -> dict:
    """Build the configuration mapping from the environment (``os.environ`` by default)."""
    env = dict(os.environ if env is None else env)
    base_domain = env.get("BASE_DOMAIN", "localhost").strip().lower()
    trusted = _list(env.get("TRUSTED_HOSTS"))
    config = {
        "SECRET_KEY": env.get("SECRET_KEY") or None,
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(
            env.get("DATABASE_URL") or f"sqlite:///{INSTANCE / 'mikrogranty.sqlite'}"),
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
        "DEMO": _bool(env.get("DEMO")),
        "TENANTS_DIR": env.get("TENANTS_DIR", str(ROOT / "tenants")),
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI")
        or env.get("REDIS_URL") or "memory://",
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT", "10 per minute"),
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
