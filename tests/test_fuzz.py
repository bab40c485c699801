"""Fuzzing with Hypothesis: whatever arrives, the answer is a result or a clear refusal.

* the interchange import: random mutations of the LPM edition either import or are refused
  with a DocumentError whose every line names the place (``path: what is wrong``);
* the generator's number, date and table parsers: a value, None, or a NumberError;
* the forms of the main flows: random text, unicode, huge and empty values never give a 500.
"""
from __future__ import annotations

import copy
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from test_applications import world  # noqa: F401  (the generator's fixture)

LPM = json.loads((Path(__file__).parent / "scenarios" / "lpm_debowa_wola_2025.json")
                 .read_text("utf-8"))
LPM.pop("expected", None)
FUZZ = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
FEW = settings(FUZZ, max_examples=15)
PLACE = re.compile(r'^[A-Za-z_]\w*(\[\d+\]|\.\w+|\["(?:[^"\\]|\\.)*"\])*: \S')

ODD_STRINGS = ["", " ", "-1", "0", "1e9", "NaN", "Infinity", "-0,00", "0,001", "12 000,50 zł",
               "1.000.000,00", "2025-02-30", "31.12.1899", "9" * 40, "null", "true", "[]",
               "<script>alert(1)</script>", "\u202eodwrócone", "zażółć gęślą jaźń", "🙂" * 10,
               "x" * 20_000]
values = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20),
                   st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(ODD_STRINGS),
                   st.text(max_size=30), st.lists(st.integers(), max_size=3),
                   st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))


