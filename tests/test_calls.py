"""Calls: the tenant admin's call management and the public call page.

Exercises the call hooks ``default_params``, ``call_params_form``, ``call_rules_summary``
and ``pool_presets`` through the built-in ``lpm`` plugin and a small fake variant that
names its realization window ``window_start``/``window_end`` (as Działaj Lokalnie does).
"""
from __future__ import annotations

import datetime as dt
import html
import re
import types
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from flask_wtf import FlaskForm
from wtforms import DateField
from wtforms.validators import InputRequired, Optional

from conftest import BASE, PASSWORD, HostClient, host
from core.calls.forms import MoneyField
from core.plugins.toolkit import hookimpl

WARSAW = ZoneInfo("Europe/Warsaw")
NBSP = "\u00a0"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def warsaw_today() -> dt.date:
    return dt.datetime.now(WARSAW).date()


def days(n: int) -> str:
    return (warsaw_today() + dt.timedelta(days=n)).isoformat()


def lpm_form(**values) -> dict:
    """What an administrator types for an LPM call (a valid one)."""
    data = {
        "title": "Lokalny Program Mikrograntów — Dębowa Wola", "ref": "",
        "description": "Mikrogranty dla mieszkańców.\r\n\r\nDrugi akapit opisu.",
        "variant": "lpm", "shown_variant": "lpm", "action": "save",
        "announced_on": "", "deadline": days(30), "formal_check": "", "stage2": "",
        "results": "", "realization_start": days(60), "realization_end": days(200),
        "params-pool": "", "params-municipality_budget": "15000,00",
        "params-operator_fee_percent": "20", "params-amount_min": "1000",
        "params-amount_max": "4000", "params-young_ngo_amount_max": "5000",
        "params-young_ngo_max_age_months": "30", "params-young_ngo_max_revenue": "25000",
        "params-admin_max_percent": "10", "params-min_group_members": "3",
        "params-group_requires_patron": "y", "params-eligible_gminas": "Dębowa Wola",
        "params-stage1_max_points": "18", "params-stage1_pass_mark": "13",
        "params-stage2": "y", "params-stage2_max_points": "12", "params-cutoff_policy": "STOP",
        "params-operator_staff": "", "params-forbidden_categories": ["alcohol", "loans"],
    }
    data.update(values)
    return data


def read_calls(app, tenant_id):
    from core.calls.models import Call
    from core.db import db, tenant_scope

    with app.app_context(), tenant_scope(tenant_id):
        calls = db.session.scalars(db.select(Call).order_by(Call.id)).all()
        for call in calls:
            db.session.expunge(call)
        return calls


def events(app, tenant_id, prefix="call."):
    from core.audit.models import AuditEvent
    from core.db import db, tenant_scope

    with app.app_context(), tenant_scope(tenant_id):
        return [(e.action, e.changes) for e in db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.action.startswith(prefix))
            .order_by(AuditEvent.id))]


def make_call(app, tenant_id, status="draft", **values):
    """A call written through the operations (and published or closed when asked)."""
    from core.calls import operations
    from core.db import db, tenant_scope
    from core.tenancy.models import Tenant

    params = {"municipality_budget": "15000.00", "operator_fee_percent": 20,
              "amount_min": "1000.00", "amount_max": "4000.00",
              "eligible_gminas": ["Dębowa Wola"]}
    params.update(values.pop("params", {}))
    data = {"title": "LPM Dębowa Wola", "variant": "lpm", "deadline": days(30),
            "realization_start": days(60), "realization_end": days(200), "params": params}
    data.update(values)
    with app.app_context(), tenant_scope(tenant_id):
        tenant = db.session.get(Tenant, tenant_id)
        call = operations.create_call(tenant, data)
        if status in ("published", "closed"):
            operations.publish_call(call)
        if status == "closed":
            operations.close_call(call)
        db.session.commit()
        return call.id, call.ref


@pytest.fixture(autouse=True)
def uploads(app, tmp_path, monkeypatch):
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(folder))
    return folder


@pytest.fixture
def tenant_a(create_tenant):
    return create_tenant("gmina-a", name="Gmina Dębowa Wola", variants=["lpm", "sample_grant"])


@pytest.fixture
def admin(tenant_a, create_user, clients):
    create_user("admin@example.org", roles=["admin"], tenant="gmina-a")
    client = clients("gmina-a")
    client.login("admin@example.org")
    return client


# --- creating and editing --------------------------------------------------------------

def test_new_call_form_offers_the_variant_defaults_and_presets(app, admin):
    page = admin.get("/admin/calls/new")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert 'id="variant" name="variant"' in body and '<option selected value="lpm">' in body
    # default_params: LPM's defaults fill the parameters (the Lubochnia regulations).
    assert 'name="params-amount_max"' in body and 'value="4000.00"' in body
    # The deadline and the realization window are asked once, as dates.
    assert body.count('name="deadline"') == 1 and 'name="params-deadline"' not in body
    assert 'type="date"' in body and 'name="params-realization_start"' not in body
    # pool_presets: the OPUS offer's budget variants.
    assert 'name="preset-preset"' in body and "100" + NBSP + "000,00" + NBSP + "zł" in body


