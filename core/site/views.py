"""The tenant's public site."""
from __future__ import annotations

from flask import Blueprint, g, render_template

from core.accounts.permissions import host_scope, public
from core.applications.operations import open_calls
from core.calls.views import deadline_text
from core.tenancy.operations import available_variants, unavailable_variants

bp = host_scope(Blueprint("site", __name__), "tenant")


@bp.get("/")
@public
def home():
    return render_template("site/home.html", variants=available_variants(g.tenant),
                           calls=open_calls(), deadline_text=deadline_text,
                           unavailable=unavailable_variants(g.tenant))
