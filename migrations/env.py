"""Alembic environment for core and for each plugin.

Core's revisions live in ``versions/`` with the ``alembic_version`` table.  A plugin's
revisions live in its own folder with the table ``alembic_version_<key>`` and touch
only tables named ``<key>_*`` (see ``core/cli.py`` and docs/plugins.md).
"""
from __future__ import annotations

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
if config.config_file_name is not None and not config.attributes.get("configure_logger_done"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)
log = logging.getLogger("alembic.env")

plugin_key = config.attributes.get("plugin_key")
pm = current_app.extensions["mikrogranty.plugins"]


def _plugin_prefixes() -> tuple[str, ...]:
    keys = set()
    for result in pm.hook.migration_dirs():
        keys.update(result or {})
    return tuple(f"{key}_" for key in keys)


def _owns_table(name: str) -> bool:
    """Whether this run (core, or the plugin ``plugin_key``) owns the table ``name``."""
    if name.startswith("alembic_version"):
        return False
    if plugin_key:
        return name.startswith(f"{plugin_key}_")
    prefixes = _plugin_prefixes()
    return not name.startswith(prefixes) if prefixes else True


def include_name(name, type_, parent_names):
    # Filters what is reflected from the database ...
    if type_ != "table" or name is None:
        return True
    return _owns_table(name)


def include_object(obj, name, type_, reflected, compare_to):
    # ... and this what is in the models' metadata: without it, autogenerate for a
    # plugin would re-create every core table it cannot see.
    if type_ != "table" or name is None:
        return True
    return _owns_table(name)


def get_engine():
    return current_app.extensions["migrate"].db.engine


def get_metadata():
    return current_app.extensions["migrate"].db.metadata


def _options():
    opts = dict(current_app.extensions["migrate"].configure_args)
    opts.update(target_metadata=get_metadata(), include_name=include_name,
                include_object=include_object,
                version_table=f"alembic_version_{plugin_key}" if plugin_key else "alembic_version")
    return opts


def run_migrations_offline():
    context.configure(url=str(get_engine().url).replace("%", "%%"), literal_binds=True,
                      **_options())
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def process_revision_directives(ctx, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                log.info("No changes in schema detected.")

    opts = _options()
    opts.setdefault("process_revision_directives", process_revision_directives)
    with get_engine().connect() as connection:
        context.configure(connection=connection, **opts)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
