"""The worked editions (tests/scenarios/*.json, copies of shared/scenarios): import, then
compare the results with the document's ``expected``.

The comparison follows INTERCHANGE.md's checker: every key given must match (more keys in
the results are fine), lists (``ranking``) match exactly and in order, and ``rules`` must
hold at least the expected ids.  Every application of the document must have an entry.
A scenario of a variant whose plugin is not installed skips, naming the plugin.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.db import db, tenant_scope
from results_subset import subset_problems

SCENARIOS = sorted((Path(__file__).resolve().parent / "scenarios").glob("*.json"))


def _variant(doc: dict) -> str:
    return (doc.get("call") or doc.get("event") or {}).get("variant", "")


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario(app, create_tenant, path):
    from core.interchange.operations import call_results, import_call
    from core.tenancy.models import Tenant

    doc = json.loads(path.read_text("utf-8"))
    variant = _variant(doc)
    pm = app.extensions["mikrogranty.plugins"]
    if variant not in pm.variants:
        pytest.skip(f"the '{variant}' variant's plugin (plugins/{variant}) is not installed yet")
    if doc["format"] != "mikrogranty/call@1":
        pytest.skip(f"{doc['format']} documents are imported by `flask events import`")

    create_tenant("scenario", variants=[variant])
    with app.app_context():
        tenant = db.session.execute(db.select(Tenant).where(Tenant.slug == "scenario")).scalar_one()
        with tenant_scope(tenant):
            call = import_call(doc, tenant)
            db.session.commit()
            found = call_results(call)

    expected = doc["expected"]
    assert set(found["applications"]) == set(expected["applications"])
    problems = subset_problems(expected, found)
    assert not problems, "results differ from expected:\n" + "\n".join(problems)
