"""Tenant definitions kept as data: ``tenants/<slug>/tenant.toml``.

``flask tenants sync`` reads every file, checks them all, and only then writes; a
malformed file stops the sync with its path and line, and nothing is changed.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from core.errors import ValidationError

ALLOWED_KEYS = {"slug", "name", "hosts", "locales", "variants", "settings", "branding", "defaults"}
LIST_KEYS = {"hosts", "locales", "variants"}
TABLE_KEYS = {"settings", "branding", "defaults"}


class TenantFileError(Exception):
    """A tenant.toml that cannot be used; the message names the file and the line."""

    def __init__(self, path: Path, line: int | None, message: str):
        self.path, self.line = path, line
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {message}")


@dataclass
class TenantDefinition:
    path: Path
    values: dict

    @property
    def slug(self) -> str:
        return self.values["slug"]


def _line_of(text: str, key: str) -> int | None:
    pattern = re.compile(rf"^[ \t]*(\[\s*{re.escape(key)}[\].]|{re.escape(key)}\s*=)", re.M)
    match = pattern.search(text)
    return text.count("\n", 0, match.start()) + 1 if match else None


def read_definition(path: Path) -> TenantDefinition:
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise TenantFileError(path, int(match.group(1)) if match else None, str(exc)) from exc
    slug = path.parent.name
    for key, value in data.items():
        if key not in ALLOWED_KEYS:
            raise TenantFileError(path, _line_of(text, key), (
                f"unknown key '{key}' (allowed: {', '.join(sorted(ALLOWED_KEYS))})"))
        if key in LIST_KEYS and not (isinstance(value, list)
                                     and all(isinstance(v, str) for v in value)):
            raise TenantFileError(path, _line_of(text, key), f"'{key}' must be a list of strings")
        if key in TABLE_KEYS and not isinstance(value, dict):
            raise TenantFileError(path, _line_of(text, key), f"'{key}' must be a table")
    if "slug" in data and data["slug"] != slug:
        raise TenantFileError(path, _line_of(text, "slug"), (
            f"slug '{data['slug']}' differs from the folder name '{slug}'"))
    if not isinstance(data.get("name"), str) or not data["name"].strip():
        raise TenantFileError(path, _line_of(text, "name"), "'name' (a string) is required")
    values = {"slug": slug, "name": data["name"], "hosts": data.get("hosts", []),
              "locales": data.get("locales", ["pl", "en", "uk"]),
              "variants": data.get("variants", []), "branding": data.get("branding", {}),
              "settings": {**data.get("settings", {}), "defaults": data.get("defaults", {})}}
    return TenantDefinition(path=path, values=values)


def read_all(folder: Path) -> list[TenantDefinition]:
    return [read_definition(p) for p in sorted(Path(folder).glob("*/tenant.toml"))]


def check_definition(definition: TenantDefinition, tenant=None) -> None:
    """Run the same validation as the console form; errors name the file and the line."""
    from .operations import validate

    text = definition.path.read_text(encoding="utf-8")
    try:
        validate(definition.values, tenant)
    except ValidationError as exc:
        field, messages = next(iter(exc.errors.items()))
        raise TenantFileError(definition.path, _line_of(text, field),
                              f"{field}: {'; '.join(str(m) for m in messages)}") from exc
