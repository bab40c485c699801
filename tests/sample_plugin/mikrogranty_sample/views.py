"""Routes of the plugin, on tenant hosts only.  Every view declares its permission."""
from __future__ import annotations

from core.plugins.toolkit import (Blueprint, abort, db, flash, host_scope, public, redirect,
                                  render_template, requires, url_for)
from core.plugins.toolkit import gettext as _

from . import operations
from .forms import NoteForm
from .models import SampleNote

bp = host_scope(Blueprint("sample", __name__, url_prefix="/sample",
                          template_folder="templates"), "tenant")


def _render_list(form, status=200):
    notes = db.session.scalars(
        db.select(SampleNote).order_by(SampleNote.created_at.desc(), SampleNote.id.desc())).all()
    return render_template("sample/notes.html", notes=notes, form=form), status


@bp.get("/notes")
@public
def notes():
    # No tenant condition here: the global tenant filter adds it.
    return _render_list(NoteForm())


@bp.post("/notes")
@requires("tenant.manage")
def add_note():
    form = NoteForm()
    if not form.validate_on_submit():
        return _render_list(form, 422)
    note = operations.create_note(form.title.data)  # the actor is the person logged in
    db.session.commit()
    flash(_("The note is added."), "success")
    return redirect(url_for(".note", note_id=note.id))


@bp.get("/notes/<int:note_id>")
@public
def note(note_id):
    # Loaded with a query (never session.get), so another tenant's id is simply not found.
    found = db.session.execute(
        db.select(SampleNote).where(SampleNote.id == note_id)).scalar_one_or_none()
    if found is None:
        abort(404)
    return render_template("sample/note.html", note=found)
