"""The plugin's rules and writes; views stay thin and call these."""
from __future__ import annotations

from core.plugins.toolkit import audit, db

from .models import SampleNote


def create_note(title: str, actor=None) -> SampleNote:
    """Add a note to the current tenant and record who added it (the caller commits)."""
    note = SampleNote(title=title.strip())
    db.session.add(note)
    db.session.flush()  # core stamps the current tenant's id; the note gets its own
    audit("sample.note_created", note, changes={"title": note.title}, actor=actor)
    return note