def test_admin_creates_a_call_and_the_pool_is_computed(app, admin, tenant_a):
    response = admin.post("/admin/calls/new", data=lpm_form())
    assert response.status_code == 302, response.get_data(as_text=True)
    [call] = read_calls(app, tenant_a)
    assert response.headers["Location"].endswith(f"/admin/calls/{call.id}")
    assert call.status == "draft" and call.variant == "lpm"
    assert call.ref == f"lokalny-program-mikrograntow-debowa-wola-{days(30)[:4]}"
    # 15 000 zł less the operator's fee of 20%.
    assert call.pool == Decimal("12000.00")
    assert call.params["municipality_budget"] == "15000.00"
    assert call.params["operator_fee_percent"] == 20 and "pool" not in call.params
    assert call.params["deadline"] == days(30)
    assert call.params["realization_start"] == days(60)
    assert call.realization_end == dt.date.fromisoformat(days(200))
    # The deadline date closes at 23:59:59 Polish time, stored in UTC.
    local = call.deadline_at.astimezone(WARSAW)
    assert (local.date().isoformat(), local.time()) == (days(30), dt.time(23, 59, 59))
    assert call.deadline_at.utcoffset() == dt.timedelta(0)
    [(action, changes)] = events(app, tenant_a)
    assert action == "call.created" and changes["variant"] == "lpm"
    assert changes["pool"] == "12000.00"


def test_ref_is_made_unique_and_a_taken_one_is_refused(app, admin, tenant_a, create_tenant):
    data = lpm_form(title="Mikrogranty 2031", deadline="2031-03-31",
                    realization_start="2031-05-01", realization_end="2031-10-31")
    assert admin.post("/admin/calls/new", data=data).status_code == 302
    assert admin.post("/admin/calls/new", data=data).status_code == 302
    assert [c.ref for c in read_calls(app, tenant_a)] == ["mikrogranty-2031", "mikrogranty-2031-2"]
    response = admin.post("/admin/calls/new", data=lpm_form(ref="mikrogranty-2031"))
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'id="ref-error"' in body and "„mikrogranty-2031”" in body
    assert len(read_calls(app, tenant_a)) == 2
    # Another municipality may use the same address for its own call.
    other = create_tenant("gmina-b", variants=["lpm"])
    make_call(app, other, ref="mikrogranty-2031")
    assert [c.ref for c in read_calls(app, other)] == ["mikrogranty-2031"]


def test_editing_a_draft_records_the_changed_fields(app, admin, tenant_a):
    admin.post("/admin/calls/new", data=lpm_form())
    [call] = read_calls(app, tenant_a)
    page = admin.get(f"/admin/calls/{call.id}").get_data(as_text=True)
    assert 'value="15000.00"' in page and f'value="{days(30)}"' in page
    response = admin.post(f"/admin/calls/{call.id}", data=lpm_form(
        title="LPM Dębowa Wola 2", ref=call.ref, **{"params-amount_max": "4500"}))
    assert response.status_code == 302
    [call] = read_calls(app, tenant_a)
    assert call.title == "LPM Dębowa Wola 2" and call.params["amount_max"] == "4500.00"
    action, changes = events(app, tenant_a)[-1]
    assert action == "call.updated"
    assert changes == {"title": ["Lokalny Program Mikrograntów — Dębowa Wola", "LPM Dębowa Wola 2"],
                       "params.amount_max": ["4000.00", "4500.00"]}
    # Saving again without a change says so and records nothing.
    admin.post(f"/admin/calls/{call.id}", data=lpm_form(title="LPM Dębowa Wola 2", ref=call.ref,
                                                        **{"params-amount_max": "4500"}))
    assert [a for a, _ in events(app, tenant_a)].count("call.updated") == 1


def test_parameters_not_shown_in_the_form_are_kept(app, admin, tenant_a):
    call_id, ref = make_call(app, tenant_a, params={"custom_note": "z importu"})
    admin.post(f"/admin/calls/{call_id}", data=lpm_form(ref=ref))
    [call] = read_calls(app, tenant_a)
    assert call.params["custom_note"] == "z importu"


