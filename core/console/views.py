"""The operator's console on the base host: municipalities, their settings and administrators."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.accounts import operations as accounts
from core.accounts.models import Membership, Role
from core.accounts.permissions import host_scope, requires
from core.calls.models import Call
from core.db import db, platform_scope
from core.errors import ValidationError
from core.i18n import LANGUAGE_NAMES
from core.tenancy import operations as tenancy
from core.tenancy.models import Tenant
from core.tenancy.resolve import tenant_url

from .forms import InviteAdminForm, TenantForm

bp = host_scope(Blueprint("console", __name__, url_prefix="/console"), "platform")


def _tenant_or_404(slug: str) -> Tenant:
    return db.first_or_404(db.select(Tenant).where(Tenant.slug == slug))


def _form(tenant: Tenant | None = None) -> TenantForm:
    pm = current_app.extensions["mikrogranty.plugins"]
    form = TenantForm(obj=None)
    form.slug.description = form.slug.description % {"domain": current_app.config["BASE_DOMAIN"]}
    form.locales.choices = [(code, name) for code, name in LANGUAGE_NAMES.items()]
    keys = dict((key, variant.label) for key, variant in sorted(pm.variants.items()))
    for key in (tenant.variants if tenant else []):
        keys.setdefault(key, _("%(key)s (not installed)", key=key))
    form.variants.choices = list(keys.items())
    if tenant is not None and not form.is_submitted():
        form.slug.data = tenant.slug
        form.name.data = tenant.name
        form.hosts.data = "\n".join(tenant.secondary_hosts)
        form.locales.data = tenant.locales
        form.variants.data = tenant.variants
        form.primary_color.data = tenant.branding.get("primary_color", "")
        form.contact_email.data = tenant.settings.get("contact_email", "")
        form.description.data = tenant.settings.get("description", "")
    elif tenant is None and not form.is_submitted():
        form.locales.data = list(LANGUAGE_NAMES)
    return form


def _values(form: TenantForm, tenant: Tenant | None) -> dict:
    branding = dict(tenant.branding) if tenant else {}
    if form.primary_color.data:
        branding["primary_color"] = form.primary_color.data.strip()
    else:
        branding.pop("primary_color", None)
    settings = dict(tenant.settings) if tenant else {}
    settings["contact_email"] = form.contact_email.data or ""
    settings["description"] = form.description.data or ""
    return {"slug": form.slug.data, "name": form.name.data,
            "hosts": (form.hosts.data or "").split(), "locales": form.locales.data,
            "variants": form.variants.data, "branding": branding, "settings": settings}


@bp.get("/")
@requires("platform.console")
def tenants():
    rows = db.session.scalars(db.select(Tenant).order_by(Tenant.name)).all()
    with platform_scope("operator console: people and calls per municipality",
                        current_user.id):
        counts = dict(db.session.execute(
            db.select(Membership.tenant_id, db.func.count(db.distinct(Membership.user_id)))
            .group_by(Membership.tenant_id)).all())
        calls: dict[int, list] = {}
        for call in db.session.scalars(db.select(Call).order_by(Call.deadline_at.desc(),
                                                               Call.id.desc())):
            calls.setdefault(call.tenant_id, []).append(call)
    return render_template("console/tenants.html", tenants=rows, counts=counts, calls=calls,
                           tenant_url=tenant_url, unavailable=tenancy.unavailable_variants)


@bp.route("/tenants/new", methods=["GET", "POST"])
@requires("platform.console")
def create_tenant():
    form = _form()
    if form.validate_on_submit():
        try:
            tenant = tenancy.create_tenant(_values(form, None), actor=current_user)
        except ValidationError as exc:
            db.session.rollback()
            exc.apply_to(form)
        else:
            db.session.commit()
            flash(_("The municipality %(name)s is ready at %(url)s.", name=tenant.name,
                    url=tenant_url(tenant)), "success")
            return redirect(url_for(".tenant", slug=tenant.slug))
    return render_template("console/tenant_form.html", form=form, tenant=None)


@bp.route("/tenants/<slug>", methods=["GET", "POST"])
@requires("platform.console")
def tenant(slug):
    tenant = _tenant_or_404(slug)
    form = _form(tenant)
    invite_form = InviteAdminForm(prefix="invite")
    if form.validate_on_submit():
        try:
            changes = tenancy.update_tenant(tenant, _values(form, tenant), actor=current_user)
        except ValidationError as exc:
            db.session.rollback()
            exc.apply_to(form)
        else:
            db.session.commit()
            flash(_("Saved.") if changes else _("Nothing changed."), "success")
            return redirect(url_for(".tenant", slug=tenant.slug))
    return render_template("console/tenant_form.html", form=form, tenant=tenant,
                           invite_form=invite_form, tenant_url=tenant_url,
                           unavailable=tenancy.unavailable_variants(tenant))


@bp.post("/tenants/<slug>/invite")
@requires("platform.console")
def invite_admin(slug):
    tenant = _tenant_or_404(slug)
    form = InviteAdminForm(prefix="invite")
    if form.validate_on_submit():
        accounts.invite(tenant, form.email.data, Role.ADMIN, actor=current_user)
        db.session.commit()
        flash(_("The invitation is sent to %(email)s.", email=form.email.data), "success")
        return redirect(url_for(".tenant", slug=tenant.slug))
    return render_template("console/tenant_form.html", form=_form(tenant), tenant=tenant,
                           invite_form=form, tenant_url=tenant_url,
                           unavailable=tenancy.unavailable_variants(tenant)), 400


# --- background jobs: what failed, and running it again -------------------------------------

@bp.get("/jobs")
@requires("platform.console")
def jobs_page():
    from core import jobs
    from core.notifications.models import DeliveryStatus, OutboxMessage

    queue_error = None
    try:
        failed_jobs = jobs.failed_jobs()
    except Exception as exc:  # Redis unreachable: say so, show the outbox anyway
        failed_jobs, queue_error = [], f"{type(exc).__name__}: {exc}"
    with platform_scope("console: failed jobs and e-mails", current_user.id):
        failed_mail = db.session.scalars(
            db.select(OutboxMessage).where(OutboxMessage.status == DeliveryStatus.FAILED)
            .order_by(OutboxMessage.created_at.desc()).limit(200)).all()
        waiting = db.session.scalar(db.select(db.func.count(OutboxMessage.id)).where(
            OutboxMessage.status.in_([DeliveryStatus.QUEUED, DeliveryStatus.SENDING])))
        names = dict(db.session.execute(db.select(Tenant.id, Tenant.name)).all())
    return render_template("console/jobs.html", failed_jobs=failed_jobs,
                           failed_mail=failed_mail, waiting=waiting, names=names,
                           queue_error=queue_error,
                           queued_in_redis=bool(current_app.config.get("REDIS_URL")))


@bp.post("/jobs/<job_id>/retry")
@requires("platform.console")
def retry_job(job_id):
    from core import jobs
    from core.audit.operations import record

    if not jobs.requeue_failed(job_id):
        flash(_("This job is no longer among the failed ones."), "error")
    else:
        record("job.retry", None, {"job": job_id}, actor=current_user, tenant_id=None)
        db.session.commit()
        flash(_("The job is queued again."), "success")
    return redirect(url_for(".jobs_page"), code=303)


@bp.post("/outbox/<int:message_id>/send-again")
@requires("platform.console")
def send_again(message_id):
    from core.db import get_or_404
    from core.notifications.models import OutboxMessage
    from core.notifications.operations import send_again as requeue

    with platform_scope("console: send a failed e-mail again", current_user.id):
        message = get_or_404(OutboxMessage, message_id)
        try:
            requeue(message, current_user)
        except ValueError:
            flash(_("This e-mail is not among the failed ones."), "error")
        else:
            db.session.commit()
            flash(_("The e-mail to %(email)s is queued again.", email=message.recipient),
                  "success")
    return redirect(url_for(".jobs_page"), code=303)
