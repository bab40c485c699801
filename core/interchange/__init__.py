"""The interchange format: whole editions as JSON documents (INTERCHANGE.md).

``document`` reads and checks a ``mikrogranty/call@1`` document, ``operations`` imports it
into a tenant and gives a call's results; ``flask calls import/results`` (core/calls/cli.py)
are the commands.
"""
from .document import DocumentError  # noqa: F401
