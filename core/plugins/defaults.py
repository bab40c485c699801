"""Built-in behaviour, as an ordinary plugin registered ``trylast``.

Variants come before it, so they extend or replace these without any
``if variant == ...`` in core.
"""
from __future__ import annotations

import pluggy
from flask_babel import lazy_gettext as _l

hookimpl = pluggy.HookimplMarker("mikrogranty")


@hookimpl(trylast=True)
def menu_items(tenant, user):
    from core.plugins.toolkit import MenuItem

    if tenant is None:
        return [
            MenuItem(_l("Municipalities"), "console.tenants", "platform.console", order=10),
        ]
    return [
        MenuItem(_l("Home"), "site.home", "public", order=0),
        MenuItem(_l("Administration"), "admin.members", "tenant.manage", order=90),
    ]


@hookimpl(trylast=True)
def template_slot(slot, tenant, user):
    return None


@hookimpl(trylast=True)
def translation_dirs():
    from pathlib import Path

    return [str(Path(__file__).resolve().parent.parent.parent / "translations")]
