"""Hook implementations of the sample plugin, and nothing else.

Found through the entry point ``sample = "mikrogranty_sample.plugin"`` in the group
``mikrogranty.plugins`` (see pyproject.toml); every hook is documented in
core/plugins/hookspecs.py.
"""
from __future__ import annotations

from pathlib import Path

from core.plugins.toolkit import Markup, MenuItem, Variant, hookimpl, render_template
from core.plugins.toolkit import lazy_gettext as _l

from . import models  # noqa: F401  (the plugin's tables join the metadata when it loads)
from .rules import KEY, VARIANT_KEY, enabled_for

HERE = Path(__file__).resolve().parent


@hookimpl
def register_variants():
    return [Variant(VARIANT_KEY, _l("Sample grant"),
                    _l("A small grant that shows how a regulation variant is written."))]


@hookimpl
def register_blueprints(app):
    from .views import bp

    return [bp]


@hookimpl
def register_commands(cli):
    from .commands import sample_cli

    cli.add_command(sample_cli)


@hookimpl
def translation_dirs():
    return [str(HERE / "translations")]


@hookimpl
def migration_dirs():
    return {KEY: str(HERE / "migrations" / "versions")}


@hookimpl
def menu_items(tenant, user):
    if not enabled_for(tenant):
        return []
    return [MenuItem(_l("Notes"), "sample.notes", "public", order=50)]


@hookimpl
def template_slot(slot, tenant, user):
    if slot != "home" or not enabled_for(tenant):
        return None
    # render_template gives a str, which the layout would escape: it is our own markup.
    return Markup(render_template("sample/slot.html"))
