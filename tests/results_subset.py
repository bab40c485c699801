"""Comparing results with a document's ``expected`` block (INTERCHANGE.md's checker rules).

Every key given must match and more keys in the results are fine; lists must match
exactly and in order, except ``rules``, where the expected ids must all be present.
"""
from __future__ import annotations


def subset_problems(expected, found, path: str = "") -> list[str]:
    """Where ``found`` does not match ``expected`` (empty: it matches)."""
    problems = []
    if isinstance(expected, dict):
        if not isinstance(found, dict):
            return [f"{path or '.'}: expected an object, got {found!r}"]
        for key, want in expected.items():
            where = f"{path}.{key}" if path else key
            if key not in found:
                problems.append(f"{where}: missing (expected {want!r})")
            elif key == "rules" and isinstance(want, list):
                missing = [r for r in want if r not in (found[key] or [])]
                if missing:
                    problems.append(f"{where}: {found[key]!r} lacks {missing!r}")
            else:
                problems += subset_problems(want, found[key], where)
        return problems
    if isinstance(expected, list):
        if expected != found:
            problems.append(f"{path}: expected {expected!r}, got {found!r}")
        return problems
    if expected != found:
        problems.append(f"{path}: expected {expected!r}, got {found!r}")
    return problems
