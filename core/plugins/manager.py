"""Finding, enabling and checking plugins.

Plugins are found through the ``mikrogranty.plugins`` entry point group and enabled by
name (``ENABLED_PLUGINS``; unset means every installed plugin).  Start-up is refused
with a clear message when an enabled plugin is missing or broken, when it implements
a hook that does not exist, or when it claims a variant key another plugin already has.
"""
from __future__ import annotations

import importlib.metadata
import traceback
from dataclasses import dataclass, field

import pluggy

from . import defaults, hookspecs

ENTRY_POINT_GROUP = "mikrogranty.plugins"


class PluginError(RuntimeError):
    """A plugin could not be loaded; the message says which and why."""


@dataclass
class LoadedPlugin:
    name: str
    module: object
    distribution: str | None = None
    version: str | None = None
    variants: list = field(default_factory=list)


class PluginManager(pluggy.PluginManager):
    def __init__(self):
        super().__init__("mikrogranty")
        self.add_hookspecs(hookspecs)
        self.loaded: dict[str, LoadedPlugin] = {}
        self.variants: dict = {}

    def variant(self, key: str):
        return self.variants.get(key)


def available_entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def load_plugins(enabled: list[str] | None = None, extra: dict | None = None) -> PluginManager:
    """Build the plugin manager.

    ``enabled``: plugin names to load (``None``: every installed one).  ``extra``: name →
    module or object, registered as if found through an entry point (used by tests).
    """
    pm = PluginManager()
    pm.register(defaults, name="core.defaults")
    found = available_entry_points()
    names = list(found) if enabled is None else list(enabled)
    if extra:
        names += [name for name in extra if name not in names and enabled is None]
    for name in names:
        if extra and name in extra:
            module = extra[name]
            dist = None
        elif name in found:
            ep = found[name]
            try:
                module = ep.load()
            except Exception as exc:  # any import error of a plugin stops start-up
                raise PluginError(
                    f"Plugin '{name}' ({ep.value}) failed to load: "
                    f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}") from exc
            dist = ep.dist
        else:
            installed = ", ".join(sorted(found)) or "none"
            raise PluginError(
                f"Plugin '{name}' is enabled in ENABLED_PLUGINS but not installed "
                f"(installed plugins: {installed}). Install its package or remove it "
                f"from ENABLED_PLUGINS.")
        try:
            pm.register(module, name=name)
        except pluggy.PluginValidationError as exc:  # a hook with arguments its spec lacks
            raise PluginError(f"Plugin '{name}' implements a hook wrongly: {exc}. "
                              f"See core/plugins/hookspecs.py for the hooks.") from exc
        except ValueError as exc:
            raise PluginError(f"Plugin '{name}' could not be registered: {exc}") from exc
        pm.loaded[name] = LoadedPlugin(name=name, module=module,
                                       distribution=dist.name if dist else None,
                                       version=dist.version if dist else None)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        name = pm.get_name(exc.plugin) or str(exc.plugin)
        raise PluginError(f"Plugin '{name}' implements a hook that does not exist: {exc}. "
                          f"See core/plugins/hookspecs.py for the hooks.") from exc
    _collect_variants(pm)
    return pm


def _collect_variants(pm: PluginManager) -> None:
    for impl in pm.hook.register_variants.get_hookimpls():
        name = pm.get_name(impl.plugin)
        for variant in impl.function() or []:
            owner = pm.variants.get(variant.key)
            if owner is not None:
                raise PluginError(
                    f"Plugin '{name}' claims the variant '{variant.key}', which plugin "
                    f"'{owner.plugin}' already provides. Enable only one of them.")
            variant.plugin = name
            pm.variants[variant.key] = variant
            if name in pm.loaded:
                pm.loaded[name].variants.append(variant.key)
