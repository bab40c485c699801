"""The operator-paid ledger: opening it, recording and cancelling purchases, its totals.

A project whose variant answers ``payment_mode`` with ``"operator_paid"`` gets no
transfer: the operator buys what it needs, on the group's behalf, up to the grant.  The
ledger is opened lazily, the first time anyone looks at it once the project is funded,
with one line per line of the budget as submitted.  Each line may be spent up to its
planned amount, and the whole ledger up to the grant (``Application.allocated``), which
is lower than the budget when the committee granted less: then the lines keep their
planned amounts and the grant is the cap that bites first.

The rules of a purchase (:func:`record_purchase`):

* the amount is more than zero, in złoty and grosze (two decimal places at most);
* the supplier and the invoice number are given, and the same invoice (the same
  supplier and number, ignoring case and spaces) is not recorded twice on one project
  (a cancelled purchase does not count, so a corrected entry can be made);
* the invoice date is a real date, not in the future (Polish time).  A date before the
  project's start or more than :data:`INVOICE_GRACE_DAYS` days after its end is refused
  unless the person recording it confirms it: invoices for the last purchases may
  arrive after the end, and an order placed a little early may be right, but a date far
  off is usually a typing mistake, so it is questioned, not forbidden;
* the amount fits what is left on its line and what is left of the grant; a refusal says
  how much is left and by how much the purchase exceeds it.

Every purchase and cancellation writes an audit event.  Two staff recording at once
cannot overspend: each takes the ledger's row lock (``SELECT … FOR UPDATE`` on
PostgreSQL; the write of ``Ledger.revision`` takes SQLite's write lock) before it reads
the amounts spent, so the second waits for the first and checks against its purchase.
Operations leave the commit to their caller.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from flask import has_request_context
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from core.applicants.models import ApplicantProfile
from core.applications.models import Application, ApplicationStatus, BudgetLine
from core.audit.operations import record
from core.db import db, utcnow
from core.errors import ValidationError
from core.i18n import format_money
from core.rules.labels import category_label
from core.rules.values import warsaw_date

from .models import Ledger, LedgerLine, Purchase
from .modes import OPERATOR_PAID, payment_mode_of

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
#: Invoices may be dated up to this many days after the project's end without a question.
INVOICE_GRACE_DAYS = 30
SUPPLIER_MAX = 300
INVOICE_NUMBER_MAX = 100
NOTE_MAX = 1000
REASON_MAX = 500


def clock() -> dt.datetime:
    """The current instant; tests replace it to move time."""
    return utcnow()


class NoLedger(Exception):
    """The project has no purchase ledger: its grant is transferred, or it is not funded.

    ``message`` says which, for the page that shows the refusal.
    """

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class PurchaseRefused(ValidationError):
    """A purchase is not recorded; the messages name the fields.

    ``needs_confirmation``: the invoice date lies outside the project's period and was not
    confirmed; the form then offers the box to confirm it.
    """

    def __init__(self, errors, needs_confirmation: bool = False):
        super().__init__(errors)
        self.needs_confirmation = needs_confirmation


# --- the totals -----------------------------------------------------------------------------

def line_label(line: LedgerLine) -> str:
    """How people name a line: its item, else its category."""
    return (line.item or "").strip() or category_label(line.category)


@dataclass(frozen=True)
class LineTotal:
    """One line: planned, spent (purchases not cancelled) and what is left of it."""

    line: LedgerLine
    spent: Decimal

    @property
    def planned(self) -> Decimal:
        return self.line.planned

    @property
    def remaining(self) -> Decimal:
        return self.planned - self.spent

    @property
    def label(self) -> str:
        return line_label(self.line)


@dataclass(frozen=True)
class Totals:
    """The ledger in numbers, exact in ``Decimal``: per line, and for the grant."""

    grant: Decimal
    lines: tuple[LineTotal, ...]

    @property
    def planned(self) -> Decimal:
        return sum((t.planned for t in self.lines), ZERO)

    @property
    def spent(self) -> Decimal:
        return sum((t.spent for t in self.lines), ZERO)

    @property
    def remaining(self) -> Decimal:
        """What is left of the grant (the cap of the whole ledger)."""
        return self.grant - self.spent

    @property
    def grant_below_budget(self) -> bool:
        return self.grant < self.planned

    def line(self, line_id) -> LineTotal | None:
        return next((t for t in self.lines if t.line.id == line_id), None)

    def available(self, line_id) -> Decimal:
        """The most a purchase on this line may cost now: the line's rest, within the grant's."""
        found = self.line(line_id)
        return max(min(found.remaining, self.remaining), ZERO) if found else ZERO


def lines_of(application: Application) -> list[LedgerLine]:
    return list(db.session.scalars(db.select(LedgerLine).where(
        LedgerLine.application_id == application.id).order_by(LedgerLine.position,
                                                              LedgerLine.id)))


def totals(application: Application) -> Totals:
    """Planned, spent and remaining per line and in total, read from the database now."""
    spent = dict(db.session.execute(
        db.select(Purchase.line_id, sa.func.sum(Purchase.amount))
        .where(Purchase.application_id == application.id, Purchase.cancelled_at.is_(None))
        .group_by(Purchase.line_id)).all())
    return Totals(
        grant=application.allocated if application.allocated is not None else ZERO,
        lines=tuple(LineTotal(line, _money(spent.get(line.id))) for line in lines_of(application)))


def purchases_of(application: Application) -> list[Purchase]:
    """Every purchase of the project, cancelled ones too, by invoice date."""
    return list(db.session.scalars(db.select(Purchase).where(
        Purchase.application_id == application.id).order_by(
        Purchase.invoice_date, Purchase.id)))


def _money(value) -> Decimal:
    return Decimal(value).quantize(CENT) if value is not None else ZERO


# --- opening ---------------------------------------------------------------------------------

def is_operator_paid(application: Application) -> bool:
    return payment_mode_of(application) == OPERATOR_PAID


def find_ledger(application: Application) -> Ledger | None:
    return db.session.execute(db.select(Ledger).where(
        Ledger.application_id == application.id)).scalar_one_or_none()


def ledger_for(application: Application, actor=None) -> Ledger:
    """The project's ledger, opened from its budget the first time it is asked for.

    Refused (:class:`NoLedger`) when the project's grant is transferred, and when a project
    without a ledger is not funded.  A ledger opened earlier stays readable after the
    project leaves ``funded`` (e.g. it resigned after purchases were made): what was
    bought is kept on record.
    """
    if not is_operator_paid(application):
        raise NoLedger(_("This project's grant is transferred to the grantee, so the "
                         "operator keeps no ledger of purchases for it."))
    ledger = find_ledger(application)
    if ledger is not None:
        return ledger
    if application.status != ApplicationStatus.FUNDED or application.allocated is None:
        raise NoLedger(_("The ledger of purchases opens when the project is funded."))
    # One opener at a time on PostgreSQL; elsewhere the unique application id refuses the
    # second ledger of two opened at the same moment.
    db.session.execute(db.select(Application.id).where(Application.id == application.id)
                       .with_for_update())
    ledger = find_ledger(application)
    if ledger is not None:
        return ledger
    ledger = Ledger(application_id=application.id, opened_by_id=_actor_id(actor))
    db.session.add(ledger)
    budget = db.session.scalars(db.select(BudgetLine).where(
        BudgetLine.application_id == application.id).order_by(BudgetLine.position,
                                                               BudgetLine.id)).all()
    for position, line in enumerate(budget, start=1):
        db.session.add(LedgerLine(application_id=application.id, budget_line_id=line.id,
                                  position=position, category=line.category,
                                  item=line.item or "", planned=line.amount or ZERO))
    db.session.flush()
    planned = sum((line.amount or ZERO for line in budget), ZERO)
    record("ledger.opened", ledger, actor=actor, changes={
        "application": application.id, "grant": str(application.allocated),
        "planned": str(planned), "lines": len(budget)})
    return ledger


def _actor_id(actor) -> int | None:
    if actor is not None:
        return getattr(actor, "id", actor)
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.id
    return None


# --- the lock ----------------------------------------------------------------------------------

def _lock(ledger: Ledger) -> Application:
    """Take the ledger's row lock for the rest of the transaction; return its project
    read afresh (its status and grant as committed now)."""
    db.session.execute(db.select(Ledger.id).where(Ledger.id == ledger.id).with_for_update())
    # Writing the row takes SQLite's write lock (PostgreSQL already holds the row's).
    db.session.execute(db.update(Ledger).where(Ledger.id == ledger.id)
                       .values(revision=Ledger.revision + 1)
                       .execution_options(synchronize_session="fetch"))
    return db.session.execute(db.select(Application).where(
        Application.id == ledger.application_id).execution_options(
        populate_existing=True)).scalar_one()


# --- recording and cancelling ------------------------------------------------------------------

def _text(value) -> str:
    return re.sub(r"\s+", " ", value or "").strip()


def _same_supplier(value: str) -> str:
    return _text(value).casefold()


def _same_number(value: str) -> str:
    return re.sub(r"\s+", "", value or "").casefold()


def _day(value: dt.date) -> str:
    return format_date(value, "d MMMM y")


def invoice_window(application: Application) -> tuple[dt.date | None, dt.date | None]:
    """The invoice dates accepted without a question: the project's start to its end plus
    :data:`INVOICE_GRACE_DAYS` days (either end open when the project does not say)."""
    latest = application.end + dt.timedelta(days=INVOICE_GRACE_DAYS) if application.end else None
    return application.start, latest


def record_purchase(application: Application, *, line_id, supplier: str, invoice_number: str,
                    invoice_date, amount, note: str | None = None, confirm_date: bool = False,
                    actor=None) -> Purchase:
    """Record an invoice the operator paid for the project, charged to the line ``line_id``.

    Checked under the ledger's lock, against what is spent at that moment (see the
    module's rules).  Refused with :class:`PurchaseRefused`, whose messages name the
    fields (``line``, ``supplier``, ``invoice_number``, ``invoice_date``, ``amount``,
    ``note``) and the numbers; :class:`NoLedger` when the project has no ledger.
    """
    if isinstance(amount, float):
        raise TypeError("money is never a float")
    ledger = ledger_for(application, actor)
    application = _lock(ledger)
    if application.status != ApplicationStatus.FUNDED or application.allocated is None:
        raise PurchaseRefused(_("Purchases can be recorded only while the project is funded."))
    errors: dict[str, list[str]] = {}

    def refuse(field, message):
        errors.setdefault(field, []).append(message)

    supplier, invoice_number = _text(supplier), _text(invoice_number)
    note = (note or "").strip() or None
    if not supplier:
        refuse("supplier", _("Enter the supplier: who issued the invoice."))
    elif len(supplier) > SUPPLIER_MAX:
        refuse("supplier", _("The supplier's name is too long (%(max)d characters at most).",
                             max=SUPPLIER_MAX))
    if not invoice_number:
        refuse("invoice_number", _("Enter the invoice's number."))
    elif len(invoice_number) > INVOICE_NUMBER_MAX:
        refuse("invoice_number", _("The invoice number is too long (%(max)d characters at "
                                   "most).", max=INVOICE_NUMBER_MAX))
    if note and len(note) > NOTE_MAX:
        refuse("note", _("The note is too long (%(max)d characters at most).", max=NOTE_MAX))

    if amount is not None and not isinstance(amount, Decimal):
        amount = Decimal(str(amount))
    if amount is None or not amount.is_finite():
        refuse("amount", _("Enter the amount of the invoice."))
        amount = None
    elif amount != amount.quantize(CENT):
        refuse("amount", _("Give the amount in złoty and grosze (two decimal places at most)."))
        amount = None
    elif amount <= 0:
        refuse("amount", _("The amount must be more than zero."))
        amount = None

    outside = False
    if not isinstance(invoice_date, dt.date) or isinstance(invoice_date, dt.datetime):
        refuse("invoice_date", _("Enter the invoice's date, e.g. 2025-06-30."))
    else:
        today = warsaw_date(clock())
        earliest, latest = invoice_window(application)
        if invoice_date > today:
            refuse("invoice_date", _("The invoice date cannot be in the future (today is "
                                     "%(today)s).", today=_day(today)))
        elif (earliest and invoice_date < earliest) or (latest and invoice_date > latest):
            outside = True
            if not confirm_date:
                refuse("invoice_date", _window_message(application))

    current = totals(application)
    found = current.line(line_id)
    if found is None:
        refuse("line", _("Choose the line of the budget the purchase is paid from."))

    if supplier and invoice_number:
        key = (_same_supplier(supplier), _same_number(invoice_number))
        for other in purchases_of(application):
            if not other.cancelled and (_same_supplier(other.supplier),
                                        _same_number(other.invoice_number)) == key:
                refuse("invoice_number", _(
                    "Invoice %(number)s from %(supplier)s is already recorded for this "
                    "project (%(amount)s, dated %(date)s).", number=other.invoice_number,
                    supplier=other.supplier, amount=format_money(other.amount),
                    date=_day(other.invoice_date)))
                break

    if amount is not None and found is not None:
        if amount > found.remaining:
            refuse("amount", _(
                "Only %(left)s is left on the line “%(line)s”; a purchase of %(amount)s "
                "exceeds it by %(over)s.", line=found.label,
                left=format_money(max(found.remaining, ZERO)), amount=format_money(amount),
                over=format_money(amount - max(found.remaining, ZERO))))
        if amount > current.remaining:
            refuse("amount", _(
                "Only %(left)s is left of the grant of %(grant)s; a purchase of %(amount)s "
                "exceeds it by %(over)s.", grant=format_money(current.grant),
                left=format_money(max(current.remaining, ZERO)), amount=format_money(amount),
                over=format_money(amount - max(current.remaining, ZERO))))

    if errors:
        raise PurchaseRefused(errors, needs_confirmation=outside and not confirm_date)

    purchase = Purchase(application_id=application.id, line_id=found.line.id, supplier=supplier,
                        invoice_number=invoice_number, invoice_date=invoice_date,
                        amount=amount, note=note, recorded_by_id=_actor_id(actor),
                        recorded_at=utcnow())
    db.session.add(purchase)
    db.session.flush()
    # The supplier may be a person (a sole trader): the event names the purchase by id.
    record("ledger.purchase_recorded", purchase, actor=actor, changes={
        "application": application.id, "line": found.line.position, "amount": str(amount),
        "invoice_number": invoice_number, "invoice_date": invoice_date.isoformat(),
        "outside_period": outside,
        "line_remaining": [str(found.remaining), str(found.remaining - amount)],
        "grant_remaining": [str(current.remaining), str(current.remaining - amount)]})
    return purchase


def _window_message(application: Application) -> str:
    earliest, latest = invoice_window(application)
    if earliest and latest:
        return _("The invoice date is outside the project's period: from %(start)s to "
                 "%(end)s, with invoices accepted until %(latest)s. Check the date; if it is "
                 "right, confirm it below.", start=_day(earliest), end=_day(application.end),
                 latest=_day(latest))
    if earliest:
        return _("The invoice date is before the project's start (%(start)s). Check the "
                 "date; if it is right, confirm it below.", start=_day(earliest))
    return _("The invoice date is more than %(days)d days after the project's end "
             "(%(end)s). Check the date; if it is right, confirm it below.",
             days=INVOICE_GRACE_DAYS, end=_day(application.end))


def cancel_purchase(purchase: Purchase, reason: str, actor=None) -> Purchase:
    """Cancel a purchase entered by mistake, with the reason; it stays on the ledger and
    no longer counts.  Refused (``ValidationError`` on ``reason``) without a reason or
    when it is already cancelled."""
    ledger = db.session.execute(db.select(Ledger).where(
        Ledger.application_id == purchase.application_id)).scalar_one()
    _lock(ledger)
    purchase = db.session.execute(db.select(Purchase).where(Purchase.id == purchase.id)
                                  .execution_options(populate_existing=True)).scalar_one()
    if purchase.cancelled:
        raise ValidationError({"reason": [_("This purchase was already cancelled.")]})
    reason = _text(reason)
    if not reason:
        raise ValidationError({"reason": [_("Give the reason for cancelling, e.g. “entered "
                                            "twice”.")]})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": [_("The reason is too long (%(max)d characters at "
                                            "most).", max=REASON_MAX)]})
    purchase.cancelled_at = utcnow()
    purchase.cancelled_by_id = _actor_id(actor)
    purchase.cancel_reason = reason
    db.session.flush()
    record("ledger.purchase_cancelled", purchase, actor=actor, changes={
        "application": purchase.application_id, "line": purchase.line.position,
        "amount": str(purchase.amount), "invoice_number": purchase.invoice_number,
        "reason": reason, "cancelled": [False, True]})
    return purchase


# --- the staff's overview ------------------------------------------------------------------------

@dataclass(frozen=True)
class ProjectRow:
    """An operator-paid project on the staff's list."""

    application: Application
    grant: Decimal
    spent: Decimal
    opened: bool

    @property
    def remaining(self) -> Decimal:
        return self.grant - self.spent


