"""Mikrogranty: micro-grant programmes for many municipalities, one tenant per subdomain."""
from __future__ import annotations

import logging
import secrets
from pathlib import Path

import click
from flask import Flask

from . import config as config_module

log = logging.getLogger("mikrogranty")


class StartupError(SystemExit):
    """The application refuses to start; the message says why and what to do."""


def create_app(config: dict | None = None, *, serving: bool | None = None,
               plugins: dict | None = None) -> Flask:
    """Build the application: config → extensions → tenancy → plugins → blueprints.

    ``config`` overrides the environment; ``plugins`` (name → module) registers extra
    plugins as if installed (tests use it); ``serving`` says the app will serve HTTP
    (``flask run`` and the WSGI entry point), which needs a SECRET_KEY outside debug.
    """
    app = Flask(__name__, instance_path=str(config_module.INSTANCE))
    app.config.update(config_module.from_environment())
    if config:
        if "DATABASE_URL" in config:
            config = {**config, "SQLALCHEMY_DATABASE_URI":
                      config_module.normalise_database_url(config["DATABASE_URL"])}
        app.config.update(config)
    _check_secret_key(app, serving)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    from . import i18n
    from .db import db
    from flask_babel import Babel

    from .extensions import csrf, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(config_module.ROOT / "migrations"),
                     render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)
    i18n.init_app(app, Babel())  # one per app: its translation cache is per instance

    from . import models  # noqa: F401  (every core table, before plugins and migrations)
    from .plugins.manager import PluginError, load_plugins

    try:
        pm = load_plugins(app.config["ENABLED_PLUGINS"], extra=plugins)
    except PluginError as exc:
        raise StartupError(f"Mikrogranty cannot start: {exc}") from exc
    app.extensions["mikrogranty.plugins"] = pm
    directories = [d for result in reversed(pm.hook.translation_dirs()) for d in result]
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(directories)
    app.extensions["babel"].translation_directories = directories

    from .tenancy import resolve

    resolve.init_app(app)
    from .accounts import auth

    auth.init_app(app, login_manager)

    _register_blueprints(app, pm)
    _register_commands(app, pm)
    from . import web

    web.init_app(app)
    return app


def _check_secret_key(app: Flask, serving: bool | None) -> None:
    if serving is None:
        ctx = click.get_current_context(silent=True)
        serving = ctx is not None and ctx.info_name == "run"
    if app.config.get("SECRET_KEY"):
        return
    if serving and not app.debug and not app.testing:
        raise StartupError(
            "Mikrogranty cannot start: SECRET_KEY is not set. Serving HTTP outside debug "
            "mode needs a fixed secret, e.g. `export SECRET_KEY=$(python -c "
            "'import secrets; print(secrets.token_hex(32))')`.")
    # CLI commands, tests and debug servers get a throw-away key.
    app.config["SECRET_KEY"] = secrets.token_hex(32)


def _register_blueprints(app: Flask, pm) -> None:
    from .accounts.views import bp as accounts_bp
    from .admin.views import bp as admin_bp
    from .applicants.views import bp as applicants_bp
    from .calls.views import bp as calls_bp
    from .console.views import bp as console_bp
    from .notifications.views import bp as outbox_bp
    from .notifications.views import notices_bp
    from .payments.views import bp as payments_bp
    from .site.views import bp as site_bp

    from .applications.views import bp as applications_bp
    from .evaluation.decision_views import bp as committee_bp
    from .evaluation.decision_views import results_bp
    from .evaluation.review_views import bp as review_bp

    for bp in (site_bp, accounts_bp, admin_bp, calls_bp, console_bp, outbox_bp, notices_bp,
               applicants_bp, applications_bp, committee_bp, results_bp, review_bp, payments_bp):
        app.register_blueprint(bp)
    for blueprints in pm.hook.register_blueprints(app=app):
        for bp in blueprints or []:
            app.register_blueprint(bp)


def _register_commands(app: Flask, pm) -> None:
    from .audit.cli import audit_cli
    from .calls.cli import calls_cli
    from .cli import accounts_cli, jobs_cli, plugins_cli
    from .demo import demo_cli
    from .tenancy.cli import tenants_cli

    for group in (tenants_cli, plugins_cli, accounts_cli, demo_cli, calls_cli, audit_cli,
                  jobs_cli):
        app.cli.add_command(group)
    pm.hook.register_commands(cli=app.cli)
