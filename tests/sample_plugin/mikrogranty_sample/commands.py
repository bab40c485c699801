"""``flask sample …``: the plugin's command-line commands."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from core.plugins.toolkit import db, find_tenant, tenant_scope

from .models import SampleNote

sample_cli = AppGroup("sample", help="The sample plugin's notes.")


@sample_cli.command("notes")
@click.argument("slug")
def list_notes(slug):
    """Show the notes of the municipality SLUG."""
    tenant = find_tenant(slug)
    if tenant is None:
        raise click.ClickException(f"No municipality '{slug}'.")
    with tenant_scope(tenant):  # a command names its tenant; the filter does the rest
        notes = db.session.scalars(db.select(SampleNote).order_by(SampleNote.id)).all()
    if not notes:
        click.echo(f"No notes in {slug}.", err=True)
    for note in notes:
        click.echo(f"{note.id}\t{note.title}")
