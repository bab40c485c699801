"""Uploaded regulation documents on disk: PDFs only, under generated names, per tenant.

Files live in ``<UPLOAD_FOLDER>/<tenant_id>/<random>.pdf`` (``UPLOAD_FOLDER`` defaults to
``instance/uploads``).  A file is a PDF when its content starts with ``%PDF-``, whatever
its name says; it is written to a temporary file first and moved into place only when
it passed both checks, so a refused upload leaves nothing behind.
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

PDF_MAGIC = b"%PDF-"
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
CHUNK = 64 * 1024
STORED_NAME = re.compile(r"^[A-Za-z0-9_-]{16,64}\.pdf$")


class NotAPdf(ValueError):
    """The content is not a PDF (its first bytes are not ``%PDF-``)."""


class FileTooLarge(ValueError):
    """The file is larger than the limit."""

    def __init__(self, limit: int):
        super().__init__(f"larger than {limit} bytes")
        self.limit = limit


class EmptyFile(ValueError):
    """Nothing was sent."""


@dataclass(frozen=True)
class StoredFile:
    stored_name: str
    size: int
    sha256: str


def max_bytes() -> int:
    return int(current_app.config.get("CALL_DOCUMENT_MAX_BYTES") or DEFAULT_MAX_BYTES)


def uploads_root() -> Path:
    folder = current_app.config.get("UPLOAD_FOLDER")
    return Path(folder) if folder else Path(current_app.instance_path) / "uploads"


def tenant_folder(tenant_id: int) -> Path:
    return uploads_root() / str(int(tenant_id))


def path_for(tenant_id: int, stored_name: str) -> Path:
    """The file's path; a stored name that was not generated here is refused."""
    if not STORED_NAME.match(stored_name or ""):
        raise ValueError(f"not a stored file name: {stored_name!r}")
    return tenant_folder(tenant_id) / stored_name


def save_pdf(tenant_id: int, stream, limit: int | None = None) -> StoredFile:
    """Check and store an uploaded PDF read from ``stream``; return its generated name.

    Raises :class:`EmptyFile`, :class:`NotAPdf` or :class:`FileTooLarge` (nothing is kept).
    """
    limit = max_bytes() if limit is None else limit
    folder = tenant_folder(tenant_id)
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            head = b""
            while True:
                chunk = stream.read(CHUNK)
                if not chunk:
                    break
                if len(head) < len(PDF_MAGIC):
                    head += chunk[: len(PDF_MAGIC) - len(head)]
                    if len(head) >= len(PDF_MAGIC) and head != PDF_MAGIC:
                        raise NotAPdf("not a PDF")
                size += len(chunk)
                if size > limit:
                    raise FileTooLarge(limit)
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise EmptyFile("empty")
        if head != PDF_MAGIC:
            raise NotAPdf("not a PDF")
        stored_name = f"{secrets.token_urlsafe(18)}.pdf"
        os.replace(temporary, folder / stored_name)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return StoredFile(stored_name=stored_name, size=size, sha256=digest.hexdigest())


def delete(tenant_id: int, stored_name: str) -> None:
    path_for(tenant_id, stored_name).unlink(missing_ok=True)
