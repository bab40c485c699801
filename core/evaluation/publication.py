"""What the public may read of the approved lists: the results page, its PDF and XLSX.

A published list is read from its approved snapshot (:class:`ResultList`): order,
statuses, scores and amounts as the committee approved them (and as resignations revised
them).  Titles and names come from the applications; a person applying alone is shown
by initials and town only, never by name, birth date, e-mail or PESEL.

:func:`publication_data` reads the database once into plain JSON-able data;
:func:`render_pdf` and :func:`render_xlsx` turn that data into bytes without touching
the database, so a job can render them with the data as their argument.
"""
from __future__ import annotations

import io
import re
from dataclasses import asdict, dataclass
from decimal import Decimal

from flask import render_template
from flask_babel import force_locale, format_datetime
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from core.applicants.models import ApplicantKind, ApplicantProfile
from core.applications.models import Application
from core.db import db

from .decisions import key_of, kind_label, ref_of, result_lists
from .models import ResultList


def published_lists(call) -> dict[str, ResultList]:
    """The call's lists that are approved and published, by kind."""
    return {kind: found for kind, found in result_lists(call).items()
            if found.published_at is not None and found.approved_at is not None}


# --- names the public may read ------------------------------------------------------------

def initials(full_name: str) -> str:
    """``"Jan Maria Kowalska-Nowak"`` → ``"J. M. K. N."``."""
    parts = [p for chunk in (full_name or "").split() for p in chunk.split("-") if p]
    return " ".join(p[0].upper() + "." for p in parts)


def _profile_name(profile: ApplicantProfile | None, application: Application) -> str:
    if profile is None:
        return ""
    if profile.kind == ApplicantKind.PERSON:
        person_name = profile.person.name if profile.person is not None else ""
        place = application.place or {}
        town = profile.seat or place.get("town") or place.get("gmina") or ""
        letters = initials(person_name)
        return f"{letters}, {town}" if town and letters else (letters or town)
    return profile.name


def public_name(application: Application) -> str:
    """Organisations and groups by name (with the patron where it applies for a group);
    a person applying alone by initials and town only."""
    realizer = application.realizer or application.applicant
    applicant = application.applicant
    name = _profile_name(realizer, application)
    if applicant is not None and realizer is not None and applicant.id != realizer.id and \
            applicant.kind != ApplicantKind.PERSON:
        name = _("%(realizer)s (through %(applicant)s)", realizer=name, applicant=applicant.name)
    return name


# --- the rows of a published list ---------------------------------------------------------

@dataclass
class PublicRow:
    ref: str
    rank: int | None
    title: str
    name: str
    status: str
    score: str | None
    amount: str | None = None
    reserve_position: int | None = None


def public_rows(call, found: ResultList) -> list[PublicRow]:
    """The rows of a list in its order, from its snapshot (a resigned project leaves the
    final list; it keeps its number, so the ranks of the others do not move)."""
    snapshot = found.results or {}
    entries = snapshot.get("applications") or {}
    order = list(snapshot.get("ranking") or [])
    applications = db.session.scalars(db.select(Application).where(
        Application.call_id == call.id).options(
        selectinload(Application.applicant).selectinload(ApplicantProfile.person),
        selectinload(Application.realizer).selectinload(ApplicantProfile.person)))
    by_key = {key_of(a): a for a in applications}
    rows = []
    for key in order:
        entry = entries.get(key) or {}
        status = entry.get("status") or ""
        if status == "withdrawn":
            continue
        application = by_key.get(key)
        rows.append(PublicRow(
            ref=ref_of(application) if application else key, rank=entry.get("rank"), title=application.title if application else "",
            name=public_name(application) if application else "", status=status,
            score=entry.get("score"), amount=entry.get("amount"),
            reserve_position=entry.get("reserve_position")))
    return rows


def publication_data(call, found: ResultList, tenant) -> dict:
    """A published list as JSON-able data (for the page, the PDF and the XLSX)."""
    snapshot = found.results or {}
    rows = public_rows(call, found)
    return {
        "tenant_name": tenant.name if tenant is not None else "",
        "call_ref": call.ref, "call_title": call.title, "kind": found.kind,
        "revision": found.revision, "policy": found.policy,
        "approved_at": found.approved_at.isoformat() if found.approved_at else None,
        "published_at": found.published_at.isoformat() if found.published_at else None,
        "pool": snapshot.get("pool"), "allocated": snapshot.get("allocated"),
        "unallocated": snapshot.get("unallocated"), "pass_mark": snapshot.get("pass_mark"),
        "rows": [asdict(r) for r in rows],
    }


