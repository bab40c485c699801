"""Sending e-mail: render in the recipient's language, keep in the outbox, deliver by a job."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formataddr

from flask import current_app, render_template
from flask_babel import force_locale

from core import jobs
from core.db import current_scope, db, tenant_scope, utcnow

from .models import OutboxMessage


def send_mail(recipient: str, template: str, *, tenant=None, locale: str | None = None,
              **context) -> OutboxMessage:
    """Write ``mail/<template>.txt`` (and ``.html`` where it exists) to the outbox.

    The message is committed with the caller's transaction; delivery runs as a job
    after the commit.  ``context['subject']`` is not needed: the template's first line
    (``Subject: …``) gives it.
    """
    locale = locale or (tenant.default_locale if tenant is not None else "pl")
    sender_name = tenant.name if tenant is not None else "Mikrogranty"
    with force_locale(locale):
        text = render_template(f"mail/{template}.txt", tenant=tenant, **context)
        subject, _, body = text.partition("\n")
        subject = subject.removeprefix("Subject:").strip()
        try:
            html = render_template(f"mail/{template}.html", tenant=tenant, subject=subject,
                                   **context)
        except Exception as exc:  # no HTML version: text only
            if type(exc).__name__ != "TemplateNotFound":
                raise
            html = None
    message = OutboxMessage(
        recipient=recipient, subject=subject, body_text=body.strip() + "\n", body_html=html,
        template=template,
        sender=formataddr((sender_name, current_app.config["MAIL_DEFAULT_SENDER"])),
        tenant_id=tenant.id if tenant is not None else current_scope().tenant_id,
    )
    db.session.add(message)
    db.session.flush()
    jobs.after_commit(deliver_message, message.id, tenant_id=message.tenant_id, queue="mail")
    return message


def deliver_message(message_id: int) -> None:
    """Job: deliver one outbox message (idempotent: a sent message is not sent again)."""
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.sent_at is not None:
        return
    backend = current_app.config["MAIL_BACKEND"]
    if backend == "smtp":
        email = EmailMessage()
        email["From"], email["To"], email["Subject"] = (message.sender, message.recipient,
                                                        message.subject)
        email.set_content(message.body_text)
        if message.body_html:
            email.add_alternative(message.body_html, subtype="html")
        config = current_app.config
        with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30) as smtp:
            if config["MAIL_USE_TLS"]:
                smtp.starttls()
            if config["MAIL_USERNAME"]:
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
            smtp.send_message(email)
    # With the "outbox" backend (the demo) the message stays readable on the outbox page.
    message.sent_at = utcnow()
    db.session.commit()


__all__ = ["deliver_message", "send_mail", "tenant_scope"]
