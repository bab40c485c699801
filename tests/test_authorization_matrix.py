"""The authorization matrix: every route × every kind of person → the expected status.

Each row is run against a prepared world (tests/test_isolation_sweep.build_world): tenant A
with one of each object, owned by A's applicant and assigned to A's evaluator.  Tenant A's
people act on A's own objects on A's host; "admin-b" is the administrator of tenant B trying
A's host; the operator's console is requested on the base host.  POST routes get an empty
form.  A route that exists without a row here fails ``test_every_route_has_a_row``.

Statuses: 200 page, 302/303 redirect (for anonymous people: to log in), 400/422 a form
refused, 403 no permission, 404 not found (or not on this host).
"""
from __future__ import annotations

import pytest

from test_isolation_sweep import ARGUMENTS, ITERATED, SLUG_A, build_world, routes

WHO = ["anonymous", "applicant", "evaluator", "committee", "admin", "admin-b", "operator"]
EMAILS = {"applicant": "applicant-a@example.org", "evaluator": "evaluator-a@example.org",
          "committee": "committee-a@example.org", "admin": "admin-a@example.org",
          "admin-b": "admin-b@example.org", "operator": "operator@example.org"}


def _path(app, endpoint, rule, world):
    from test_isolation_sweep import _build

    values = {}
    for name in rule.arguments:
        if name in ITERATED:
            values[name] = "project" if name == "step" else ITERATED[name][-1]
        else:
            values[name] = ARGUMENTS[name][0](world, endpoint)
    return _build(rule, values)


def _host(endpoint):
    from core.accounts.permissions import blueprint_host_scope

    return None if blueprint_host_scope(endpoint.rpartition(".")[0] or None) == "platform" \
        else SLUG_A


def observe(app, clients, world, who):
    """{endpoint: status} for one person, the routes in a fixed order, log-out last."""
    seen = {}
    sites = {}
    ordered = sorted(routes(app), key=lambda r: (r[0] == "accounts.logout", r[1].rule, r[0]))
    for endpoint, rule, method in ordered:
        slug = _host(endpoint)
        if slug not in sites:
            sites[slug] = clients(slug)
            if who != "anonymous":
                sites[slug].login(EMAILS[who])
        site = sites[slug]
        path = _path(app, endpoint, rule, world)
        response = site.get(path) if method == "GET" else site.post(path, data={})
        status = response.status_code
        if status in (302, 303) and "/login" in response.headers.get("Location", ""):
            status = "login"
        seen[endpoint] = status
    return seen


L = "login"  # anonymous people are sent to log in (a 302 to /login?next=…)

