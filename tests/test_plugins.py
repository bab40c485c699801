"""Plugins: the sample third-party plugin end to end, and the promised start-up failures.

The sample plugin (tests/sample_plugin, the example of docs/plugins.md) is found through
the entry point its pyproject.toml declares, exactly as an installed package would be.
"""
from __future__ import annotations

import ast
import importlib.metadata
import re
import shutil
import sys
import textwrap

import pytest
import sqlalchemy as sa

from conftest import BASE, PASSWORD, SAMPLE_PLUGIN
from core.plugins.toolkit import Variant, hookimpl

PACKAGE = SAMPLE_PLUGIN / "mikrogranty_sample"
ROOT = SAMPLE_PLUGIN.parent.parent
CATALOGUES = PACKAGE / "translations"


def _notes(app, tenant_id, *titles):
    from core.db import db, tenant_scope
    from mikrogranty_sample.models import SampleNote

    with app.app_context(), tenant_scope(tenant_id):
        notes = [SampleNote(title=title) for title in titles]
        db.session.add_all(notes)
        db.session.commit()
        return [note.id for note in notes]


@pytest.fixture
def catalogues():
    """The plugin's compiled catalogues (`make translations` builds them; .mo is not in git)."""
    for lang in ("pl", "uk"):
        mo = CATALOGUES / lang / "LC_MESSAGES" / "messages.mo"
        assert mo.exists(), f"{mo} is missing: run `make translations` first"


# --- discovery ---------------------------------------------------------------------------

def test_sample_plugin_is_found_through_its_entry_point(app):
    points = {ep.name: ep for ep in importlib.metadata.entry_points(group="mikrogranty.plugins")}
    assert points["sample"].value == "mikrogranty_sample.plugin"
    assert points["sample"].dist.name == "mikrogranty-sample"

    pm = app.extensions["mikrogranty.plugins"]
    loaded = pm.loaded["sample"]
    assert loaded.module.__name__ == "mikrogranty_sample.plugin"
    assert (loaded.distribution, loaded.version) == ("mikrogranty-sample", "0.1.0")
    # register_variants: the variant is known, and owned by the plugin that claimed it.
    assert loaded.variants == ["sample_grant"]
    assert pm.variant("sample_grant").plugin == "sample"


def test_plugins_list_shows_the_sample_plugin_and_its_variant(app):
    result = app.test_cli_runner().invoke(args=["plugins", "list"])
    assert result.exit_code == 0, result.output
    assert "sample\tmikrogranty-sample 0.1.0\tvariants: sample_grant" in result.output


def test_enabled_plugins_chooses_which_installed_plugins_load(make_app):
    without = make_app(ENABLED_PLUGINS=[])
    pm = without.extensions["mikrogranty.plugins"]
    assert "sample" not in pm.loaded and pm.variant("sample_grant") is None
    assert not [r for r in without.url_map.iter_rules() if r.endpoint.startswith("sample.")]

    with_sample = make_app(ENABLED_PLUGINS=["sample"])
    assert list(with_sample.extensions["mikrogranty.plugins"].loaded) == ["sample"]
    assert "sample.notes" in {r.endpoint for r in with_sample.url_map.iter_rules()}


def test_sample_plugin_imports_only_from_the_toolkit():
    """Of core, a plugin may import only core.plugins.toolkit (migrations not even that)."""
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                     else [])
            for name in names:
                if name == "core" or name.startswith("core."):
                    assert name == "core.plugins.toolkit" and "migrations" not in path.parts, \
                        f"{path.relative_to(SAMPLE_PLUGIN)} imports {name}"


# --- routes (register_blueprints) ----------------------------------------------------------

