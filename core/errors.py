"""Errors that operations raise for people to read."""
from __future__ import annotations


class ValidationError(Exception):
    """Bad input, with a translated message per field: ``{field: [message, ...]}``."""

    def __init__(self, errors, field: str | None = None):
        if not isinstance(errors, dict):  # one message (a string or a lazy string)
            errors = {field or "_": [errors]}
        self.errors = errors
        super().__init__("; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in errors.items()))

    def apply_to(self, form) -> None:
        """Put the messages on the WTForms fields they name (others on the form itself)."""
        for name, messages in self.errors.items():
            field = getattr(form, name, None) if name != "_" else None
            target = field.errors if field is not None else form.form_errors
            if isinstance(target, tuple):
                target = list(target)
                if field is not None:
                    field.errors = target
            target.extend(str(m) for m in messages)