# endpoint: (anonymous, applicant, evaluator, committee, admin, admin-b, operator)
# The committee member of A is also an editor of A's applicant profile (so sees its
# applications); A's applicant owns it; admin-b holds no role in A, but logging in on a
# tenant's site makes anyone an applicant there (core.accounts.operations.log_in), so
# admin-b, like everyone signed in, may apply in A and sees only what it applies with.
MATRIX = {
    "accounts.accept_invitation":       (  200,   200,   200,   200,   200,   200,   200),
    "accounts.confirm":                 (    L,     L,     L,     L,     L,     L,     L),
    "accounts.language":                (  302,   302,   302,   302,   302,   302,   302),
    "accounts.login":                   (  200,   200,   200,   200,   200,   200,   200),
    "accounts.logout":                  (    L,   302,   302,   302,   302,   302,   302),
    "accounts.register":                (  200,   200,   200,   200,   200,   200,   200),
    "accounts.reset":                   (  200,   200,   200,   200,   200,   200,   200),
    "accounts.reset_request":           (  200,   200,   200,   200,   200,   200,   200),
    "admin.audit":                      (    L,   403,   403,   403,   200,   403,   200),
    "admin.audit_event":                (    L,   403,   403,   403,   200,   403,   200),
    "admin.member":                     (    L,   403,   403,   403,   200,   403,   200),
    "admin.members":                    (    L,   403,   403,   403,   200,   403,   200),
    "admin.remove_member":              (    L,   403,   403,   403,   302,   403,   302),
    "applicants.detail":                (    L,   200,   404,   200,   404,   404,   404),
    "applicants.edit":                  (    L,   200,   404,   200,   404,   404,   404),
    "applicants.editors":               (    L,   200,   404,   403,   404,   404,   404),
    "applicants.end_patronage":         (    L,   404,   404,   404,   404,   404,   404),
    "applicants.index":                 (    L,   200,   200,   200,   200,   200,   200),
    "applicants.members":               (    L,   200,   404,   404,   404,   404,   404),
    "applicants.new":                   (    L,   200,   200,   200,   200,   200,   200),
    "applicants.patron":                (    L,   200,   404,   404,   404,   404,   404),
    "applicants.patron_cancel":         (    L,   302,   404,   404,   404,   404,   404),
    "applicants.patron_confirm":        (    L,   404,   200,   200,   200,   200,   200),
    "applicants.patron_remove":         (    L,   302,   404,   404,   404,   404,   404),
    "applicants.remove_editor":         (    L,   302,   404,   302,   404,   404,   404),
    "applications.autosave":            (    L,   200,   404,   200,   404,   404,   404),
    "applications.dashboard":           (    L,   200,   200,   200,   200,   200,   200),
    "applications.new_row":             (    L,   404,   404,   404,   404,   404,   404),
    "applications.receipt":             (    L,   200,   404,   200,   404,   404,   404),
    "applications.receipt_pdf":         (    L,   200,   404,   200,   404,   404,   404),
    "applications.start":               (    L,   200,   200,   200,   200,   200,   200),
    "applications.step":                (    L,   302,   404,   302,   404,   404,   404),
    "applications.submit":              (    L,   303,   404,   303,   404,   404,   404),
    "applications.withdraw":            (    L,   200,   404,   200,   404,   404,   404),
    "calls.admin_close":                (    L,   403,   403,   403,   302,   403,   302),
    "calls.admin_edit":                 (    L,   403,   403,   403,   200,   403,   200),
    "calls.admin_index":                (    L,   403,   403,   403,   200,   403,   200),
    "calls.admin_new":                  (    L,   403,   403,   403,   302,   403,   302),
    "calls.admin_publish":              (    L,   403,   403,   403,   422,   403,   422),
    "calls.admin_remove_document":      (    L,   403,   403,   403,   302,   403,   302),
    "calls.admin_upload":               (    L,   403,   403,   403,   422,   403,   422),
    "calls.document":                   (  404,   404,   404,   404,   404,   404,   404),
    "calls.index":                      (  200,   200,   200,   200,   200,   200,   200),
    "calls.show":                       (  200,   200,   200,   200,   200,   200,   200),
    "committee.add_slots":              (    L,   403,   403,   403,   422,   403,   422),
    "committee.approve":                (    L,   403,   403,   303,   403,   403,   303),
    "committee.award":                  (    L,   403,   403,   200,   403,   403,   200),
    "committee.index":                  (    L,   403,   403,   200,   200,   403,   200),
    "committee.interviews":             (    L,   403,   403,   200,   200,   403,   200),
    "committee.publish":                (    L,   403,   403,   403,   303,   403,   303),
    "committee.publish_slots":          (    L,   403,   403,   403,   303,   403,   303),
    "committee.ranking":                (    L,   403,   403,   200,   200,   403,   200),
    "committee.record_resignation":     (    L,   403,   403,   403,   200,   403,   200),
    "committee.remove_slot":            (    L,   403,   403,   403,   303,   403,   303),
    "committee.send_invitations":       (    L,   403,   403,   403,   303,   403,   303),
    "committee.stage2":                 (    L,   403,   403,   200,   403,   403,   200),
    "console.create_tenant":            (    L,   403,   403,   403,   403,   403,   200),
    "console.jobs_page":                (    L,   403,   403,   403,   403,   403,   200),
    "console.retry_job":                (    L,   403,   403,   403,   403,   403,   303),
    "console.send_again":               (    L,   403,   403,   403,   403,   403,   303),
    "console.invite_admin":             (    L,   403,   403,   403,   403,   403,   400),
    "console.tenant":                   (    L,   403,   403,   403,   403,   403,   200),
    "console.tenants":                  (    L,   403,   403,   403,   403,   403,   200),
    "outbox.index":                     (    L,   403,   403,   403,   403,   403,   200),
    "outbox.message":                   (    L,   403,   403,   403,   403,   403,   200),
    "outbox.message_html":              (    L,   403,   403,   403,   403,   403,   200),
    # Everyone's own notice settings; the signed one-click link works without logging in.
    "notices.preferences":              (    L,   200,   200,   200,   200,   200,   200),
    "notices.turn_off":                 (  200,   200,   200,   200,   200,   200,   200),
    "notices.turn_off_confirmed":       (  200,   200,   200,   200,   200,   200,   200),
    "results.answer":                   (    L,   422,   404,   422,   404,   404,   404),
    "results.application":              (    L,   200,   404,   200,   404,   404,   404),
    "results.book":                     (    L,   422,   404,   422,   404,   404,   404),
    "results.cancel_booking":           (    L,   303,   404,   303,   404,   404,   404),
    "results.download":                 (  200,   200,   200,   200,   200,   200,   200),
    "results.index":                    (  200,   200,   200,   200,   200,   200,   200),
    "results.public_results":           (  200,   200,   200,   200,   200,   200,   200),
    "results.resign":                   (    L,   302,   404,   302,   404,   404,   404),
    # The operator-paid ledger: staff record and cancel purchases, the group only reads.
    "payments.cancel_purchase":         (    L,   403,   403,   403,   422,   403,   422),
    "payments.group_ledger":            (    L,   200,   404,   200,   404,   404,   404),
    "payments.index":                   (    L,   403,   403,   403,   200,   403,   200),
    "payments.ledger":                  (    L,   403,   403,   403,   200,   403,   200),
    "payments.record_purchase":         (    L,   403,   403,   403,   422,   403,   422),
    "review.assign":                    (    L,   403,   403,   403,   422,   403,   422),
    "review.assign_automatically":      (    L,   403,   403,   403,   303,   403,   303),
    "review.assignment":                (    L,   403,   200,   403,   403,   403,   404),
    "review.calls":                     (    L,   403,   403,   403,   200,   403,   200),
    "review.card":                      (    L,   403,   303,   403,   403,   403,   404),
    "review.cards":                     (    L,   403,   403,   403,   200,   403,   200),
    "review.declare":                   (    L,   403,   303,   403,   403,   403,   404),
    "review.evaluator_settings":        (    L,   403,   403,   403,   422,   403,   422),
    "review.evaluators":                (    L,   403,   403,   403,   200,   403,   200),
    "review.formal":                    (    L,   403,   403,   403,   200,   403,   200),
    "review.formal_list":               (    L,   403,   403,   403,   200,   403,   200),
    "review.my_assignments":            (    L,   403,   200,   403,   403,   403,   200),
    "review.recuse":                    (    L,   403,   422,   403,   403,   403,   404),
    "review.unassign":                  (    L,   403,   403,   403,   303,   403,   303),
    "sample.add_note":                  (    L,   403,   403,   403,   422,   403,   422),
    "sample.note":                      (  200,   200,   200,   200,   200,   200,   200),
    "sample.notes":                     (  200,   200,   200,   200,   200,   200,   200),
    "site.home":                        (  200,   200,   200,   200,   200,   200,   200),
    "theme.css":                        (  200,   200,   200,   200,   200,   200,   200),
}


def test_every_route_has_a_row(app):
    endpoints = {endpoint for endpoint, _, _ in routes(app)}
    assert sorted(endpoints - set(MATRIX)) == [], "add a row to MATRIX for each new route"
    assert sorted(set(MATRIX) - endpoints) == [], "rows of routes that no longer exist"


@pytest.mark.parametrize("who", WHO)
def test_each_route_gives_the_expected_status(app, create_tenant, create_user, clients, who):
    world = build_world(app, create_tenant, create_user)
    seen = observe(app, clients, world, who)
    column = WHO.index(who)
    wrong = [f"{endpoint}: {seen[endpoint]}, expected {MATRIX[endpoint][column]}"
             for endpoint in sorted(seen) if seen[endpoint] != MATRIX[endpoint][column]]
    assert not wrong, "\n".join(wrong)
