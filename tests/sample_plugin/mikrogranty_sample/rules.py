"""Pure functions of the variant: no database, no request, easy to unit-test."""
from __future__ import annotations

KEY = "sample"                 # the plugin's key: its tables are named sample_*
VARIANT_KEY = "sample_grant"   # the regulation variant a tenant enables (tenant.toml "variants")
TITLE_MAX = 200


def enabled_for(tenant) -> bool:
    """Whether ``tenant`` runs this variant (its menu entry and home-page box show only then)."""
    return bool(tenant) and VARIANT_KEY in (tenant.variants or [])