def test_notes_are_listed_on_their_tenant_host_only(app, create_tenant, clients, catalogues):
    a = create_tenant("gmina-a", variants=["sample_grant"])
    b = create_tenant("gmina-b", variants=["sample_grant"])
    first, second = _notes(app, a, "Festyn w parku", "Ławki przy stawie")
    _notes(app, b, "Notatka gminy B")

    page = clients("gmina-a").get("/sample/notes")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Festyn w parku" in body and "Ławki przy stawie" in body
    assert "Notatka gminy B" not in body
    assert "2 notatki" in body  # ngettext with the Polish plural forms of the plugin's catalogue

    assert clients("gmina-a").get(f"/sample/notes/{first}").status_code == 200
    other = clients("gmina-b").get(f"/sample/notes/{first}")
    assert other.status_code == 404
    assert "Festyn w parku" not in other.get_data(as_text=True)
    assert clients("gmina-a").get("/sample/notes/999999").status_code == 404


def test_notes_are_not_served_on_the_operator_host(app, clients):
    assert clients(None).get("/sample/notes").status_code == 404


def test_adding_a_note_needs_tenant_manage_and_is_audited(app, create_tenant, create_user,
                                                           clients, catalogues):
    from core.audit.models import AuditEvent
    from core.db import db, tenant_scope
    from mikrogranty_sample.models import SampleNote

    a = create_tenant("gmina-a", variants=["sample_grant"])
    admin = create_user("wojt@example.org", roles=["admin"])
    create_user("mieszkanka@example.org", roles=["applicant"])

    anonymous = clients("gmina-a").post("/sample/notes", data={"title": "X"})
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]

    applicant = clients("gmina-a")
    applicant.login("mieszkanka@example.org", PASSWORD)
    assert applicant.post("/sample/notes", data={"title": "X"}).status_code == 403

    site = clients("gmina-a")
    site.login("wojt@example.org")
    empty = site.post("/sample/notes", data={"title": ""})
    assert empty.status_code == 422
    assert "Nadaj notatce tytuł." in empty.get_data(as_text=True)

    too_long = site.post("/sample/notes", data={"title": "x" * 201})
    assert "Tytuł jest za długi (najwyżej 200 znaków)." in too_long.get_data(as_text=True)

    added = site.post("/sample/notes", data={"title": "Zebranie wiejskie"})
    assert added.status_code == 302
    with app.app_context(), tenant_scope(a):
        note = db.session.execute(db.select(SampleNote)).scalar_one()
        assert note.title == "Zebranie wiejskie" and note.tenant_id == a
        event = db.session.execute(db.select(AuditEvent).where(
            AuditEvent.action == "sample.note_created")).scalar_one()
        assert (event.actor_id, event.object_type, event.object_id) == (
            admin, "SampleNote", note.id)
        assert event.changes == {"title": "Zebranie wiejskie"}
    assert added.headers["Location"].endswith(f"/sample/notes/{note.id}")
    assert "Notatka została dodana." in site.get(added.headers["Location"]).get_data(as_text=True)


