"""Every hook of Mikrogranty, in one place, grouped by phase.

Plugins implement these with ``@hookimpl`` from :mod:`core.plugins.toolkit`.  Each spec
says its arguments, its return value and whether the first non-``None`` result wins
(``firstresult``) or all results are collected into a list.  Built-in behaviour is
itself a plugin (:mod:`core.plugins.defaults`), registered ``trylast`` so that any
variant can come before it.  A test fails when a hook here has no docstring or is
not exercised by the test suite.
"""
from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("mikrogranty")


# --- Start-up: what a plugin brings -----------------------------------------------------

@hookspec
def register_variants():
    """Declare the regulation variants this plugin implements.

    Arguments: none.
    Returns: a list of :class:`core.plugins.toolkit.Variant` (key, label, description).
    Collected from every plugin; two plugins claiming one key stop start-up.
    """


@hookspec
def register_blueprints(app):
    """Add routes.

    Arguments: ``app``, the Flask application being built.
    Returns: a list of :class:`flask.Blueprint`; each view must declare its permission
    with ``toolkit.requires`` or ``toolkit.public``.  Collected.  Blueprints are served
    on tenant hosts only unless registered with ``toolkit.host_scope(bp, "platform")``.
    """


@hookspec
def register_commands(cli):
    """Add ``flask`` commands.

    Arguments: ``cli``, the application's click group (``app.cli``); add commands to it.
    Returns: nothing.  Called for every plugin.
    """


@hookspec
def translation_dirs():
    """Give folders with compiled gettext catalogues (``<lang>/LC_MESSAGES/messages.mo``).

    Arguments: none.
    Returns: a list of paths.  Collected; a plugin's catalogue is merged over core's.
    """


@hookspec
def migration_dirs():
    """Give the plugin's Alembic version folders.

    Arguments: none.
    Returns: a dict ``{plugin_key: path}``.  Collected.  ``flask db upgrade`` upgrades
    core first, then each plugin's folder with its own version table
    ``alembic_version_<plugin_key>``; the plugin's tables are named ``<plugin_key>_*``.
    """


# --- Pages ------------------------------------------------------------------------------

@hookspec
def menu_items(tenant, user):
    """Add entries to the main navigation.

    Arguments: ``tenant`` (the current :class:`Tenant`, ``None`` on the operator console),
    ``user`` (the current user, possibly anonymous).
    Returns: a list of :class:`core.plugins.toolkit.MenuItem`; an item is shown only
    when the user holds its permission.  Collected and sorted by ``order``.
    """


@hookspec
def template_slot(slot, tenant, user):
    """Fill a named slot of the layout (``head``, ``header``, ``home``, ``sidebar``, ``footer``).

    Arguments: ``slot`` (the slot's name), ``tenant`` (or ``None``), ``user``.
    Returns: markup (``markupsafe.Markup`` or a string, escaped unless Markup), or ``None``.
    Collected; the pieces are shown in plugin order.
    """