def _paths(node, prefix=()):
    """Every place in a document: dictionary keys and list items, nested."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield prefix + (key,)
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for n, value in enumerate(node):
            yield prefix + (n,)
            yield from _paths(value, prefix + (n,))


PATHS = list(_paths(LPM))


@st.composite
def mutated_documents(draw):
    doc = copy.deepcopy(LPM)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        parent = doc
        try:
            for step in path[:-1]:
                parent = parent[step]
            if draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)  # a missing key
            else:
                parent[path[-1]] = draw(values)  # a wrong type, a float, a bad date …
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this place
    return doc


def _refusal_names_places(error) -> None:
    assert error.problems, "a refusal lists its problems"
    for line in error.problems:
        assert PLACE.match(line), line


@FUZZ
@given(doc=mutated_documents())
def test_reading_a_mutated_document_gives_a_document_or_a_placed_refusal(app, doc):
    from core.interchange import DocumentError
    from core.interchange.document import read_call_document

    with app.test_request_context():
        try:
            read_call_document(doc, {"lpm"})
        except DocumentError as refused:
            _refusal_names_places(refused)


@pytest.fixture
def tenant(create_tenant):
    return create_tenant("gmina-a", variants=["lpm"])


@FEW
@given(doc=mutated_documents())
def test_importing_a_mutated_document_imports_or_refuses_naming_the_place(app, tenant, doc):
    from core.db import db, tenant_scope
    from core.interchange import DocumentError
    from core.interchange.operations import import_call
    from core.tenancy.models import Tenant

    with app.test_request_context(), tenant_scope(tenant):
        t = db.session.execute(db.select(Tenant).where(Tenant.id == tenant)).scalar_one()
        try:
            import_call(doc, t)
        except DocumentError as refused:
            _refusal_names_places(refused)
        finally:
            db.session.rollback()


# --- the generator's parsers -------------------------------------------------------------

texts = st.one_of(st.text(max_size=40), st.sampled_from(ODD_STRINGS),
                  st.from_regex(r"-?[0-9 ]{0,15}([.,][0-9]{0,4})?( ?(zł|PLN))?", fullmatch=True))


@FUZZ
@given(text=texts, what=st.sampled_from(["amount", "quantity"]))
def test_parse_decimal_gives_an_amount_none_or_a_message(app, text, what):
    from core.applications.forms import MAX_AMOUNT, NumberError, parse_decimal

    with app.test_request_context():
        try:
            value = parse_decimal(text, what=what)
        except NumberError as refused:
            assert str(refused).strip()
            return
    if value is not None:
        assert isinstance(value, Decimal) and Decimal(0) <= value <= MAX_AMOUNT
        assert value == value.quantize(Decimal("0.01"))


@FUZZ
@given(text=texts)
def test_parse_date_gives_a_date_or_none(text):
    from core.applications.forms import parse_date

    day = parse_date(text)
    assert day is None or 1900 <= day.year <= 2200


row_keys = st.sampled_from(
    ["budget-present", "contribution-present", "budget-{n}-category", "budget-{n}-item",
     "budget-{n}-quantity", "budget-{n}-unit_price", "budget-{n}-id",
     "contribution-{n}-kind", "contribution-{n}-description", "contribution-{n}-hours",
     "contribution-{n}-rate", "contribution-{n}-amount", "contribution-{n}-id"])
row_numbers = st.one_of(st.integers(0, 5), st.sampled_from(["-1", "x", "99999999999999999999",
                                                            "1.5", ""]))


@st.composite
def tables(draw):
    pairs = []
    for _ in range(draw(st.integers(0, 12))):
        key = draw(row_keys).replace("{n}", str(draw(row_numbers)))
        pairs.append((key, draw(texts)))
    return MultiDict(pairs)


@FUZZ
@given(formdata=tables())
def test_budget_and_contribution_tables_parse_into_rows_with_messages(app, formdata):
    from core.applications.forms import parse_budget, parse_contribution

    with app.test_request_context():
        for parse in (parse_budget, parse_contribution):
            table = parse(formdata)
            for row in table.rows:
                for messages in row.errors.values():
                    assert all(str(m).strip() for m in (
                        messages if isinstance(messages, (list, tuple)) else [messages]))


# --- every form of the main flows ---------------------------------------------------------

form_values = st.one_of(st.text(max_size=60), st.sampled_from(ODD_STRINGS),
                        st.text(st.characters(codec="utf-8"), min_size=200, max_size=400))


def _field_names(page: str) -> list[str]:
    names = re.findall(r'<(?:input|textarea|select)\b[^>]*\bname="([^"]+)"', page)
    return sorted({n for n in names if n not in ("csrf_token",)})


def _fuzz(client, path, data, *, status_ok=lambda code: code < 500):
    response = client.post(path, data=data)
    assert status_ok(response.status_code), (path, response.status_code,
                                             response.get_data(as_text=True)[:2000])
    return response


@st.composite
def form_data(draw, names):
    chosen = draw(st.lists(st.sampled_from(names), unique=True, max_size=len(names)))
    return {name: draw(form_values) for name in chosen}


ACCOUNT_FORMS = {"/register": ["email", "password", "password_again"],
                 "/login": ["email", "password", "next"],
                 "/reset": ["email"]}


@FUZZ
@given(data=st.data())
def test_account_forms_never_fail(tenant, clients, data):
    path = data.draw(st.sampled_from(sorted(ACCOUNT_FORMS)))
    _fuzz(clients("gmina-a"), path, data.draw(form_data(ACCOUNT_FORMS[path])))


@pytest.fixture
def applicant(world, clients):  # noqa: F811
    site = clients("gmina-a")
    site.login("anna@example.org")
    start = site.post("/calls/lpm-2027/apply", data={"profile_id": str(world.profile_id)})
    application_id = int(re.search(r"/applications/(\d+)/", start.headers["Location"]).group(1))
    pages = {f"/profiles/{world.profile_id}/edit", "/profiles/new?kind=ngo",
             "/profiles/new?kind=group", "/profiles/new?kind=person"}
    pages |= {f"/applications/{application_id}/{step}"
              for step in ("applicant", "project", "schedule", "budget", "contribution")}
    fields = {path: _field_names(site.get(path).get_data(as_text=True)) for path in pages}
    return site, fields


@FUZZ
@given(data=st.data())
def test_profile_and_generator_forms_never_fail(applicant, data):
    site, fields = applicant
    path = data.draw(st.sampled_from(sorted(fields)))
    payload = data.draw(form_data(fields[path]))
    if "/applications/" in path and data.draw(st.booleans()):
        # Now and then with the current version, so the values reach the parsers.
        page = site.get(path).get_data(as_text=True)
        found = re.search(r'name="version" id="version" value="(\d+)"', page)
        payload["version"] = found.group(1) if found else ""
    _fuzz(site, path, payload)


@pytest.fixture
def call_admin(create_tenant, create_user, clients):
    create_tenant("gmina-a", variants=["lpm"])
    create_user("admin@example.org", roles=["admin"])
    site = clients("gmina-a")
    site.login("admin@example.org")
    return site, _field_names(site.get("/admin/calls/new").get_data(as_text=True))


@FUZZ
@given(data=st.data())
def test_the_call_form_never_fails(call_admin, data):
    from test_calls import lpm_form

    site, names = call_admin
    payload = lpm_form() if data.draw(st.booleans()) else {}
    payload.update(data.draw(form_data(names)))
    _fuzz(site, "/admin/calls/new", payload)