def test_every_sample_view_declares_its_permission(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("sample."):
            assert getattr(app.view_functions[rule.endpoint], "permission", None), rule


# --- pages: template_slot, menu_items, translations ---------------------------------------

def test_home_slot_menu_and_variant_label_in_polish(app, create_tenant, clients, catalogues):
    create_tenant("gmina-a", variants=["sample_grant"])
    body = clients("gmina-a").get("/").get_data(as_text=True)
    assert '<html lang="pl">' in body
    # template_slot("home"): the plugin's template, translated by the plugin's catalogue.
    assert "Gmina publikuje krótkie notatki o swoich mikrograntach." in body
    # menu_items: the plugin's entry, translated, pointing to its blueprint.
    assert '<a href="/sample/notes">Notatki</a>' in body
    # register_variants: the lazily translated label on the list of programmes.
    assert "Grant przykładowy" in body


def test_tenant_without_the_variant_shows_nothing_of_the_plugin(app, create_tenant, clients,
                                                                catalogues):
    create_tenant("gmina-b")
    body = clients("gmina-b").get("/").get_data(as_text=True)
    assert "krótkie notatki" not in body and "/sample/notes" not in body


def test_ukrainian_catalogue_of_the_plugin(app, create_tenant, clients, catalogues):
    create_tenant("gmina-u", variants=["sample_grant"], locales=["uk", "pl"])
    body = clients("gmina-u").get("/").get_data(as_text=True)
    assert "Ґміна публікує короткі нотатки про свої мікрогранти." in body
    assert "Зразковий грант" in body


def test_translation_dirs_merge_the_plugin_catalogue_over_core(app, catalogues):
    from core.plugins import toolkit

    pm = app.extensions["mikrogranty.plugins"]
    plugin_dirs = [d for result in pm.hook.translation_dirs() for d in result]
    assert str(CATALOGUES) in plugin_dirs
    directories = app.extensions["babel"].translation_directories
    assert directories.index(str(CATALOGUES)) > 0  # core's own catalogue comes first
    with app.test_request_context():  # no tenant: the default language, Polish
        assert toolkit.gettext("Sample grant") == "Grant przykładowy"
        assert [toolkit.ngettext("%(num)d note", "%(num)d notes", n) for n in (1, 3, 5, 22)] \
            == ["1 notatka", "3 notatki", "5 notatek", "22 notatki"]


# --- commands (register_commands) --------------------------------------------------------

def test_plugin_command_lists_one_tenants_notes(app, create_tenant):
    a = create_tenant("gmina-a", variants=["sample_grant"])
    b = create_tenant("gmina-b")
    (note,) = _notes(app, a, "Sprzątanie lasu")
    _notes(app, b, "Notatka gminy B")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["sample", "notes", "gmina-a"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{note}\tSprzątanie lasu"
    missing = runner.invoke(args=["sample", "notes", "nie-ma"])
    assert missing.exit_code == 1 and "nie-ma" in missing.output


# --- migrations (migration_dirs) -----------------------------------------------------------

def _script_head(folder) -> str:
    from alembic.script import ScriptDirectory

    from core.cli import plugin_alembic_config

    config = plugin_alembic_config("sample", str(folder))
    return ScriptDirectory.from_config(config).get_current_head()


def test_sample_table_and_its_version_table_exist_after_upgrade(app):
    from core.db import db

    pm = app.extensions["mikrogranty.plugins"]
    dirs = {k: v for result in pm.hook.migration_dirs() for k, v in result.items()}
    assert dirs["sample"] == str(PACKAGE / "migrations" / "versions")
    with app.app_context():
        inspector = sa.inspect(db.engine)
        assert {"sample_note", "alembic_version_sample", "alembic_version"} <= set(
            inspector.get_table_names())
        assert {c["name"] for c in inspector.get_columns("sample_note")} == {
            "id", "title", "created_at", "tenant_id"}
        assert inspector.get_pk_constraint("sample_note")["name"] == "pk_sample_note"
        assert [fk["name"] for fk in inspector.get_foreign_keys("sample_note")] == [
            "fk_sample_note_tenant_id_tenant"]
        assert [ix["name"] for ix in inspector.get_indexes("sample_note")] == [
            "ix_sample_note_tenant_id"]
        with db.engine.connect() as conn:
            plugin_version = conn.execute(
                sa.text("SELECT version_num FROM alembic_version_sample")).scalars().all()
            core_version = conn.execute(
                sa.text("SELECT version_num FROM alembic_version")).scalars().all()
        assert plugin_version == [_script_head(dirs["sample"])]
        assert plugin_version[0] not in core_version
    # Upgrading again is a no-op for core and for every plugin.
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output


def test_plugin_revision_autogenerates_only_the_plugins_tables(make_app, tmp_path, monkeypatch):
    """`flask db plugin-revision sample --autogenerate` on a database with core only."""
    from flask_migrate import upgrade

    import core.cli
    from core.config import ROOT

    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    folder = tmp_path / "versions"
    folder.mkdir()
    monkeypatch.setattr(core.cli, "plugin_migration_dirs", lambda: {"sample": str(folder)})
    import sql_guard

    with app.app_context(), sql_guard.allowed():
        upgrade(directory=str(ROOT / "migrations"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["db", "plugin-revision", "sample", "-m", "sample note",
                                 "--autogenerate"])
    assert result.exit_code == 0, result.output
    (script,) = folder.glob("*.py")
    text = script.read_text("utf-8")
    assert "op.create_table('sample_note'" in text
    assert "down_revision = None" in text
    # Core's tables belong to core's migrations, never to a plugin's.
    assert "create_table('tenant'" not in text and "create_table('membership'" not in text

    unknown = runner.invoke(args=["db", "plugin-revision", "nope", "-m", "x"])
    assert unknown.exit_code != 0 and "nope" in unknown.output


def test_plugin_revision_writes_nothing_when_the_models_match(app, tmp_path, monkeypatch):
    import core.cli

    folder = tmp_path / "versions"
    shutil.copytree(PACKAGE / "migrations" / "versions", folder)
    before = sorted(p.name for p in folder.glob("*.py"))
    monkeypatch.setattr(core.cli, "plugin_migration_dirs", lambda: {"sample": str(folder)})
    result = app.test_cli_runner().invoke(args=["db", "plugin-revision", "sample", "-m", "nothing",
                                                "--autogenerate"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in folder.glob("*.py")) == before


# --- start-up refuses broken plugin sets ------------------------------------------------

def _start(app_config, enabled, plugins=None):
    from core import StartupError, create_app

    with pytest.raises(StartupError) as info:
        create_app({**app_config, "ENABLED_PLUGINS": enabled}, plugins=plugins)
    message = str(info.value)
    assert message.startswith("Mikrogranty cannot start: ")
    return message


def _install(tmp_path, monkeypatch, name: str, module: str, source: str) -> None:
    """Install a one-module plugin with an entry point, as pip would (in tmp_path)."""
    site = tmp_path / "site"
    dist = site / f"{module}-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[mikrogranty.plugins]\n{name} = {module}\n")
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, module, raising=False)


def test_enabled_plugin_that_is_not_installed_stops_start_up(app_config):
    message = _start(app_config, ["sample", "lublin_budzet"])
    assert "'lublin_budzet'" in message and "not installed" in message
    assert "sample" in message  # it lists what is installed


def test_plugin_whose_import_fails_stops_start_up(app_config, tmp_path, monkeypatch):
    _install(tmp_path, monkeypatch, "zepsuty", "mikrogranty_zepsuty", """
        import mikrogranty_missing_dependency
    """)
    for enabled in (["zepsuty"], None):  # named, or found among all installed plugins
        message = _start(app_config, enabled)
        assert "'zepsuty'" in message and "failed to load" in message
        assert "ModuleNotFoundError" in message and "mikrogranty_missing_dependency" in message


class MisspeltHook:
    @hookimpl
    def menu_itemz(self, tenant, user):
        return []


class WrongArguments:
    @hookimpl
    def template_slot(self, slot, tenant, person):
        return None


def test_plugin_implementing_an_unknown_hook_stops_start_up(app_config):
    message = _start(app_config, ["literowka"], plugins={"literowka": MisspeltHook()})
    assert "'literowka'" in message and "menu_itemz" in message
    assert "hook that does not exist" in message


def test_plugin_with_wrong_hook_arguments_stops_start_up(app_config):
    message = _start(app_config, ["argumenty"], plugins={"argumenty": WrongArguments()})
    assert "'argumenty'" in message and "template_slot" in message and "person" in message


class Copycat:
    @hookimpl
    def register_variants(self):
        return [Variant("sample_grant", "Another sample grant")]


def test_two_plugins_claiming_one_variant_stop_start_up(app_config):
    message = _start(app_config, ["sample", "kopia"], plugins={"kopia": Copycat()})
    assert "'sample_grant'" in message
    assert "'sample'" in message and "'kopia'" in message
    # Found the same way when every installed plugin is enabled.
    message = _start(app_config, None, plugins={"kopia": Copycat()})
    assert "'sample'" in message and "'kopia'" in message


def test_a_good_extra_plugin_starts(app_config):
    from core import create_app

    class Quiet:
        @hookimpl
        def template_slot(self, slot, tenant, user):
            return None

    app = create_app({**app_config, "ENABLED_PLUGINS": ["cichy"]}, plugins={"cichy": Quiet()})
    assert list(app.extensions["mikrogranty.plugins"].loaded) == ["cichy"]


def test_shipped_files_exist():
    """The package data the pyproject.toml ships: templates, catalogues, migrations."""
    assert (PACKAGE / "templates" / "sample" / "slot.html").exists()
    languages = {p.parent.parent.name for p in CATALOGUES.glob("*/LC_MESSAGES/messages.po")}
    assert languages == {"pl", "uk"}
    assert [p.name for p in (PACKAGE / "migrations" / "versions").glob("*.py")]
    project = (SAMPLE_PLUGIN / "pyproject.toml").read_text("utf-8")
    assert 'sample = "mikrogranty_sample.plugin"' in project


# --- every hook, called directly -------------------------------------------------------

def test_each_hook_answers_for_the_sample_plugin_and_core(app):
    """One call per hook through the plugin manager (tests/test_hookspecs.py wants each named)."""
    from types import SimpleNamespace

    from flask.cli import AppGroup

    pm = app.extensions["mikrogranty.plugins"]
    anonymous = SimpleNamespace(is_authenticated=False)
    running = SimpleNamespace(id=1, variants=["sample_grant"])
    other = SimpleNamespace(id=2, variants=[])

    assert "sample_grant" in {v.key for result in pm.hook.register_variants() for v in result}
    assert "sample" in {bp.name for result in pm.hook.register_blueprints(app=app)
                        for bp in result or []}
    group = AppGroup("probe")
    pm.hook.register_commands(cli=group)
    assert "sample" in group.commands
    assert str(CATALOGUES) in [d for result in pm.hook.translation_dirs() for d in result]
    assert {k: v for result in pm.hook.migration_dirs() for k, v in result.items()}["sample"] \
        == str(PACKAGE / "migrations" / "versions")

    def endpoints(tenant):
        return {item.endpoint for result in pm.hook.menu_items(tenant=tenant, user=anonymous)
                for item in result or []}

    assert {"sample.notes", "site.home"} <= endpoints(running)  # the plugin's and core's
    assert "sample.notes" not in endpoints(other)
    # the operator's console: core only
    assert endpoints(None) == {"console.tenants", "console.jobs_page"}

    with app.test_request_context(base_url=f"https://gmina-a.{BASE}"):
        home = [p for p in pm.hook.template_slot(slot="home", tenant=running, user=anonymous) if p]
        assert len(home) == 1 and 'href="/sample/notes"' in home[0]
        assert not any(pm.hook.template_slot(slot="home", tenant=other, user=anonymous))
        assert not any(pm.hook.template_slot(slot="footer", tenant=running, user=anonymous))


# --- the guide --------------------------------------------------------------------------

def test_the_guide_quotes_the_sample_plugin_verbatim():
    """docs/plugins.md quotes the files the tests run: ```lang title="path" blocks."""
    guide = (ROOT / "docs" / "plugins.md").read_text("utf-8")
    blocks = re.findall(r'```\w+ title="([^"]+)"\n(.*?)\n```', guide, re.S)
    quoted = {path for path, _ in blocks}
    for name in ("pyproject.toml", "mikrogranty_sample/plugin.py", "mikrogranty_sample/models.py",
                 "mikrogranty_sample/views.py", "mikrogranty_sample/templates/sample/slot.html",
                 "mikrogranty_sample/translations/pl/LC_MESSAGES/messages.po"):
        assert f"tests/sample_plugin/{name}" in quoted, name
    assert any("/migrations/versions/" in path for path in quoted)
    for path, block in blocks:
        assert block in (ROOT / path).read_text("utf-8"), f"docs/plugins.md: {path} is out of date"
    for must in ("core.plugins.toolkit", "ENABLED_PLUGINS", "never add columns to core tables",
                 "plugin-revision sample", "alembic_version_sample", "pybabel compile"):
        assert must in guide, must
