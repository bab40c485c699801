"""Optional notices: each person chooses; a signed one-click link turns one kind off."""
from __future__ import annotations

import datetime as dt
import re

from test_applications import world  # noqa: F401  (the fixture)
from test_reminders import _draft, _set_deadline, _tick, at


def _reminder_to(outbox, email):
    return [m for m in outbox() if m[0] == email]


def _off_link(body: str) -> str:
    return re.search(r"https://[^\s]+(/notices/off/[^\s]+)", body).group(1)


def test_one_click_link_turns_reminders_off_without_logging_in(app, world, outbox, clients):
    _set_deadline(app, world, dt.date(2027, 3, 30))
    _draft(app, world, world.piotr)
    _tick(app, at(2027, 3, 23, 8, 0))
    (_, _, body, _), = _reminder_to(outbox, "piotr@example.org")
    link = _off_link(body)
    site = clients("gmina-a")  # not logged in
    page = site.get(link).get_data(as_text=True)
    assert "Czy chcesz przestać otrzymywać te wiadomości?" in page
    # RFC 8058: the mail program POSTs to the link itself, with no CSRF token.
    done = site.post(link, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    assert "nie będziesz już otrzymywać" in done.get_data(as_text=True)
    _tick(app, at(2027, 3, 29, 7, 0))
    assert len(_reminder_to(outbox, "piotr@example.org")) == 1  # no second reminder
    # The choice is the person's, audited, and shown on their settings page.
    from core.audit.models import AuditEvent
    from core.db import db, platform_scope

    with app.app_context(), platform_scope("tests"):
        event = db.session.execute(db.select(AuditEvent).where(
            AuditEvent.action == "notices.preferences")).scalar_one()
        assert event.object_id == world.piotr
        assert event.changes == {"deadline_reminder": False}
    site.login("piotr@example.org")
    assert "checked" not in site.get("/account/notices").get_data(as_text=True)


def test_the_link_works_only_on_the_municipality_that_sent_it(app, world, outbox, clients):
    _set_deadline(app, world, dt.date(2027, 3, 30))
    _draft(app, world, world.piotr)
    _tick(app, at(2027, 3, 23, 8, 0))
    (_, _, body, _), = _reminder_to(outbox, "piotr@example.org")
    link = _off_link(body)
    assert clients("gmina-b").get(link).status_code == 404
    assert clients(None).post(link).status_code == 404
    forged = link[:-3] + ("abc" if not link.endswith("abc") else "xyz")
    assert clients("gmina-a").post(forged).status_code == 404


def test_turning_a_notice_back_on(app, world, clients):
    from core.accounts.models import User
    from core.db import db
    from core.notifications import notices

    site = clients("gmina-a")
    site.login("anna@example.org")
    site.post("/account/notices", data={})
    site.post("/account/notices", data={"notice": "deadline_reminder"})
    with app.test_request_context():
        anna = db.session.get(User, world.anna)
        assert notices.preferences(anna) == {"deadline_reminder": True}
    again = site.post("/account/notices", data={"notice": "deadline_reminder"})
    assert "Nic się nie zmieniło" in site.get(again.headers["Location"]).get_data(as_text=True)


def test_mandatory_messages_ignore_the_settings(app, world, clients, outbox):
    from core.accounts.models import User
    from core.db import db
    from core.notifications import notices

    with app.test_request_context():
        notices.set_preferences(db.session.get(User, world.anna), {"deadline_reminder": False})
        db.session.commit()
    site = clients("gmina-a")
    site.post("/reset", data={"email": "anna@example.org"})
    assert any("anna@example.org" == m[0] for m in outbox())


def test_a_plugin_declares_its_own_kind_of_notice_and_its_reminders(app_config, world, outbox,
                                                                   clients):
    """``notice_kinds`` and ``scheduled_notices`` from a plugin other than core."""
    from core import create_app
    from core.plugins.toolkit import NoticeKind, ScheduledNotice, hookimpl, warsaw_time

    class Meetups:
        @hookimpl
        def notice_kinds(self):
            return [NoticeKind("deadline_reminder", "Terminy naborów (opis wtyczki)"),
                    NoticeKind("meetup_reminder", "Przypomnienia o spotkaniach", default=False)]

        @hookimpl
        def scheduled_notices(self, tenant, now):
            if tenant.slug != "gmina-a":
                return []
            return [ScheduledNotice(
                key="meetup:1:anna", recipient="anna@example.org", template="password_reset",
                due_at=warsaw_time(dt.date(2027, 5, 10), 9), until=None,
                context={"reset_url": "https://gmina-a.mikrogranty.test/spotkanie"})]

    other = create_app(app_config, plugins={"meetups": Meetups()})
    with other.test_request_context():
        from core.notifications import notices

        kinds = notices.notice_kinds()
        assert list(kinds) == ["deadline_reminder", "meetup_reminder"]
        # As with every hook, a plugin comes before core's defaults.
        assert str(kinds["deadline_reminder"].label) == "Terminy naborów (opis wtyczki)"
    page = _settings_page(other, "piotr@example.org")
    assert "Przypomnienia o spotkaniach" in page
    assert re.search(r'value="meetup_reminder"(?![^>]*checked)', page)  # off by default
    # The plugin's reminder goes once, when its time has come.
    assert _tick(other, at(2027, 5, 10, 6, 59)).reminders == 0
    assert _tick(other, at(2027, 5, 10, 7, 0)).reminders == 1
    assert _tick(other, at(2027, 5, 10, 7, 5)).reminders == 0
    assert [m[0] for m in outbox()] == ["anna@example.org"]


def _settings_page(application, email):
    from conftest import BASE, HostClient

    site = HostClient(application, f"gmina-a.{BASE}")
    site.login(email)
    return site.get("/account/notices").get_data(as_text=True)