@pytest.mark.parametrize("values, field, words", [
    ({"params-amount_min": "5000", "params-amount_max": "4000"}, "params-amount_max",
     "Najwyższy mikrogrant"),
    ({"realization_start": days(90), "realization_end": days(80)}, "realization_end",
     "Projekty muszą się zakończyć"),
    ({"realization_start": days(10)}, "realization_start", "Projekty muszą się zakończyć"),
    ({"announced_on": days(40)}, "announced_on", "Data ogłoszenia"),
    ({"deadline": "31.02.2025"}, "deadline", "Wpisz datę"),
    ({"params-municipality_budget": "15 000,5a"}, "params-municipality_budget", "Budżet gminy"),
    ({"variant": "hacked"}, "variant", "„hacked” nie jest wariantem"),
    ({"variant": "sample_grant"}, "variant",
     "„sample_grant” nie jest wariantem regulaminu tego samorządu"),
    ({"title": ""}, "title", "Tytuł"),
])
def test_invalid_input_gives_a_polish_error_naming_the_field_and_saves_nothing(
        app, admin, tenant_a, values, field, words, create_tenant):
    if values.get("variant") == "sample_grant":
        # Installed here, but not a variant this municipality runs.
        from core.db import db
        from core.tenancy.models import Tenant

        with app.app_context():
            db.session.execute(db.update(Tenant).where(Tenant.id == tenant_a)
                               .values(variants=["lpm"]))
            db.session.commit()
    data = lpm_form(title=values.pop("title", "Nabór do sprawdzenia"), **values)
    response = admin.post("/admin/calls/new", data=data)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert f'id="{field}-error"' in body, body[body.find('error-summary'):][:2000]
    summary = body[body.index('class="error-summary"'):body.index("</div>", body.index(
        'class="error-summary"'))]
    assert f'href="#{field}"' in summary
    assert words in body, summary
    assert read_calls(app, tenant_a) == []
    # Everything typed comes back.
    assert "Mikrogranty dla mieszkańców." in body and "Dębowa Wola</textarea>" in body
    if data["title"]:
        assert f'value="{data["title"]}"' in body


def test_choosing_another_variant_shows_its_parameters_first(app, admin, tenant_a):
    response = admin.post("/admin/calls/new", data=lpm_form(variant="sample_grant"))
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    # sample_grant gives no form of its own: core's default asks for the pool only.
    assert 'name="params-pool"' in body and 'name="params-amount_min"' not in body
    assert 'name="shown_variant" value="sample_grant"' in body
    assert 'value="Lokalny Program Mikrograntów — Dębowa Wola"' in body
    assert read_calls(app, tenant_a) == []
    response = admin.post("/admin/calls/new", data={
        "title": "Mały grant", "variant": "sample_grant", "shown_variant": "sample_grant",
        "deadline": days(10), "params-pool": "5 000,00"})
    assert response.status_code == 302
    [call] = read_calls(app, tenant_a)
    assert (call.variant, call.pool, call.params) == (
        "sample_grant", Decimal("5000.00"), {"pool": "5000.00", "deadline": days(10)})


def test_a_preset_fills_the_budget_without_saving(app, admin, tenant_a):
    response = admin.post("/admin/calls/new", data=lpm_form(**{
        "action": "preset", "preset-preset": "1", "params-municipality_budget": "",
        "params-pool": "38000"}))
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert 'name="params-municipality_budget" required type="text" value="50000.00"' in body \
        or re.search(r'name="params-municipality_budget"[^>]*value="50000.00"', body)
    assert re.search(r'name="params-pool"[^>]*value=""', body)
    assert "40" + NBSP + "000,00" + NBSP + "zł" in body  # the pool: 50 000 less 20%
    assert "Nic nie zostało jeszcze zapisane" in body
    assert read_calls(app, tenant_a) == []


# --- publication ------------------------------------------------------------------------

def test_publish_and_close_are_audited_and_only_go_forward(app, admin, tenant_a):
    call_id, ref = make_call(app, tenant_a)
    response = admin.post(f"/admin/calls/{call_id}/publish")
    assert response.status_code == 302
    [call] = read_calls(app, tenant_a)
    assert call.status == "published" and call.announced_on == warsaw_today()
    assert admin.post(f"/admin/calls/{call_id}/publish").status_code == 422
    # The published call's page leads to its evaluation.
    page = admin.get(f"/admin/calls/{call_id}").get_data(as_text=True)
    for path in (f"/admin/calls/{call_id}/formal", f"/admin/calls/{call_id}/evaluators",
                 f"/committee/calls/{call_id}/ranking", f"/calls/{ref}/results"):
        assert f'href="{path}"' in page
    # Closing before the deadline cannot be undone: it needs a confirmation.
    assert 'name="confirm_early"' in page
    page = admin.post(f"/admin/calls/{call_id}/close", follow_redirects=True)
    assert "potwierdź, że od teraz mieszkańcy nie będą już mogli składać wniosków" in \
        page.get_data(as_text=True)
    assert read_calls(app, tenant_a)[0].status == "published"
    assert admin.post(f"/admin/calls/{call_id}/close",
                      data={"confirm_early": "y"}).status_code == 302
    assert read_calls(app, tenant_a)[0].status == "closed"
    closed = admin.get(f"/admin/calls/{call_id}").get_data(as_text=True)
    assert "Nabór jest zamknięty: wnioski złożono według tych zasad" in closed
    assert "Nabór jest ogłoszony: mieszkańcy składają wnioski" not in closed
    page = admin.post(f"/admin/calls/{call_id}/close", follow_redirects=True)
    assert "Zamknąć można tylko ogłoszony nabór" in page.get_data(as_text=True)
    actions = [(a, c.get("status")) for a, c in events(app, tenant_a)]
    assert actions == [("call.created", None), ("call.published", ["draft", "published"]),
                       ("call.closed", ["published", "closed"])]
    assert events(app, tenant_a)[-1][1]["before_deadline"] is True


