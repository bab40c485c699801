"""Names people read for the engine's codes: applicant kinds, modes, budget categories."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

APPLICANT_KIND_LABELS = {
    "ngo": _l("a non-governmental organisation"),
    "group": _l("an informal group"),
    "person": _l("a person acting alone"),
    "public_institution": _l("a public institution"),
}

MODE_LABELS = {
    "standard": _l("standard"),
    "dl_initiative": _l("DL Initiative (the operator pays the costs)"),
}

BUDGET_CATEGORY_LABELS = {
    "admin": _l("project handling (coordination, bookkeeping, office)"),
    "fees": _l("fees and remuneration"),
    "materials": _l("materials"),
    "equipment": _l("equipment"),
    "rental": _l("rental"),
    "transport": _l("transport"),
    "printing": _l("printing"),
    "food": _l("food"),
    "promotion": _l("promotion"),
    "other": _l("other"),
    "vat_recoverable": _l("recoverable VAT"),
    "real_estate": _l("purchase of real estate"),
    "fixed_assets": _l("fixed assets"),
    "depreciation": _l("depreciation"),
    "leasing": _l("leasing"),
    "reserves": _l("reserves for future losses or liabilities"),
    "interest": _l("interest on late payments"),
    "fines": _l("fines and penalties"),
    "court_costs": _l("court costs"),
    "staff_bonuses": _l("bonuses and prizes for the project's staff"),
    "bank_fees": _l("bank account fees"),
    "alcohol": _l("alcoholic drinks"),
    "cash_prizes": _l("cash prizes"),
    "religious": _l("religious purposes"),
    "political": _l("political purposes"),
    "loans": _l("loans"),
    "investment": _l("investment"),
    "foreign_trips": _l("trips abroad"),
    "endowment": _l("endowment capital"),
    "business_activity": _l("business or paid activity"),
    "direct_aid": _l("direct aid to individuals"),
}

# Categories regulations forbid (INTERCHANGE.md); which ones apply is the variant's choice.
FORBIDDEN_CATEGORIES = (
    "vat_recoverable", "real_estate", "fixed_assets", "depreciation", "leasing", "reserves",
    "interest", "fines", "court_costs", "staff_bonuses", "bank_fees", "alcohol",
    "cash_prizes", "religious", "political", "loans", "investment", "foreign_trips",
    "endowment", "business_activity", "direct_aid",
)


def category_label(category: str) -> str:
    label = BUDGET_CATEGORY_LABELS.get(category)
    return str(label) if label is not None else category


def applicant_kind_label(kind: str) -> str:
    label = APPLICANT_KIND_LABELS.get(kind)
    return str(label) if label is not None else kind