def operator_paid_projects() -> list[ProjectRow]:
    """The tenant's funded operator-paid projects (and any project that has a ledger, e.g.
    one that resigned after purchases), by call and reference, with grant, spent, left."""
    opened = set(db.session.scalars(db.select(Ledger.application_id)))
    condition = Application.status == ApplicationStatus.FUNDED
    if opened:
        condition = sa.or_(condition, Application.id.in_(opened))
    applications = db.session.scalars(
        db.select(Application).where(condition)
        .options(selectinload(Application.call),
                 selectinload(Application.applicant).selectinload(ApplicantProfile.person),
                 selectinload(Application.realizer).selectinload(ApplicantProfile.person))
        .order_by(Application.call_id, Application.ref, Application.receipt_number,
                  Application.id)).all()
    projects = [a for a in applications if a.id in opened or is_operator_paid(a)]
    if not projects:
        return []
    spent = dict(db.session.execute(
        db.select(Purchase.application_id, sa.func.sum(Purchase.amount))
        .where(Purchase.cancelled_at.is_(None),
               Purchase.application_id.in_([a.id for a in projects]))
        .group_by(Purchase.application_id)).all())
    return [ProjectRow(a, a.allocated if a.allocated is not None else ZERO,
                       _money(spent.get(a.id)), a.id in opened) for a in projects]
