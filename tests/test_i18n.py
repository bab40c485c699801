"""Languages: every string goes through the catalogues; Polish is complete, with its plural forms."""
from __future__ import annotations

import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"


def _catalog(lang):
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=lang)


def test_template_is_up_to_date_with_the_code(tmp_path):
    """`make extract` has been run: no string in the code is missing from messages.pot."""
    fresh = tmp_path / "messages.pot"
    subprocess.run([str(Path(sys.executable).with_name("pybabel")), "--quiet", "extract",
                    "-F", str(TRANSLATIONS / "babel.cfg"), "-k", "_l", "-k", "lazy_gettext",
                    "--no-location", "-o", str(fresh), "core"], cwd=ROOT, check=True)
    with open(fresh, "rb") as f:
        in_code = {m.id for m in read_po(f) if m.id}
    with open(TRANSLATIONS / "messages.pot", "rb") as f:
        in_template = {m.id for m in read_po(f) if m.id}
    assert sorted(map(str, in_code - in_template)) == []


@pytest.mark.parametrize("lang", ["pl", "uk"])
def test_every_message_is_translated(lang):
    with open(TRANSLATIONS / "messages.pot", "rb") as f:
        wanted = {m.id for m in read_po(f) if m.id}
    catalog = _catalog(lang)
    done = {m.id for m in catalog if m.id and not m.fuzzy and (
        all(m.string) if isinstance(m.string, tuple) else m.string)}
    assert sorted(map(str, wanted - done)) == []


@pytest.mark.parametrize("n, expected", [(1, "1 osoba"), (2, "2 osoby"), (4, "4 osoby"),
                                         (5, "5 osób"), (12, "12 osób"), (21, "21 osób"),
                                         (22, "22 osoby"), (25, "25 osób"), (0, "0 osób")])
def test_polish_plural_forms(app, n, expected):
    from flask_babel import force_locale, ngettext

    with app.test_request_context(), force_locale("pl"):
        assert ngettext("%(num)d person", "%(num)d people", n) == expected


def test_ukrainian_plural_forms(app):
    from flask_babel import force_locale, ngettext

    with app.test_request_context(), force_locale("uk"):
        assert [ngettext("%(num)d person", "%(num)d people", n) for n in (1, 3, 5, 21)] == \
            ["1 особа", "3 особи", "5 осіб", "21 особа"]


@pytest.mark.parametrize("amount, locale, expected", [
    (Decimal("4000"), "pl", "4\u00a0000,00\u00a0zł"),
    (Decimal("38000.5"), "pl", "38\u00a0000,50\u00a0zł"),
    (400000, "pl", "4\u00a0000,00\u00a0zł"),  # integer grosze
    (Decimal("4000"), "en", "PLN\u00a04,000.00"),
    (Decimal("4000"), "uk", "4\u00a0000,00\u00a0zł"),
])
def test_money_in_local_style(app, amount, locale, expected):
    from core.i18n import format_money

    assert format_money(amount, locale=locale).replace("PLN4", "PLN\u00a04") == expected


def test_money_is_never_a_float(app):
    from core.i18n import format_money

    with pytest.raises(TypeError):
        format_money(4000.0, locale="pl")


def test_dates_are_polish_and_in_warsaw_time(app):
    import datetime as dt

    from flask_babel import force_locale, format_date, format_datetime

    with app.test_request_context(), force_locale("pl"):
        assert format_date(dt.date(2025, 3, 12), "long") == "12 marca 2025"
        # 23:30 UTC on 31 March is already 1 April in Warsaw (summer time).
        utc = dt.datetime(2025, 3, 31, 23, 30, tzinfo=dt.timezone.utc)
        assert format_datetime(utc, "d MMMM y, HH:mm") == "1 kwietnia 2025, 01:30"


# --- every catalogue, core and plugins ---------------------------------------------------

CATALOGUE_ROOTS = [TRANSLATIONS] + sorted(p / "translations" for p in (ROOT / "plugins").iterdir()
                                          if (p / "translations" / "messages.pot").exists())


def _wanted(root):
    with open(root / "messages.pot", "rb") as f:
        return {m.id for m in read_po(f) if m.id}


def _translated(message) -> bool:
    return all(message.string) if isinstance(message.string, tuple) else bool(message.string)


@pytest.mark.parametrize("root", CATALOGUE_ROOTS, ids=lambda p: str(p.relative_to(ROOT)))
@pytest.mark.parametrize("lang", ["pl", "en", "uk"])
def test_no_message_is_missing_or_fuzzy_in_any_catalogue(root, lang):
    """pl and uk translate every message; en may leave msgstr empty (the msgids are English)
    but, like the others, has no fuzzy entries, which would show guesses to people."""
    path = root / lang / "LC_MESSAGES" / "messages.po"
    with open(path, "rb") as f:
        catalog = read_po(f, locale=lang)
    present = {m.id: m for m in catalog if m.id}
    assert sorted(map(str, _wanted(root) - set(present))) == [], f"{path}: not in the catalogue"
    assert sorted(str(k) for k, m in present.items() if m.fuzzy) == [], f"{path}: fuzzy"
    if lang != "en":
        assert sorted(str(k) for k in _wanted(root) if not _translated(present[k])) == [], \
            f"{path}: untranslated"


# --- templates: no user-visible text outside the translation functions --------------------

# Names, abbreviations and symbols that read the same in every language.
NOT_WORDS = {"Mikrogranty", "PDF", "KRS", "NIP", "REGON", "IBAN", "PLN", "zł", "SHA"}
TEMPLATES = sorted(ROOT.glob("core/templates/**/*.html")) + sorted(
    ROOT.glob("plugins/*/templates/**/*.html"))
_VISIBLE_ATTRIBUTE = re.compile(r'\b(?:aria-label|title|placeholder|alt)="([^"]*)"')


def _words(text: str) -> list[str]:
    text = re.sub(r"&#?\w+;", " ", text)
    return [w for w in re.findall(r"[^\W\d_]+", text) if w not in NOT_WORDS]


def untranslated_text(source: str) -> list[str]:
    """Text a person would read that is written straight into the template."""
    source = re.sub(r"{#.*?#}", " ", source, flags=re.S)
    source = re.sub(r"{{.*?}}|{%.*?%}", " ", source, flags=re.S)
    source = re.sub(r"<(script|style)\b.*?</\1>", " ", source, flags=re.S | re.I)
    source = re.sub(r"<!--.*?-->", " ", source, flags=re.S)
    found = [value for value in _VISIBLE_ATTRIBUTE.findall(source) if _words(value)]
    text = re.sub(r"<[^>]*>", "\n", source, flags=re.S)
    found += [line.strip() for line in text.split("\n") if _words(line)]
    return found


def test_the_template_checker_finds_bare_text():
    assert untranslated_text('<p>{{ _("Hello") }} 12,50 &nbsp;–</p>') == []
    assert untranslated_text("<p>{{ x }} Witaj</p>") == ["Witaj"]
    assert untranslated_text('<a title="Zamknij" href="#">{{ _("x") }}</a>') == ["Zamknij"]
    assert untranslated_text("<p>Mikrogranty · PDF</p>") == []


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_templates_have_no_text_outside_the_translation_functions(path):
    assert untranslated_text(path.read_text("utf-8")) == []
