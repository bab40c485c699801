"""The one import surface for plugins.

A plugin imports only from here, so core can move its modules without breaking plugins.
Everything listed in ``__all__`` is kept stable across minor versions.
"""
from __future__ import annotations

from dataclasses import dataclass

from decimal import Decimal

import pluggy
from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext, ngettext
from markupsafe import Markup

from core.accounts.permissions import host_scope, public, requires
from core.audit.operations import record as audit
from core.db import Base, TenantScoped, UTCDateTime, db, platform_scope, tenant_scope, utcnow
from core.i18n import format_money
from core.notifications.notices import NoticeKind
from core.notifications.operations import ScheduledNotice, send_mail
from core.rules import (ApplicantFacts, ApplicationFacts, BudgetLineFacts, CallFacts,
                        CheckContext, PersonFacts, Violation, checks)
from core.rules.labels import (APPLICANT_KIND_LABELS, BUDGET_CATEGORY_LABELS,
                               FORBIDDEN_CATEGORIES, applicant_kind_label, category_label)
from core.rules.values import (add_months, ceil_grosz, deadline_instant, floor_grosz,
                               pool_from_params, to_decimal, warsaw_date, warsaw_time)
from core.tenancy.resolve import current_tenant


def __getattr__(name):
    # Form fields of core, loaded on first use (core.calls.forms needs the forms stack).
    if name == "MoneyField":
        from core.calls.forms import MoneyField

        return MoneyField
    if name in _ENGINE:
        # The allocation engine (core/evaluation), for a variant's own ``allocate``.
        from core.evaluation import allocation, ranking

        return getattr(allocation, name, None) or getattr(ranking, name)
    raise AttributeError(name)


_ENGINE = ("Allocation", "AllocationState", "Entry", "Limits", "Outcome", "walk")


hookimpl = pluggy.HookimplMarker("mikrogranty")


@dataclass
class Variant:
    """A regulation variant: the key calls name, and a label people read."""

    key: str
    label: str
    description: str = ""
    plugin: str | None = None


@dataclass(frozen=True)
class ApplicantOption:
    """Who may apply in a call: the applicant's kind, the realizer's kind (``None``: the
    applicant carries the project out itself), the mode, and a label people read."""

    applicant_kind: str
    realizer_kind: str | None
    mode: str
    label: str


@dataclass
class FormStep:
    """Fields a variant adds to one step of the application generator.

    ``step`` is one of ``project``, ``schedule``, ``budget``, ``contribution``; ``fields``
    maps a name to an unbound WTForms field; values are kept in ``Application.content``.
    """

    step: str
    fields: dict


@dataclass(frozen=True)
class ChecklistItem:
    """An item of a variant's formal checklist."""

    key: str
    label: str


@dataclass(frozen=True)
class Stage:
    """An evaluation stage: scored by assigned ``"evaluators"`` or by the ``"committee"``."""

    number: int
    kind: str
    max_points: Decimal
    pass_mark: Decimal | None = None
    label: str = ""


@dataclass(frozen=True)
class Criterion:
    """A criterion of a score card."""

    key: str
    label: str
    max_points: Decimal
    description: str = ""


@dataclass
class MenuItem:
    """An entry of the main navigation, shown to those holding ``permission``."""

    label: str
    endpoint: str
    permission: str = "public"
    order: int = 100
    values: dict | None = None


def find_tenant(slug: str):
    """The tenant with this slug, or ``None`` (for commands that name their tenant)."""
    from core.tenancy.models import Tenant

    return db.session.execute(db.select(Tenant).where(Tenant.slug == slug)).scalar_one_or_none()


def plugin_manager():
    """The application's plugin manager (``pm.hook.<name>(...)`` calls a hook)."""
    return current_app.extensions["mikrogranty.plugins"]


__all__ = [
    "ApplicantFacts", "ApplicantOption", "ApplicationFacts", "BudgetLineFacts", "CallFacts",
    "CheckContext", "ChecklistItem", "Criterion", "FormStep", "PersonFacts", "Stage",
    "Violation",
    # the rule engine's shared checks and helpers (core/rules)
    "checks", "APPLICANT_KIND_LABELS", "BUDGET_CATEGORY_LABELS", "FORBIDDEN_CATEGORIES",
    "applicant_kind_label", "category_label", "add_months", "ceil_grosz", "deadline_instant",
    "floor_grosz", "pool_from_params", "to_decimal", "warsaw_date", "warsaw_time", "MoneyField",
    # e-mail: optional kinds of notice, reminders for the periodic sweep, sending
    "NoticeKind", "ScheduledNotice", "send_mail",
    # the allocation engine (core/evaluation): a variant's own ``allocate`` may reuse it
    "Allocation", "AllocationState", "Entry", "Limits", "Outcome", "walk",
    "Base", "Blueprint", "Markup", "MenuItem", "TenantScoped", "UTCDateTime", "Variant",
    "abort", "audit", "current_app", "current_tenant", "db", "find_tenant", "flash",
    "format_money", "g",
    "gettext", "hookimpl", "host_scope", "lazy_gettext", "ngettext", "platform_scope",
    "plugin_manager", "public", "redirect", "render_template", "request", "requires",
    "tenant_scope", "url_for", "utcnow",
]
