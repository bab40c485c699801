"""The main pages read a fixed number of SQL queries, whatever the number of applications.

Two municipalities are seeded (bench/seed.py, the page benchmark's data): one with a
single application, one with a hundred, each scored by two evaluators with the final list
approved and published.  Each page is requested once to warm up, then counted with a
``before_cursor_execute`` listener on the engine.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from bench.seed import seed_evaluated_call

PAGES = {
    "public call list": lambda s: ("/calls", None),
    "evaluator's applications": lambda s: ("/evaluation", s.evaluator),
    "ranking": lambda s: (f"/committee/calls/{s.call_id}/ranking", s.committee),
    "public results": lambda s: (f"/calls/{s.call_ref}/results", None),
}


@pytest.fixture
def seeded(app):
    return {n: seed_evaluated_call(app, slug, n) for n, slug in ((1, "jeden"), (100, "sto"))}


def count_queries(app, site, path) -> tuple[int, list[str]]:
    from core.db import db

    statements: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        response = site.get(path)
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    assert response.status_code == 200, (path, response.status_code)
    return len(statements), statements


@pytest.mark.parametrize("page", list(PAGES))
def test_the_page_reads_as_many_queries_for_1_as_for_100_applications(app, seeded, clients,
                                                                      page):
    counts = {}
    for n, (slug, s) in zip((1, 100), (("jeden", seeded[1]), ("sto", seeded[100]))):
        site = clients(slug)
        path, email = PAGES[page](s)
        if email:
            site.login(email)
        site.get(path)  # warm up (caches, the session's first read)
        counts[n] = count_queries(app, site, path)
    (one, one_sql), (hundred, hundred_sql) = counts[1], counts[100]
    assert one == hundred, (page, one, hundred, hundred_sql)
    assert hundred < 40, (page, hundred)


def test_the_seeded_pages_show_the_applications(app, seeded, clients):
    site = clients("sto")
    assert "W0100" in site.get(f"/calls/lpm-sto/results").get_data(as_text=True) \
        or "Projekt 100" in site.get("/calls/lpm-sto/results").get_data(as_text=True)
    site.login(seeded[100].evaluator)
    page = site.get("/evaluation").get_data(as_text=True)
    assert page.count("Projekt ") >= 100