def test_publishing_needs_a_future_deadline_and_valid_parameters(app, admin, tenant_a):
    call_id, _ = make_call(app, tenant_a, deadline=days(-1), realization_start=days(5),
                           params={"amount_min": "5000.00"})
    response = admin.post(f"/admin/calls/{call_id}/publish")
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'id="deadline-error"' in body and "Termin składania wniosków minął" in body
    assert 'id="params-amount_max-error"' in body and "Najwyższy mikrogrant" in body
    assert read_calls(app, tenant_a)[0].status == "draft"
    assert [a for a, _ in events(app, tenant_a)] == ["call.created"]


def test_save_and_publish_keeps_what_was_typed_when_publishing_is_refused(app, admin,
                                                                          tenant_a):
    call_id, ref = make_call(app, tenant_a)
    response = admin.post(f"/admin/calls/{call_id}", data=lpm_form(
        ref=ref, title="Poprawiony tytuł", action="publish", **{"params-pool": "",
                                                                "params-eligible_gminas": "Lipiny"}))
    assert response.status_code == 302
    [call] = read_calls(app, tenant_a)
    assert call.status == "published" and call.title == "Poprawiony tytuł"
    call_id, ref = make_call(app, tenant_a, title="Drugi")
    response = admin.post(f"/admin/calls/{call_id}", data=lpm_form(
        ref=ref, title="Drugi, poprawiony", action="publish", deadline=days(-2),
        realization_start=days(5)))
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Nabór jest zapisany, ale nie można go jeszcze ogłosić" in body
    assert 'id="deadline-error"' in body
    second = read_calls(app, tenant_a)[1]
    assert (second.title, second.status) == ("Drugi, poprawiony", "draft")


def test_a_published_call_keeps_its_rules(app, admin, tenant_a):
    from core.calls import operations
    from core.calls.models import Call
    from core.db import db, tenant_scope
    from core.errors import ValidationError

    call_id, ref = make_call(app, tenant_a, status="published")
    with app.app_context(), tenant_scope(tenant_a):
        call = db.session.get(Call, call_id)
        with pytest.raises(ValidationError) as raised:
            operations.update_call(call, {"params": {**call.params, "amount_max": "6000.00"}})
        assert "params.amount_max" in raised.value.errors
        assert "Nabór jest ogłoszony" in str(raised.value.errors["_"][0])
        with pytest.raises(ValidationError) as raised:
            operations.update_call(call, {"deadline": days(40)})
        assert set(raised.value.errors) == {"_", "deadline"}
        db.session.rollback()
    # The page offers only the wording; a new title is saved and audited.
    page = admin.get(f"/admin/calls/{call_id}").get_data(as_text=True)
    assert 'name="title"' in page and 'name="params-amount_max"' not in page
    assert "nie mogą się one już zmienić" in page
    response = admin.post(f"/admin/calls/{call_id}", data={"title": "Nowy tytuł",
                                                           "description": "Opis"})
    assert response.status_code == 302
    [call] = read_calls(app, tenant_a)
    assert call.title == "Nowy tytuł" and call.params["amount_max"] == "4000.00"
    assert events(app, tenant_a)[-1] == ("call.updated", {
        "title": ["LPM Dębowa Wola", "Nowy tytuł"], "description": ["", "Opis"]})


# --- the public page ----------------------------------------------------------------------

def test_public_page_shows_rules_pool_dates_and_countdown(app, tenant_a, clients):
    call_id, ref = make_call(app, tenant_a, status="published", deadline="2030-03-31",
                             realization_start="2030-05-01", realization_end="2030-11-15",
                             description="Pierwszy akapit.\n\nDrugi akapit.")
    response = clients("gmina-a").get(f"/calls/{ref}")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert f"12{NBSP}000,00{NBSP}zł" in body
    assert "31 marca 2030, 23:59" in body
    assert "od 1 maja 2030 do 15 listopada 2030" in body
    assert "<p>Pierwszy akapit.</p><p>Drugi akapit.</p>" in body
    assert re.search(r"Do końca naboru zostało \d+ dni", body)
    # call_rules_summary: the variant explains its rules in plain Polish.
    from core.calls.models import Call
    from core.db import db, tenant_scope

    with app.test_request_context(base_url=f"https://gmina-a.{BASE}"), tenant_scope(tenant_a):
        call = db.session.get(Call, call_id)
        sentences = [str(s) for s in
                     app.extensions["mikrogranty.plugins"].hook.call_rules_summary(call=call)]
    text = html.unescape(body)
    assert len(sentences) > 3 and all(f"<li>{s}</li>" in text for s in sentences)
    assert any(f"12{NBSP}000,00{NBSP}zł" in s for s in sentences)
    assert 'src="/static/js/countdown.js"' in body and "data-forms=" in body


@pytest.mark.parametrize("ahead, words", [
    (0, "Nabór kończy się dziś o 23:59"),
    (1, "Do końca naboru został 1 dzień"),
    (2, "Do końca naboru zostały 2 dni"),
    (5, "Do końca naboru zostało 5 dni"),
    (22, "Do końca naboru zostały 22 dni"),
])
def test_countdown_counts_days_in_polish(app, tenant_a, clients, ahead, words):
    _, ref = make_call(app, tenant_a, status="published", deadline=days(ahead),
                       realization_start=days(ahead + 10), realization_end=days(ahead + 100))
    assert words in clients("gmina-a").get(f"/calls/{ref}").get_data(as_text=True)


