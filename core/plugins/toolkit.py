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
from core.payments.modes import OPERATOR_PAID, PAYMENT_MODES, TRANSFER, payment_mode_of
from core.rules import (ApplicantFacts, ApplicationFacts, BudgetLineFacts, CallFacts,
                        CheckContext, PersonFacts, Violation, checks)
from core.rules.labels import (APPLICANT_KIND_LABELS, BUDGET_CATEGORY_LABELS,
                               FORBIDDEN_CATEGORIES, applicant_kind_label, category_label)
from core.rules.values import (add_months, ceil_grosz, deadline_instant, floor_grosz,
                               pool_from_params, split_points, to_decimal, warsaw_date,
                               warsaw_time)
from core.tenancy.resolve import current_tenant


def __getattr__(name):
    # Form fields of core, loaded on first use (core.calls.forms needs the forms stack).
    if name == "MoneyField":
        from core.calls.forms import MoneyField

        return MoneyField
    if name in _PARAM_FIELDS:
        # The pieces of a variant's call-parameter form (core/calls/param_fields.py).
        from core.calls import param_fields

        return getattr(param_fields, name)
    if name in ("LEGAL_FORMS", "LEGAL_FORM_LABELS", "legal_form_label"):
        # The legal forms of organisations the platform knows (INTERCHANGE.md), for a
        # variant whose call excludes some of them.
        from core.applicants import models

        return getattr(models, name)
    if name in _ENGINE:
        # The allocation engine (core/evaluation), for a variant's own ``allocate``.
        from core.evaluation import allocation, ranking

        return getattr(allocation, name, None) or getattr(ranking, name)
    raise AttributeError(name)


_PARAM_FIELDS = ("CheckboxesField", "ChoiceField", "LinesField", "NumberField",
                 "WholeNumberField", "REQUIRED", "CUTOFF_POLICY_LABELS", "plain_number",
                 "interchange_number", "money_text", "parse_date", "parse_decimal", "parse_int")
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
class ContributionMinimum:
    """An own contribution a call requires, in money (hook ``contribution_requirements``).

    ``label`` names it for the applicant, ``amount`` is the minimum (computed from the
    requested grant, rounded up to the grosz), ``kind`` the contribution kind that counts
    toward it (``"financial"`` …), or ``None`` for the total of every kind.
    """

    label: str
    amount: Decimal
    kind: str | None = None


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
    "CheckContext", "ChecklistItem", "ContributionMinimum", "Criterion", "FormStep",
    "PersonFacts", "Stage", "Violation",
    # the legal forms of organisations (core/applicants), e.g. for excluded ones
    "LEGAL_FORMS", "LEGAL_FORM_LABELS", "legal_form_label",
    # the rule engine's shared checks and helpers (core/rules)
    "checks", "APPLICANT_KIND_LABELS", "BUDGET_CATEGORY_LABELS", "FORBIDDEN_CATEGORIES",
    "applicant_kind_label", "category_label", "add_months", "ceil_grosz", "deadline_instant",
    "floor_grosz", "pool_from_params", "split_points", "to_decimal", "warsaw_date",
    "warsaw_time", "MoneyField",
    # the call-parameter form's fields and value helpers (core/calls/param_fields.py)
    *_PARAM_FIELDS,
    # e-mail: optional kinds of notice, reminders for the periodic sweep, sending
    "NoticeKind", "ScheduledNotice", "send_mail",
    # payment modes (hook ``payment_mode``) and the mode a project is paid in
    "OPERATOR_PAID", "PAYMENT_MODES", "TRANSFER", "payment_mode_of",
    # the allocation engine (core/evaluation): a variant's own ``allocate`` may reuse it
    "Allocation", "AllocationState", "Entry", "Limits", "Outcome", "walk",
    "Base", "Blueprint", "Markup", "MenuItem", "TenantScoped", "UTCDateTime", "Variant",
    "abort", "audit", "current_app", "current_tenant", "db", "find_tenant", "flash",
    "format_money", "g",
    "gettext", "hookimpl", "host_scope", "lazy_gettext", "ngettext", "platform_scope",
    "plugin_manager", "public", "redirect", "render_template", "request", "requires",
    "tenant_scope", "url_for", "utcnow",
]
