"""Payments: how a funded project gets its money.

Most programmes transfer the grant to the grantee after the agreement is signed
(``"transfer"``).  In some the money never leaves the operator: for a Działaj Lokalnie
DL Initiative the local grant centre, and for Wrocław's co-organised projects the city's
institute, buys what the project needs on the group's behalf, up to the grant
(``"operator_paid"``).  Which mode applies is the regulation variant's answer to the hook
``payment_mode(call, application)``; for an operator-paid project core keeps a ledger of
the purchases (:mod:`core.payments.operations`).
"""
