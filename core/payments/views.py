"""Pages of the operator-paid ledger, on the tenant's host.

For staff (``tenant.manage``): the list of operator-paid projects with grant, spent and
left (``/payments/``), and one project's ledger with its lines, its purchases and the form
to record one (``/payments/<application_id>``).  For the group (the application's people,
:func:`core.applications.operations.can_access`): the same ledger, read only
(``/applications/<application_id>/ledger``).

Thin views: parse the request, call one operation of :mod:`core.payments.operations`,
commit, render.  A refused purchase comes back on the form with every message by its
field and everything typed kept; a project without a ledger is a 404 that says why.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError

from core.accounts.models import User
from core.accounts.permissions import host_scope, requires
from core.applications.models import Application, ApplicationStatus
from core.applications.operations import can_access
from core.db import db, get_or_404
from core.errors import ValidationError
from core.evaluation.decisions import display_name, ref_of
from core.i18n import format_money
from core.rules.labels import category_label

from . import operations
from .forms import CancelForm, PurchaseForm
from .models import Purchase

bp = host_scope(Blueprint("payments", __name__), "tenant")


# --- helpers --------------------------------------------------------------------------------

def _application(application_id: int) -> Application:
    application = get_or_404(Application, application_id)
    if application.status == ApplicationStatus.DRAFT:
        abort(404)
    return application


def _ledger(application: Application):
    """The project's ledger (opened now if it is the first look), or a 404 saying why not."""
    try:
        try:
            ledger = operations.ledger_for(application)
            db.session.commit()
        except IntegrityError:  # opened by someone else at the same moment
            db.session.rollback()
            ledger = operations.ledger_for(application)
    except operations.NoLedger as exc:
        db.session.rollback()
        abort(make_response(render_template(
            "errors/error.html", code=404, title=_("No ledger of purchases"),
            message=exc.message), 404))
    return ledger


def _cancel_form(purchase: Purchase, posted: bool = False) -> CancelForm:
    """Each purchase's cancel form has its own prefix, so ids stay unique on the page."""
    if posted:
        return CancelForm(prefix=f"cancel-{purchase.id}")
    return CancelForm(formdata=None, prefix=f"cancel-{purchase.id}")


def _line_choices(totals) -> list[tuple]:
    choices = [("", _("Choose a line"))]
    for t in totals.lines:
        choices.append((t.line.id, _("%(position)d. %(line)s (left: %(left)s)",
                                     position=t.line.position, line=t.label,
                                     left=format_money(max(t.remaining, operations.ZERO)))))
    return choices


def _people(purchases) -> dict[int, str]:
    """E-mails of the staff who recorded or cancelled the purchases (for staff only)."""
    ids = {i for p in purchases for i in (p.recorded_by_id, p.cancelled_by_id) if i}
    if not ids:
        return {}
    return dict(db.session.execute(db.select(User.id, User.email).where(User.id.in_(ids))).all())


def _render_ledger(application, form=None, cancel=None, show_confirm=False, status=200):
    totals = operations.totals(application)
    purchases = operations.purchases_of(application)
    if form is None:
        form = PurchaseForm(formdata=None)
    form.line.choices = _line_choices(totals)
    cancel_forms = {p.id: _cancel_form(p) for p in purchases if not p.cancelled}
    if cancel is not None:
        cancel_forms[cancel[0]] = cancel[1]
    return render_template(
        "payments/ledger.html", application=application, call=application.call,
        totals=totals, purchases=purchases, form=form, cancel_forms=cancel_forms,
        show_confirm=show_confirm or bool(form.confirm_date.data),
        recording=application.status == ApplicationStatus.FUNDED,
        window=operations.invoice_window(application), people=_people(purchases),
        name=display_name(application), ref=ref_of(application)), status


@bp.app_template_global("ledger_line_label")
def _line_label(line) -> str:
    return operations.line_label(line)


@bp.app_template_global("ledger_category_label")
def _category_label(category: str) -> str:
    return category_label(category)


@bp.app_template_global()
def ledger_link(application) -> Markup:
    """A link to the project's ledger for its group, where the operator buys for it (for
    the application's result page)."""
    if application.status != ApplicationStatus.FUNDED and operations.find_ledger(
            application) is None:
        return Markup("")
    if not operations.is_operator_paid(application):
        return Markup("")
    return Markup('<p><a href="{}">{}</a></p>').format(
        url_for("payments.group_ledger", application_id=application.id),
        _("See what the operator buys for your project"))


# --- staff ------------------------------------------------------------------------------------

@bp.get("/payments/")
@requires("tenant.manage")
def index():
    projects = operations.operator_paid_projects()
    return render_template(
        "payments/index.html", projects=projects,
        names={p.application.id: display_name(p.application) for p in projects},
        refs={p.application.id: ref_of(p.application) for p in projects},
        total_grant=sum((p.grant for p in projects), operations.ZERO),
        total_spent=sum((p.spent for p in projects), operations.ZERO))


@bp.get("/payments/<int:application_id>")
@requires("tenant.manage")
def ledger(application_id):
    application = _application(application_id)
    _ledger(application)
    return _render_ledger(application)


@bp.post("/payments/<int:application_id>/purchases")
@requires("tenant.manage")
def record_purchase(application_id):
    application = _application(application_id)
    _ledger(application)
    form = PurchaseForm()
    if not form.validate():
        return _render_ledger(application, form, status=422)
    try:
        purchase = operations.record_purchase(
            application, line_id=form.line.data, supplier=form.supplier.data,
            invoice_number=form.invoice_number.data, invoice_date=form.invoice_date.data,
            amount=form.amount.data, note=form.note.data, confirm_date=form.confirm_date.data,
            actor=current_user)
    except operations.PurchaseRefused as exc:
        db.session.rollback()
        exc.apply_to(form)
        return _render_ledger(application, form, show_confirm=exc.needs_confirmation,
                              status=422)
    db.session.commit()
    flash(_("The purchase is recorded: %(amount)s, invoice %(number)s.",
            amount=format_money(purchase.amount), number=purchase.invoice_number), "success")
    return redirect(url_for(".ledger", application_id=application.id) + "#purchases", code=303)


@bp.post("/payments/purchases/<int:purchase_id>/cancel")
@requires("tenant.manage")
def cancel_purchase(purchase_id):
    purchase = get_or_404(Purchase, purchase_id)
    application = _application(purchase.application_id)
    form = _cancel_form(purchase, posted=True)
    if form.validate():
        try:
            operations.cancel_purchase(purchase, form.reason.data, current_user)
        except ValidationError as exc:
            db.session.rollback()
            exc.apply_to(form)
        else:
            db.session.commit()
            flash(_("The purchase is cancelled: invoice %(number)s no longer counts.",
                    number=purchase.invoice_number), "success")
            return redirect(url_for(".ledger", application_id=application.id) + "#purchases",
                            code=303)
    return _render_ledger(application, cancel=(purchase.id, form), status=422)


# --- the group --------------------------------------------------------------------------------

@bp.get("/applications/<int:application_id>/ledger")
@requires("application.apply")
def group_ledger(application_id):
    application = _application(application_id)
    if not can_access(current_user, application):
        abort(404)
    _ledger(application)
    return render_template(
        "payments/group_ledger.html", application=application, call=application.call,
        totals=operations.totals(application), purchases=operations.purchases_of(application),
        name=display_name(application), ref=ref_of(application))
