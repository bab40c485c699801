"""The submission receipt as a PDF (WeasyPrint), built from the content as submitted.

:func:`receipt_data` reads an application once into plain JSON-able data;
:func:`render_receipt_pdf` turns that data into PDF bytes without touching the
database, so a job (RQ) can render it with the data as its argument.  The PDF is
tagged (PDF/UA), uses DejaVu fonts (every Polish letter), and carries the receipt
number and the SHA-256 in its metadata as well as on the page.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import render_template
from flask_babel import force_locale, format_datetime

from core.i18n import format_money


def receipt_data(application, tenant) -> dict:
    """What the receipt shows, as JSON-able data (from ``submitted_content``)."""
    document = application.submitted_content or {}
    return {
        "tenant_name": tenant.name if tenant is not None else "",
        "receipt_number": application.receipt_number,
        "content_sha256": application.content_sha256,
        "submitted_at": application.submitted_at.isoformat() if application.submitted_at
        else document.get("submitted_at"),
        "status": application.status,
        "withdrawn_at": application.withdrawn_at.isoformat() if application.withdrawn_at
        else None,
        "document": document,
    }


def _money(value, locale) -> str:
    if value in (None, ""):
        return "—"
    return format_money(Decimal(str(value)), locale=locale)


def receipt_context(data: dict, locale: str = "pl") -> dict:
    """The values the receipt templates (page and PDF) print, formatted for ``locale``."""
    from core.rules.labels import category_label

    from .forms import CONTRIBUTION_LABELS

    document = data.get("document") or {}
    submitted = dt.datetime.fromisoformat(data["submitted_at"]) if data.get("submitted_at") \
        else None
    budget = [{
        "category": category_label(line.get("category") or "other"),
        "item": line.get("item") or "",
        "quantity": (line.get("quantity") or "").replace(".", ",") if locale != "en"
        else line.get("quantity") or "",
        "unit_price": _money(line.get("unit_price"), locale),
        "amount": _money(line.get("amount"), locale),
    } for line in document.get("budget") or []]
    contribution = [{"kind": str(CONTRIBUTION_LABELS.get(kind, kind)),
                     "amount": _money(amount, locale)}
                    for kind, amount in (document.get("contribution_totals") or {}).items()
                    if Decimal(str(amount or "0")) > 0]
    applicant = (document.get("applicant") or {}).get("name") or "—"
    realizer = (document.get("realizer") or {}).get("name")
    return {
        "tenant_name": data.get("tenant_name") or "",
        "call_title": (document.get("call") or {}).get("title") or "",
        "call_ref": (document.get("call") or {}).get("ref") or "",
        "number": data.get("receipt_number") or "",
        "sha256": data.get("content_sha256") or "",
        "submitted_local": format_datetime(submitted, "d MMMM y, HH:mm:ss") if submitted else "",
        "title": document.get("title") or "",
        "applicant": applicant,
        "realizer": realizer,
        "budget": budget,
        "budget_total": _money(document.get("budget_total"), locale),
        "requested": _money(document.get("requested"), locale),
        "contribution": contribution,
        "contribution_total": _money(document.get("contribution_total"), locale),
        "withdrawn": data.get("status") == "withdrawn",
        "locale": locale,
    }


def render_receipt_html(data: dict, locale: str = "pl") -> str:
    with force_locale(locale):
        return render_template("applications/receipt_pdf.html", r=receipt_context(data, locale))


def render_receipt_pdf(data: dict, locale: str = "pl") -> bytes:
    """The receipt as PDF bytes: pure (no database), so a job can call it with ``data``.

    Needs an application context for the template and the translations.
    """
    from weasyprint import HTML

    html = render_receipt_html(data, locale)
    # Uncompressed: a one-page receipt stays small, and its number and SHA-256 can be
    # found in the file with any tool.
    return HTML(string=html).write_pdf(uncompressed_pdf=True, pdf_variant="pdf/ua-1")