def test_public_page_in_ukrainian_and_english(app, tenant_a, clients):
    _, ref = make_call(app, tenant_a, status="published", deadline=days(5),
                       realization_start=days(10), realization_end=days(100))
    site = clients("gmina-a")
    site.post("/language", data={"locale": "uk"})
    body = site.get(f"/calls/{ref}").get_data(as_text=True)
    assert "До кінця прийому заявок залишилося 5 днів" in body
    assert f"12{NBSP}000,00{NBSP}zł" in body
    site.post("/language", data={"locale": "en"})
    assert "5 days left until the deadline" in site.get(f"/calls/{ref}").get_data(as_text=True)


def test_countdown_decides_in_warsaw_time(app):
    from core.calls.models import Call
    from core.calls.views import countdown, deadline_text
    from core.rules.engine import deadline_instant

    call = Call(status="published", deadline_at=deadline_instant(dt.date(2025, 3, 31)))
    utc = dt.timezone.utc
    with app.test_request_context():
        assert deadline_text(call.deadline_at) == "31 marca 2025, 23:59"
        # 30 March 23:30 UTC is already 31 March in Warsaw (summer time, UTC+2).
        assert countdown(call, dt.datetime(2025, 3, 30, 21, 30, tzinfo=utc))["text"] == \
            "Do końca naboru został 1 dzień"
        assert countdown(call, dt.datetime(2025, 3, 30, 22, 30, tzinfo=utc))["text"] == \
            "Nabór kończy się dziś o 23:59"
        assert countdown(call, dt.datetime(2025, 3, 31, 21, 59, 59, tzinfo=utc))["state"] == "today"
        ended = countdown(call, dt.datetime(2025, 3, 31, 22, 0, 0, tzinfo=utc))
        assert ended == {"state": "ended", "text": "Nabór zakończył się 31 marca 2025 o 23:59"}
        call.status = "closed"
        assert countdown(call)["text"] == "Nabór jest zamknięty"


def test_public_list_shows_published_and_closed_calls_only(app, tenant_a, clients):
    make_call(app, tenant_a, title="Szkic naboru")
    make_call(app, tenant_a, title="Otwarty nabór", status="published")
    make_call(app, tenant_a, title="Zamknięty nabór", status="closed")
    body = clients("gmina-a").get("/calls").get_data(as_text=True)
    assert "Otwarty nabór" in body and "Zamknięty nabór" in body
    assert "Szkic naboru" not in body
    assert body.index("Otwarty nabór") < body.index("Zamknięty nabór")


def test_an_open_call_offers_to_apply_on_its_page_the_list_and_the_home_page(
        app, tenant_a, clients):
    """A first-time visitor finds "Złóż wniosek" wherever an open call is shown."""
    _, ref = make_call(app, tenant_a, status="published", title="Otwarty nabór")
    _, closed = make_call(app, tenant_a, status="closed", title="Zamknięty nabór")
    site = clients("gmina-a")
    apply = f'href="/calls/{ref}/apply"'
    page = site.get(f"/calls/{ref}").get_data(as_text=True)
    assert apply in page and "Złóż wniosek" in page
    assert "Najpierw zalogujesz się lub założysz konto" in page
    assert "/apply" not in site.get(f"/calls/{closed}").get_data(as_text=True)
    listing = site.get("/calls").get_data(as_text=True)
    assert apply in listing and f"/calls/{closed}/apply" not in listing
    home = site.get("/").get_data(as_text=True)
    assert "Otwarte nabory" in home and apply in home and f'href="/calls/{ref}"' in home
    assert "Zamknięty nabór" not in home
    # Following the button, a visitor logs in first and is sent back to the call.
    response = site.get(f"/calls/{ref}/apply")
    assert response.status_code == 302
    assert f"next=/calls/{ref}/apply" in response.headers["Location"].replace("%2F", "/")


def test_a_draft_is_404_to_the_public_and_a_preview_to_admins(app, admin, tenant_a, clients):
    _, ref = make_call(app, tenant_a)
    assert clients("gmina-a").get(f"/calls/{ref}").status_code == 404
    preview = admin.get(f"/calls/{ref}")
    assert preview.status_code == 200 and "Podgląd" in preview.get_data(as_text=True)
    assert preview.headers["Cache-Control"] == "no-store"


def test_another_tenants_call_is_not_found(app, admin, tenant_a, create_tenant, create_user,
                                           clients):
    other = create_tenant("gmina-b", variants=["lpm"])
    call_id, ref = make_call(app, other, status="published", ref="nabor-gminy-b")
    assert clients("gmina-b").get(f"/calls/{ref}").status_code == 200
    assert clients("gmina-a").get(f"/calls/{ref}").status_code == 404
    for path in (f"/admin/calls/{call_id}", ):
        assert admin.get(path).status_code == 404
    for path in (f"/admin/calls/{call_id}/publish", f"/admin/calls/{call_id}/close",
                 f"/admin/calls/{call_id}"):
        assert admin.post(path, data={"title": "x"}).status_code == 404
    assert read_calls(app, other)[0].status == "published"


