"""The payment modes and the one question core asks the variants about them.

Kept free of models and views, so that the plugin toolkit and core's defaults can import
it at start-up.
"""
from __future__ import annotations

from flask import current_app

TRANSFER = "transfer"
OPERATOR_PAID = "operator_paid"
#: Every mode a ``payment_mode`` hook may answer.
PAYMENT_MODES = (TRANSFER, OPERATOR_PAID)


def payment_mode_of(application, call=None) -> str:
    """How ``application`` (in ``call``, by default its own) is paid: one of
    :data:`PAYMENT_MODES`, as the first plugin answering ``payment_mode`` says (core's
    default: ``"transfer"``, or the call's parameter ``payment_mode``).

    An answer outside :data:`PAYMENT_MODES` is a plugin's error, not a third way of paying:
    it raises ``ValueError`` rather than letting money go the wrong way.
    """
    call = call if call is not None else application.call
    pm = current_app.extensions["mikrogranty.plugins"]
    mode = pm.hook.payment_mode(call=call, application=application)
    if mode not in PAYMENT_MODES:
        raise ValueError(f"payment_mode answered {mode!r} for application "
                         f"{getattr(application, 'id', None)}; expected one of {PAYMENT_MODES}")
    return mode
