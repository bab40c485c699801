"""E-mail in HTML: every message has an HTML part that says what its text part says.

Mail programs show the HTML part when there is one, so it must carry every link of the
text part, be in the recipient's language throughout, name the municipality, and offer
the one-click "turn off" link only on the notices a person may turn off.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace as NS

import pytest
from babel.messages.extract import extract_from_file

from conftest import BASE, PASSWORD

ROOT = Path(__file__).resolve().parent.parent
MAIL = ROOT / "core" / "templates" / "mail"
MESSAGES = sorted(p.stem for p in MAIL.glob("*.txt") if not p.name.startswith("_"))
LOCALES = ("pl", "en", "uk")
TENANT_NAME = "Gmina Zielonka"
URL = re.compile(r"https?://[^\s<>\"]+")
UTC = dt.timezone.utc


# --- what the messages are given -------------------------------------------------------------

def _url(path: str) -> str:
    return f"https://gmina-a.{BASE}{path}"


def _cases() -> list[tuple[str, str, dict]]:
    """(case, template, context): the context each template gets from the code that sends it
    (see the send_mail calls in core/accounts, core/applicants, core/applications,
    core/evaluation and core/applications/reminders.py)."""
    call = NS(title="Zielona Zielonka 2026", ref="zz-2026",
              deadline_at=dt.datetime(2026, 5, 15, 13, 0, tzinfo=UTC))
    application = NS(id=41, title="Ogród sensoryczny przy szkole", receipt_number="ZZ/2026/0041",
                     ref="ZZ-41", call=call,
                     submitted_at=dt.datetime(2026, 5, 10, 8, 15, 30, tzinfo=UTC),
                     content_sha256="9f" * 32)
    decision = {"application": application, "call": call, "ref": "ZZ-41",
                "url": _url("/applications/41/result"),
                "results_url": _url("/calls/zz-2026/results")}
    group = {"group_name": "Sąsiedzi z Lipowej", "profile_url": _url("/profiles/5")}
    receipt = _url("/applications/41/receipt")
    broken = [NS(text="Wniosek złożono po terminie naboru", decision="confirmed", reason=None),
              NS(text="Brak podpisu opiekuna grupy", decision="overridden",
                 reason="podpis dosłany w terminie")]
    cases = [
        ("account_exists", {"login_url": _url("/login"), "reset_url": _url("/reset")}),
        ("award_declined", {**decision, "amount": Decimal("3500")}),
        ("award_offer", {**decision, "amount": Decimal("3500"), "requested": Decimal("5000")}),
        ("confirm_account", {"confirm_url": _url("/confirm/Zx81-token")}),
        ("deadline_reminder", {"call": call, "application": application, "days_left": 7,
                               "url": _url("/applications/41/summary")}),
        ("formal_accepted", {"application": application, "broken": [],
                             "note": "Prosimy o zabranie oryginału na rozmowę.",
                             "receipt_url": receipt}),
        ("formal_rejected", {"application": application, "broken": broken,
                             "note": "Termin minął 15 maja.", "receipt_url": receipt}),
        ("invitation", {"role": "evaluator", "days": 7,
                        "accept_url": _url("/invitations/accept/Qw12-token")}),
        ("password_reset", {"reset_url": _url("/reset/Rt55-token")}),
        ("patron_confirmed", {**group, "organisation_name": "Stowarzyszenie Razem"}),
        ("patron_declined", group),
        ("patron_ended", group),
        ("patron_invitation", {"group_name": "Sąsiedzi z Lipowej",
                               "inviter_email": "ola@example.org", "days": 14,
                               "confirm_url": _url("/patron/Pq77-token")}),
        ("reserve_moved_up", {**decision, "amount": Decimal("4200")}),
        ("results", {**decision, "status": "funded", "amount": Decimal("5000"),
                     "position": None, "rules": []}),
        ("stage2_invitation", {**decision, "stage": None, "slots": [
            NS(starts_at=dt.datetime(2026, 6, 2, 15, 0, tzinfo=UTC), place="Urząd Gminy, sala 12"),
            NS(starts_at=dt.datetime(2026, 6, 2, 15, 30, tzinfo=UTC), place="Urząd Gminy, sala 12")]}),
        ("submission_receipt", {"application": application, "submitted_by": "ola@example.org",
                                "receipt_url": receipt,
                                "pdf_url": _url("/applications/41/receipt.pdf")}),
    ]
    named = [(template, template, context) for template, context in cases]
    named += [
        ("results-reserve", "results", {**decision, "status": "reserve", "amount": None,
                                        "position": 2, "rules": []}),
        ("results-not-funded", "results", {**decision, "status": "excluded", "amount": None,
                                           "position": None,
                                           "rules": ["realizator ma już dofinansowany projekt"]}),
    ]
    return named


CASES = _cases()


def _english_fragments() -> set[str]:
    """The English text of every msgid the mail templates use, cut at the placeholders."""
    fragments = set()
    for path in MAIL.glob("*.*"):
        for _, message, _, _ in extract_from_file("jinja2", str(path),
                                                  options={"extensions": "jinja2.ext.do"}):
            for msgid in (message if isinstance(message, tuple) else (message,)):
                for piece in re.split(r"%\(\w+\)[sd]", msgid):
                    piece = piece.strip(" “”\"'()[]:;,.-")
                    if re.search(r"[A-Za-z]{3}", piece) and piece != "Mikrogranty":
                        fragments.add(piece)
    return fragments


ENGLISH = _english_fragments()


# --- rendering through send_mail ----------------------------------------------------------

class _Page(HTMLParser):
    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.text: list[str] = []
        self.lang = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])
        if tag == "html":
            self.lang = attrs.get("lang")

    def handle_data(self, data):
        self.text.append(data)

    @property
    def visible(self) -> str:
        return re.sub(r"\s+", " ", " ".join(self.text))


@pytest.fixture
def tenant_id(create_tenant):
    return create_tenant("gmina-a", name=TENANT_NAME, branding={"primary_color": "#7b2d26"})


@pytest.fixture
def render(app, create_user):
    """Write a message through send_mail and return what was written (then roll it back)."""
    from core.db import db, platform_scope, tenant_scope
    from core.notifications.operations import send_mail
    from core.tenancy.models import Tenant

    create_user("anna@example.org")

    def write(template, locale, context, tenant_id=None, recipient="anna@example.org"):
        with app.app_context():
            scope = tenant_scope(tenant_id) if tenant_id else platform_scope("tests")
            with scope:
                tenant = db.session.get(Tenant, tenant_id) if tenant_id else None
                message = send_mail(recipient, template, tenant=tenant, locale=locale,
                                    **dict(context))
                written = NS(subject=message.subject, text=message.body_text,
                             html=message.body_html, unsubscribe_url=message.unsubscribe_url,
                             page=_Page(message.body_html or ""))
                db.session.rollback()
        return written

    return write


def _turn_off_labels(app) -> set[str]:
    from flask_babel import force_locale, gettext

    labels = set()
    with app.app_context():
        for locale in LOCALES:
            with force_locale(locale):
                labels |= {gettext("Turn these notices off"), gettext("Notice settings")}
    return labels


# --- the checks ---------------------------------------------------------------------------

def test_every_text_message_has_an_html_part():
    assert MESSAGES, "no mail templates found"
    assert [name for name in MESSAGES if not (MAIL / f"{name}.html").exists()] == []


def test_every_message_is_checked_below():
    assert sorted({template for _, template, _ in CASES}) == MESSAGES


def test_the_english_fragments_are_found_in_english_text():
    """The leftover check below looks for real sentences, not for nothing."""
    assert "Hello" in ENGLISH
    assert "This message was sent automatically by the Mikrogranty platform" in ENGLISH


@pytest.mark.parametrize("case, template, context", CASES, ids=[c[0] for c in CASES])
def test_html_part_says_what_the_text_part_says(app, render, tenant_id, case, template, context):
    written = {locale: render(template, locale, context, tenant_id) for locale in LOCALES}
    turn_off = _turn_off_labels(app)
    for locale, message in written.items():
        page = message.page
        assert message.subject.strip(), locale
        assert message.html, f"{template}: no HTML part"
        assert page.lang == locale
        assert f'<html lang="{locale}">' in message.html
        assert TENANT_NAME in page.visible
        for part in (message.subject, message.text, message.html):
            assert "{{" not in part and "{%" not in part and "{#" not in part, (locale, part)
        links = URL.findall(message.text)
        assert links, f"{template}: the text part has no link"
        assert [link for link in links if link not in page.hrefs] == [], locale
        # Only optional notices (deadline reminders to a person with an account) offer
        # the one-click "turn off" link and the settings page.
        if message.unsubscribe_url:
            assert message.unsubscribe_url in page.hrefs
            assert _url("/account/notices") in page.hrefs
            assert any(label in page.visible for label in turn_off)
        else:
            assert [h for h in page.hrefs if "/notices" in h] == []
            assert not any(label in page.visible for label in turn_off), locale
    assert written["en"].subject != written["pl"].subject
    assert written["en"].subject != written["uk"].subject
    english_in_english = {f for f in ENGLISH if f in written["en"].page.visible}
    assert english_in_english, "the English version shows none of the English text"
    for locale in ("pl", "uk"):
        words = URL.sub(" ", written[locale].page.visible)  # addresses are not prose
        leftovers = sorted(f for f in ENGLISH if re.search(
            rf"(?<![\w]){re.escape(f)}(?![\w])", words))
        assert leftovers == [], f"{template} in {locale}: English left in the HTML"


def test_the_turn_off_link_comes_only_with_an_optional_notice(render, tenant_id):
    """A deadline reminder to a person with an account carries the link; the same reminder
    to an address without an account (nothing to turn off) and a receipt do not."""
    context = dict(next(c for name, _, c in CASES if name == "deadline_reminder"))
    reminder = render("deadline_reminder", "pl", context, tenant_id)
    assert reminder.unsubscribe_url and "/notices/off/" in reminder.unsubscribe_url
    assert reminder.unsubscribe_url in reminder.page.hrefs
    assert "Wyłącz te powiadomienia" in reminder.page.visible
    assert "Ustawienia powiadomień" in reminder.page.visible
    # The reminder's own words say why it came, as its text part does.
    assert "przypomnienia" in reminder.page.visible.lower()

    stranger = render("deadline_reminder", "pl", context, tenant_id,
                      recipient="nobody@example.org")
    assert stranger.unsubscribe_url is None
    assert "Wyłącz te powiadomienia" not in stranger.page.visible
    assert [h for h in stranger.page.hrefs if "/notices" in h] == []

    receipt = render("submission_receipt", "pl",
                     next(c for name, _, c in CASES if name == "submission_receipt"), tenant_id)
    assert "Wyłącz te powiadomienia" not in receipt.page.visible


@pytest.mark.parametrize("template", ["confirm_account", "password_reset", "account_exists"])
def test_the_operators_own_messages_are_signed_mikrogranty(render, template):
    context = next(c for name, _, c in CASES if name == template)
    for locale in LOCALES:
        message = render(template, locale, context)
        assert message.page.lang == locale
        assert "Mikrogranty" in message.page.visible
        assert TENANT_NAME not in message.page.visible
        assert [link for link in URL.findall(message.text) if link not in message.page.hrefs] \
            == []


def test_the_municipalitys_colour_is_used_and_a_plain_one_otherwise(render, tenant_id,
                                                                     create_tenant):
    context = next(c for name, _, c in CASES if name == "confirm_account")
    branded = render("confirm_account", "pl", context, tenant_id)
    assert "background-color:#7b2d26" in branded.html
    plain = render("confirm_account", "pl", context, create_tenant("gmina-b"))
    assert "#7b2d26" not in plain.html
    assert "background-color:#1d4f91" in plain.html


def test_what_people_typed_is_escaped(render, tenant_id):
    context = dict(next(c for name, _, c in CASES if name == "formal_rejected"))
    call = context["application"].call
    context["application"] = NS(id=41, title='<script>alert("x")</script> & „Ogród”',
                                receipt_number="ZZ/2026/0041", ref="ZZ-41", call=call)
    context["note"] = "<img src=x onerror=alert(1)>"
    context["broken"] = [NS(text="<b>reguła</b>", decision="overridden", reason="<i>bo</i>")]
    message = render("formal_rejected", "pl", context, tenant_id)
    for raw in ("<script", "<img", "<b>", "<i>"):
        assert raw not in message.html
    assert "&lt;script&gt;" in message.html
    assert '<script>alert("x")</script> & „Ogród”' in message.page.visible
    assert "<img src=x onerror=alert(1)>" in message.page.visible


def test_registering_writes_a_confirmation_with_an_html_part(app, clients, create_tenant):
    """End to end: the registration page's message reaches the outbox with both parts, and
    the e-mail handed to the mail server offers the HTML with the same confirmation link."""
    from core.db import Scope, db, reset_scope, set_scope
    from core.notifications.models import OutboxMessage
    from core.notifications.operations import build_email

    create_tenant("gmina-a", name=TENANT_NAME)
    response = clients("gmina-a").post("/register", data={
        "email": "jan@example.org", "password": PASSWORD, "password_again": PASSWORD})
    assert response.status_code == 200
    with app.app_context():
        token = set_scope(Scope(platform=True, reason="tests"))
        try:
            message = db.session.scalars(db.select(OutboxMessage)).one()
            email = build_email(message)
        finally:
            reset_scope(token)
    assert message.recipient == "jan@example.org"
    links = [link for link in URL.findall(message.body_text) if "/confirm/" in link]
    assert len(links) == 1 and links[0].startswith(f"https://gmina-a.{BASE}/")
    page = _Page(message.body_html or "")
    assert links[0] in page.hrefs
    assert page.lang == "pl" and TENANT_NAME in page.visible
    assert "Potwierdź swój adres e-mail" in page.visible
    html = email.get_body(preferencelist=("html",))
    assert html is not None and html.get_content_type() == "text/html"
    assert links[0] in html.get_content().replace("&amp;", "&")