def filename(data: dict, extension: str) -> str:
    stem = "wyniki-" + ("etap-1-" if data["kind"] == "stage1" else "") + data["call_ref"]
    return re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-") + "." + extension


def result_text(row: dict) -> str:
    """What became of a project, as the lists say it."""
    from core.i18n import format_money

    status = row.get("status")
    if status == "funded":
        return _("funded: %(amount)s", amount=format_money(Decimal(row["amount"]))) \
            if row.get("amount") else _("funded")
    if status == "reserve":
        return _("reserve list, position %(num)s", num=row.get("reserve_position") or "—")
    if status == "excluded":
        return _("not funded")
    if status == "invited":
        return _("invited to stage II")
    return status or ""


def _context(data: dict) -> dict:
    from datetime import datetime

    rows = data["rows"]
    approved = datetime.fromisoformat(data["approved_at"]) if data.get("approved_at") else None
    return {"d": data, "rows": rows, "title": kind_label(data["kind"]),
            "reserve": sorted((r for r in rows if r["status"] == "reserve"),
                              key=lambda r: (r.get("reserve_position") or 0, r.get("rank") or 0)),
            "approved_local": format_datetime(approved, "d MMMM y") if approved else "",
            "result_text": result_text, "Decimal": Decimal}


def render_html(data: dict, locale: str = "pl") -> str:
    with force_locale(locale):
        return render_template("results/list_pdf.html", **_context(data), locale=locale)


def render_pdf(data: dict, locale: str = "pl") -> bytes:
    """The list as a tagged PDF (DejaVu fonts carry every Polish letter)."""
    from weasyprint import HTML

    return HTML(string=render_html(data, locale)).write_pdf(pdf_variant="pdf/ua-1")


def render_xlsx(data: dict, locale: str = "pl") -> bytes:
    """The list as a spreadsheet: amounts and scores are numbers (from ``Decimal``, never a
    float), formatted with two decimals."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    with force_locale(locale):
        context = _context(data)
        workbook = Workbook()
        sheet = workbook.active
        sheet.title = _("Stage I") if data["kind"] == "stage1" else _("Results")
        sheet.append([data["tenant_name"]])
        sheet.append([data["call_title"]])
        sheet.append([context["title"] + " · " + _("approved on %(when)s",
                                                       when=context["approved_local"])])
        sheet.append([])
        sheet["A1"].font = Font(bold=True, size=13)
        final = data["kind"] == "final"
        header = [_("Place"), _("Number"), _("Project title"), _("Realizer"),
                  _("Stage I points") if not final else _("Points")]
        if final:
            header += [_("Result"), _("Grant (zł)"), _("Reserve list position")]
        sheet.append(header)
        header_row = sheet.max_row
        for cell in sheet[header_row]:
            cell.font = Font(bold=True)
        for row in data["rows"]:
            values = [row.get("rank"), row["ref"], row["title"], row["name"],
                      Decimal(row["score"]) if row.get("score") not in (None, "") else None]
            if final:
                values += [result_text(row) if row["status"] != "funded" else _("funded"),
                           Decimal(row["amount"]) if row.get("amount") else None,
                           row.get("reserve_position")]
            sheet.append(values)
            number_row = sheet.max_row
            sheet.cell(number_row, 5).number_format = "0.00"
            if final:
                sheet.cell(number_row, 7).number_format = "#,##0.00"
        if final and data.get("pool") is not None:
            sheet.append([])
            for label, key in ((_("Pool"), "pool"), (_("Allocated"), "allocated"),
                               (_("Not allocated"), "unallocated")):
                if data.get(key) is not None:
                    sheet.append([label, None, None, None, None, None, Decimal(data[key])])
                    sheet.cell(sheet.max_row, 7).number_format = "#,##0.00"
        widths = {"A": 8, "B": 18, "C": 48, "D": 40, "E": 10, "F": 26, "G": 14, "H": 12}
        for column, width in widths.items():
            sheet.column_dimensions[column].width = width
        sheet.freeze_panes = sheet.cell(header_row + 1, 1)
        buffer = io.BytesIO()
        workbook.save(buffer)
        return buffer.getvalue()