def test_managing_calls_needs_tenant_manage(app, tenant_a, create_user, clients):
    create_user("evaluator@example.org", roles=["evaluator"], tenant="gmina-a")
    anonymous = clients("gmina-a")
    response = anonymous.get("/admin/calls/new")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    evaluator = clients("gmina-a")
    evaluator.login("evaluator@example.org")
    assert evaluator.get("/admin/calls").status_code == 403
    assert evaluator.post("/admin/calls/new", data=lpm_form()).status_code == 403
    assert read_calls(app, tenant_a) == []


def test_menu_links_calls_for_everyone_and_management_for_admins(app, admin, tenant_a, clients):
    public_menu = clients("gmina-a").get("/").get_data(as_text=True)
    assert '<a href="/calls">Nabory</a>' in public_menu
    assert "/admin/calls" not in public_menu
    assert '<a href="/admin/calls">Zarządzanie naborami</a>' in admin.get("/").get_data(True)
    assert clients(None).get("/calls").status_code == 404  # not on the operator's host


# --- documents ----------------------------------------------------------------------------

def upload(client, call_id, content, filename="regulamin.pdf", title="Regulamin", extra=None):
    import io

    return client.post(f"/admin/calls/{call_id}/documents", data={
        "document-title": title, "document-file": (io.BytesIO(content), filename),
        **(extra or {})}, content_type="multipart/form-data")


def test_document_is_stored_under_a_generated_name_and_served_with_permission(
        app, admin, tenant_a, clients, uploads):
    call_id, ref = make_call(app, tenant_a)
    response = upload(admin, call_id, PDF, filename="Regulamin Dębowa Wola.pdf")
    assert response.status_code == 302
    [call] = read_calls(app, tenant_a)
    [stored] = list((uploads / str(tenant_a)).iterdir())
    assert re.fullmatch(r"[A-Za-z0-9_-]{24}\.pdf", stored.name)
    assert stored.read_bytes() == PDF
    from core.calls.models import CallDocument
    from core.db import db, tenant_scope

    with app.app_context(), tenant_scope(tenant_a):
        [doc] = db.session.scalars(db.select(CallDocument)).all()
        doc_id = doc.id
        assert (doc.title, doc.filename, doc.size, doc.stored_name) == (
            "Regulamin", "Regulamin Dębowa Wola.pdf", len(PDF), stored.name)
    assert events(app, tenant_a)[-1][0] == "call.document_added"

    path = f"/calls/{ref}/documents/{doc_id}"
    assert clients("gmina-a").get(path).status_code == 404  # the call is a draft
    served = admin.get(path)
    assert served.status_code == 200 and served.data == PDF
    assert served.headers["Content-Type"] == "application/pdf"
    disposition = served.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''Regulamin%20D%C4%99bowa" in disposition
    assert "sandbox" in served.headers["Content-Security-Policy"]

    with app.app_context(), tenant_scope(tenant_a):
        from core.calls import operations
        from core.calls.models import Call

        operations.publish_call(db.session.get(Call, call_id))
        db.session.commit()
    public = clients("gmina-a").get(path)
    assert public.status_code == 200 and public.data == PDF
    assert "Regulamin" in clients("gmina-a").get(f"/calls/{ref}").get_data(as_text=True)
    assert clients("gmina-a").get(f"/calls/{ref}/documents/{doc_id + 1}").status_code == 404
    assert clients("gmina-a").get(f"/calls/other-ref/documents/{doc_id}").status_code == 404

    # Removing it deletes the file and is audited.
    assert admin.post(f"/admin/calls/{call_id}/documents/{doc_id}/remove").status_code == 302
    assert list((uploads / str(tenant_a)).iterdir()) == []
    assert events(app, tenant_a)[-1][0] == "call.document_removed"
    assert clients("gmina-a").get(path).status_code == 404


def test_another_tenants_document_is_not_found(app, admin, tenant_a, create_tenant, create_user,
                                               clients):
    other = create_tenant("gmina-b", variants=["lpm"])
    create_user("b@example.org", roles=["admin"], tenant="gmina-b")
    b = clients("gmina-b")
    b.login("b@example.org")
    call_id, ref = make_call(app, other, status="published", ref="nabor-b")
    assert upload(b, call_id, PDF).status_code == 302
    from core.calls.models import CallDocument
    from core.db import db, tenant_scope

    with app.app_context(), tenant_scope(other):
        doc_id = db.session.scalars(db.select(CallDocument.id)).one()
    assert b.get(f"/calls/{ref}/documents/{doc_id}").status_code == 200
    assert admin.get(f"/calls/{ref}/documents/{doc_id}").status_code == 404
    assert admin.post(f"/admin/calls/{call_id}/documents/{doc_id}/remove").status_code == 404
    mine, _ = make_call(app, tenant_a)
    assert admin.post(f"/admin/calls/{mine}/documents/{doc_id}/remove").status_code == 404
    assert upload(admin, call_id, PDF).status_code == 404


