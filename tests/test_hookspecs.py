"""Every hook is documented, implemented and tested (after Datasette's test_docs/test_plugins).

Adding a hookspec to core/plugins/hookspecs.py without a docstring, an implementation
(core's defaults, the sample plugin or another plugin), a test that uses it and a word
in docs/plugins.md fails here.
"""
from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from core.plugins import defaults, hookspecs

TESTS = Path(__file__).resolve().parent
GUIDE = TESTS.parent / "docs" / "plugins.md"


def _hooks() -> dict:
    marker = "mikrogranty_spec"
    return {name: fn for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
            if hasattr(fn, marker)}


HOOKS = sorted(_hooks())


def test_there_are_hooks():
    assert {"register_variants", "register_blueprints", "menu_items", "template_slot"} <= set(HOOKS)


@pytest.mark.parametrize("name", HOOKS)
def test_hook_is_documented(name):
    spec = _hooks()[name]
    doc = inspect.getdoc(spec) or ""
    assert doc, f"hookspec {name} has no docstring"
    assert re.search(r"^Arguments:", doc, re.M), f"{name}: say 'Arguments: …'"
    assert re.search(r"^Returns:", doc, re.M), f"{name}: say 'Returns: …'"
    firstresult = spec.mikrogranty_spec.get("firstresult")
    if firstresult:
        assert re.search(r"first (non-None )?result", doc, re.I), \
            f"{name} is firstresult: say that the first result wins"
    else:
        assert re.search(r"\bcollected\b|called for every plugin", doc, re.I), \
            f"{name}: say that results are collected (or that every plugin is called)"
    for argument in inspect.signature(spec).parameters:
        assert f"``{argument}``" in doc, f"{name}: document the argument ``{argument}``"


@pytest.mark.parametrize("name", HOOKS)
def test_hook_is_implemented_by_a_plugin(app, name):
    """By core's defaults or the sample plugin (or a built-in plugin of the app)."""
    from mikrogranty_sample import plugin as sample

    pm = app.extensions["mikrogranty.plugins"]
    implementers = {pm.get_name(impl.plugin) for impl in getattr(pm.hook, name).get_hookimpls()}
    assert implementers, f"no plugin implements {name}"
    assert hasattr(sample, name) or hasattr(defaults, name) or implementers - {"sample"}, name


@pytest.mark.parametrize("name", HOOKS)
def test_hook_is_exercised_by_a_test(name):
    texts = [p.read_text("utf-8") for p in TESTS.glob("test_*.py") if p.name != Path(__file__).name]
    assert any(re.search(rf"\b{name}\b", text) for text in texts), \
        f"no test mentions the hook {name}; add one (see tests/test_plugins.py)"


@pytest.mark.parametrize("name", HOOKS)
def test_hook_is_in_the_plugin_guide(name):
    assert f"`{name}" in GUIDE.read_text("utf-8"), f"docs/plugins.md does not explain {name}"


def test_sample_plugin_implements_only_real_hooks():
    """The guide's example is also a check that its hook names are spelt right."""
    from mikrogranty_sample import plugin as sample

    implemented = {name for name, fn in inspect.getmembers(sample, inspect.isfunction)
                   if hasattr(fn, "mikrogranty_impl")}
    assert implemented and implemented <= set(HOOKS)
