"""`flask demo seed`: the demo's people and an open call in each municipality, idempotent."""
from __future__ import annotations


def test_demo_seed_opens_a_call_and_creates_the_accounts(app, create_tenant, clients):
    import datetime as dt

    from core.calls.models import Call
    from core.db import db, tenant_scope

    tenant_id = create_tenant("lipiny", name="Gmina Lipiny", variants=["lpm"],
                              settings={"defaults": {"lpm": {
                                  "municipality_budget": "15000.00",
                                  "operator_fee_percent": 20}}})
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(args=["demo", "seed"])
    assert second.exit_code == 0, second.output
    with app.app_context(), tenant_scope(tenant_id):
        calls = db.session.scalars(db.select(Call)).all()
    assert len(calls) == 1
    call = calls[0]
    assert call.status == "published" and call.ref.startswith("lpm-")
    assert call.pool == __import__("decimal").Decimal("12000.00")
    assert call.deadline_at > dt.datetime.now(dt.timezone.utc)
    site = clients("lipiny")
    for name in ("admin", "evaluator", "evaluator2", "committee", "applicant"):
        site.login(f"{name}@lipiny.demo", "demo-Mikrogranty-2026")
    assert "Złóż wniosek" in site.get(f"/calls/{call.ref}").get_data(as_text=True)


def test_demo_seed_opens_calls_in_several_municipalities_at_any_time_of_year(app,
                                                                            create_tenant):
    """Each municipality's call is written in its own scope; in May, as in November, the
    projects start after the deadline."""
    import datetime as dt

    from core.calls.models import Call
    from core.db import db, tenant_scope
    from core.demo import seed_calls

    lipiny = create_tenant("lipiny", name="Gmina Lipiny", variants=["lpm"])
    rowniny = create_tenant("rowniny", name="Równiny", variants=["dzialaj_lokalnie"],
                            settings={"defaults": {"dzialaj_lokalnie": {
                                "eligible_gminas": ["Jadów", "Tłuszcz"]}}})
    with app.app_context():
        opened = seed_calls(today=dt.date(2027, 5, 20))
    assert sorted(slug for slug, _ in opened) == ["lipiny", "rowniny"]
    for tenant_id, gminas in ((lipiny, ["Lipiny"]), (rowniny, ["Jadów", "Tłuszcz"])):
        with app.app_context(), tenant_scope(tenant_id):
            call = db.session.scalars(db.select(Call)).one()
            assert call.status == "published" and call.params["eligible_gminas"] == gminas
            assert call.realization_start > call.deadline_at.date()
