"""Forms of the plugin (Flask-WTF, as in core); labels and messages are translated lazily."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from core.plugins.toolkit import lazy_gettext as _l

from .rules import TITLE_MAX


class NoteForm(FlaskForm):
    title = StringField(_l("Title"), validators=[
        DataRequired(message=_l("Give the note a title.")),
        Length(max=TITLE_MAX,
               message=_l("The title is too long (%(max)d characters at most).", max=TITLE_MAX)),
    ])