@pytest.mark.parametrize("content, filename, words", [
    (b"<html><script>alert(1)</script></html>", "regulamin.pdf", "„regulamin.pdf” nie jest plikiem PDF"),
    (b"PK\x03\x04 a zip file", "regulamin.pdf", "nie jest plikiem PDF"),
    (b"", "pusty.pdf", "„pusty.pdf” jest pusty"),
    (b"%PDF-" + b"0" * (10 * 1024 * 1024), "wielki.pdf", "„wielki.pdf” jest za duży"),
])
def test_a_bad_upload_gives_a_polish_error_and_stores_nothing(app, admin, tenant_a, uploads,
                                                              content, filename, words):
    call_id, _ = make_call(app, tenant_a)
    response = upload(admin, call_id, content, filename=filename, title="Załącznik nr 1")
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'id="document-file-error"' in body and words in body
    assert 'href="#document-file"' in body and "Plik PDF" in body
    assert 'value="Załącznik nr 1"' in body  # the title typed is kept
    assert list((uploads / str(tenant_a)).iterdir()) == []  # no temporary file either
    assert events(app, tenant_a)[-1][0] == "call.created"


def test_an_upload_without_a_file_asks_for_one(app, admin, tenant_a):
    call_id, _ = make_call(app, tenant_a)
    response = admin.post(f"/admin/calls/{call_id}/documents",
                          data={"document-title": "Regulamin"}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Wybierz plik PDF do przesłania." in response.get_data(as_text=True)


def test_a_request_above_the_app_limit_gets_a_friendly_413(app_config, tenant_a, create_user,
                                                           uploads):
    from core import create_app

    small = create_app({**app_config, "MAX_CONTENT_LENGTH": 4096, "UPLOAD_FOLDER": str(uploads)})
    create_user("admin@example.org", roles=["admin"], tenant="gmina-a")
    client = HostClient(small, host("gmina-a"))
    client.login("admin@example.org")
    call_id, _ = make_call(small, tenant_a)
    response = upload(client, call_id, PDF + b"0" * 8192)
    assert response.status_code == 413
    body = response.get_data(as_text=True)
    assert "Plik jest za duży" in body and "większe niż 4\u00a0kB" in body
    assert list(uploads.glob("*/*.pdf")) == []


def test_forms_carry_their_csrf_tokens(make_app, tenant_a, create_user, uploads):
    guarded = make_app(WTF_CSRF_ENABLED=True, UPLOAD_FOLDER=str(uploads))
    create_user("admin@example.org", roles=["admin"], tenant="gmina-a")
    client = HostClient(guarded, host("gmina-a"))
    # Over HTTPS, Flask-WTF also wants the request to come from this site.
    client.http.environ_base["HTTP_REFERER"] = f"https://{host('gmina-a')}/admin/calls"

    def token(path, name="csrf_token"):
        page = client.get(path).get_data(as_text=True)
        return re.search(rf'name="{name}" type="hidden" value="([^"]+)"', page).group(1)

    login_token = token("/login")
    logged_in = client.post("/login", data={"email": "admin@example.org", "password": PASSWORD,
                                            "csrf_token": login_token})
    assert logged_in.status_code == 302
    response = client.post("/admin/calls/new", data=lpm_form(csrf_token=token("/admin/calls/new")))
    assert response.status_code == 302
    [call] = read_calls(guarded, tenant_a)
    edit = f"/admin/calls/{call.id}"
    assert client.post(f"{edit}/publish").status_code == 400  # no token
    doc = upload(client, call.id, PDF,
                 extra={"document-csrf_token": token(edit, "document-csrf_token")})
    assert doc.status_code == 302
    assert client.post(f"{edit}/publish", data={"csrf_token": token(edit)}).status_code == 302
    assert read_calls(guarded, tenant_a)[0].status == "published"


# --- a variant of another shape -----------------------------------------------------------

class WindowParamsForm(FlaskForm):
    """A variant that names the realization window window_start/window_end."""

    pool = MoneyField("Pool", validators=[InputRequired(message="Give the pool.")])
    window_start = DateField("Window start", validators=[Optional()])
    window_end = DateField("Window end", validators=[Optional()])

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if self.window_start.data and self.window_end.data and \
                self.window_end.data < self.window_start.data + dt.timedelta(days=30):
            self.window_end.errors = list(self.window_end.errors) + ["The window is too short."]
            return False
        return valid

    def to_params(self):
        params = {"pool": f"{self.pool.data:.2f}"}
        for name in ("window_start", "window_end"):
            if getattr(self, name).data:
                params[name] = getattr(self, name).data.isoformat()
        return params

    def from_params(self, params):
        self.pool.data = Decimal(params["pool"]) if params.get("pool") else None
        for name in ("window_start", "window_end"):
            value = params.get(name)
            getattr(self, name).data = dt.date.fromisoformat(value) if value else None


def _fake_plugin():
    module = types.ModuleType("fake_window_variant")

    @hookimpl
    def register_variants():
        from core.plugins.toolkit import Variant

        return [Variant("window_grant", "Window grant")]

    @hookimpl
    def default_params(variant):
        return {"pool": "9000.00"} if variant == "window_grant" else None

    @hookimpl
    def call_params_form(variant):
        return WindowParamsForm if variant == "window_grant" else None

    @hookimpl
    def call_rules_summary(call):
        if call.variant != "window_grant":
            return None
        return [f"Pula {call.params['pool']} na projekty w oknie."]

    @hookimpl
    def pool_presets(variant):
        return [("Mała pula", {"pool": "1000.00"})] if variant == "window_grant" else None

    for fn in (register_variants, default_params, call_params_form, call_rules_summary,
               pool_presets):
        setattr(module, fn.__name__, fn)
    return module


@pytest.fixture
def window_app(app, app_config, uploads):
    from core import create_app

    return create_app({**app_config, "UPLOAD_FOLDER": str(uploads)},
                      plugins={"fake": _fake_plugin()})


def test_a_variant_naming_its_window_differently_shares_the_call_dates(
        window_app, create_tenant, create_user):
    tenant_id = create_tenant("gmina-w", variants=["window_grant"])
    create_user("w@example.org", roles=["admin"], tenant="gmina-w")
    client = HostClient(window_app, host("gmina-w"))
    client.login("w@example.org")
    page = client.get("/admin/calls/new").get_data(as_text=True)
    assert 'value="9000.00"' in page and 'name="params-window_start"' not in page
    assert "Mała pula" in page
    data = {"title": "Okno", "variant": "window_grant", "deadline": days(5),
            "realization_start": days(10), "realization_end": days(20), "params-pool": "9000"}
    response = client.post("/admin/calls/new", data=data)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    # The variant's check of its window shows on the call form's field.
    assert re.search(r'id="realization_end-error">[^<]*The window is too short', body)
    data["realization_end"] = days(100)
    assert client.post("/admin/calls/new", data=data).status_code == 302
    [call] = read_calls(window_app, tenant_id)
    assert call.params == {"pool": "9000.00", "window_start": days(10), "window_end": days(100),
                           "deadline": days(5)}
    assert call.realization_start == dt.date.fromisoformat(days(10))
    response = client.post(f"/admin/calls/{call.id}/publish")
    assert response.status_code == 302
    assert "Pula 9000.00 na projekty w oknie." in client.get(f"/calls/{call.ref}").get_data(True)


# --- in a browser ---------------------------------------------------------------------------

from browser import chromium, live_server  # noqa: E402,F401  (fixtures)


def test_in_a_browser_enter_saves_and_the_countdown_follows_the_clock(
        chromium, live_server, tenant_a, create_user):  # noqa: F811
    create_user("admin@example.org", roles=["admin"], tenant="gmina-a")
    page = chromium.new_page()
    errors = []  # script errors and CSP refusals show here; failed loads below
    page.on("console", lambda m: errors.append(m.text) if m.type == "error"
            and not m.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(r.url) if r.status >= 400
            and not r.url.endswith("/favicon.ico") else None)
    site = f"gmina-a.{BASE}"
    page.goto(live_server.url(site, "/login"))
    page.fill("#email", "admin@example.org")
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")
    page.goto(live_server.url(site, "/admin/calls/new"))
    page.fill("#deadline", days(2))
    page.fill("#realization_start", days(20))
    page.fill("#realization_end", days(120))
    page.fill("#params-eligible_gminas", "Dębowa Wola")
    page.fill("#title", "Mikrogranty na dwa dni")
    page.press("#title", "Enter")  # the first button of the form is "Save"
    assert page.locator(".flash-success").inner_text() == "Nabór jest zapisany."
    page.get_by_role("button", name="Zapisz i ogłoś nabór").click()
    assert "Nabór jest ogłoszony" in page.locator(".flash-success").inner_text()
    page.get_by_role("link", name="Strona publiczna").click()
    countdown = page.locator("[data-countdown] strong")
    assert countdown.inner_text() == "Do końca naboru zostały 2 dni"
    # The page stays open until the deadline day: the script keeps the text right.
    page.clock.install()
    page.reload()
    noon = dt.datetime.combine(dt.date.fromisoformat(days(2)), dt.time(12), tzinfo=WARSAW)
    page.clock.set_system_time(noon)
    page.clock.run_for(61_000)
    assert countdown.inner_text() == "Nabór kończy się dziś o 23:59"
    page.clock.set_system_time(noon + dt.timedelta(hours=12))
    page.clock.run_for(61_000)
    assert countdown.inner_text().startswith("Nabór zakończył się")
    assert errors == []
    page.close()


def test_amounts_are_typed_as_people_type_them_and_never_dropped_by_the_browser(app):
    """A money field is a text input with a decimal keyboard: a number input would drop
    ``12 000,50`` in the browser (the value typed would be lost)."""
    from flask_wtf import FlaskForm
    from werkzeug.datastructures import MultiDict

    from core.calls.forms import MoneyField

    class Form(FlaskForm):
        amount = MoneyField("Kwota")

    with app.test_request_context():
        form = Form(formdata=MultiDict({"amount": "12 000,50 zł"}), meta={"csrf": False})
        assert form.validate() and str(form.amount.data) == "12000.50"
        html = str(form.amount)
        assert 'type="text"' in html and 'inputmode="decimal"' in html
        assert 'value="12 000,50 zł"' in html  # shown again as typed
