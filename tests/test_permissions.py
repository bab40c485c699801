"""Who may open what: each role against the routes of core."""
from __future__ import annotations

import pytest

ANON = None
ROLES = ["applicant", "evaluator", "committee", "admin"]


@pytest.fixture
def people(create_tenant, create_user):
    create_tenant("gmina-a")
    create_tenant("gmina-b")
    for role in ROLES:
        create_user(f"{role}@example.org", roles=[role], tenant="gmina-a")
    create_user("admin-b@example.org", roles=["admin"], tenant="gmina-b")
    create_user("operator@example.org", platform_role="operator_staff")


# (host slug or None for the base host, path, who → expected status)
MATRIX = [
    ("gmina-a", "/", {ANON: 200, "applicant": 200, "admin": 200, "operator": 200}),
    ("gmina-a", "/admin/members", {ANON: 302, "applicant": 403, "evaluator": 403,
                                   "committee": 403, "admin": 200, "admin-b": 403,
                                   "operator": 200}),
    ("gmina-a", "/admin/audit", {ANON: 302, "applicant": 403, "evaluator": 403,
                                 "committee": 403, "admin": 200, "admin-b": 403,
                                 "operator": 200}),
    ("gmina-a", "/outbox/", {ANON: 302, "applicant": 403, "admin": 403, "operator": 200}),
    (None, "/console/", {ANON: 302, "admin": 403, "operator": 200}),
    (None, "/console/tenants/new", {ANON: 302, "admin": 403, "operator": 200}),
    (None, "/console/tenants/gmina-a", {ANON: 302, "admin": 403, "operator": 200}),
    # The console does not exist on tenant hosts, the tenant admin not on the base host.
    ("gmina-a", "/console/", {ANON: 404, "admin": 404, "operator": 404}),
    (None, "/admin/members", {ANON: 404, "operator": 404}),
]

CASES = [(slug, path, who, code) for slug, path, expected in MATRIX
         for who, code in expected.items()]


@pytest.mark.parametrize("slug, path, who, code", CASES)
def test_route_gives_expected_status_for_each_role(people, clients, slug, path, who, code):
    site = clients(slug)
    if who is not None:
        email = f"{who}@example.org"
        site.login(email)
    response = site.get(path)
    assert response.status_code == code, (path, who)
    if code == 302:
        assert "/login" in response.headers["Location"]


def test_every_route_declares_its_permission(app):
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        if not getattr(view, "permission", None):
            missing.append(rule.rule)
    assert missing == []


def test_outbox_is_open_in_the_demo(make_app, create_tenant):
    from conftest import BASE, HostClient

    create_tenant("gmina-a")
    demo = make_app(DEMO=True)
    assert HostClient(demo, f"gmina-a.{BASE}").get("/outbox/").status_code == 200
