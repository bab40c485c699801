"""Every hook of Mikrogranty, in one place, grouped by phase.

Plugins implement these with ``@hookimpl`` from :mod:`core.plugins.toolkit`.  Each spec
says its arguments, its return value and whether the first non-``None`` result wins
(``firstresult``) or all results are collected into a list.  Built-in behaviour is
itself a plugin (:mod:`core.plugins.defaults`), registered ``trylast`` so that any
variant can come before it.  A test fails when a hook here has no docstring or is
not exercised by the test suite.
"""
from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("mikrogranty")


# --- Start-up: what a plugin brings -----------------------------------------------------

@hookspec
def register_variants():
    """Declare the regulation variants this plugin implements.

    Arguments: none.
    Returns: a list of :class:`core.plugins.toolkit.Variant` (key, label, description).
    Collected from every plugin; two plugins claiming one key stop start-up.
    """


@hookspec
def register_blueprints(app):
    """Add routes.

    Arguments: ``app``, the Flask application being built.
    Returns: a list of :class:`flask.Blueprint`; each view must declare its permission
    with ``toolkit.requires`` or ``toolkit.public``.  Collected.  Blueprints are served
    on tenant hosts only unless registered with ``toolkit.host_scope(bp, "platform")``.
    """


@hookspec
def register_commands(cli):
    """Add ``flask`` commands.

    Arguments: ``cli``, the application's click group (``app.cli``); add commands to it.
    Returns: nothing.  Called for every plugin.
    """


@hookspec
def translation_dirs():
    """Give folders with compiled gettext catalogues (``<lang>/LC_MESSAGES/messages.mo``).

    Arguments: none.
    Returns: a list of paths.  Collected; a plugin's catalogue is merged over core's.
    """


@hookspec
def migration_dirs():
    """Give the plugin's Alembic version folders.

    Arguments: none.
    Returns: a dict ``{plugin_key: path}``.  Collected.  ``flask db upgrade`` upgrades
    core first, then each plugin's folder with its own version table
    ``alembic_version_<plugin_key>``; the plugin's tables are named ``<plugin_key>_*``.
    """


# --- Pages ------------------------------------------------------------------------------

@hookspec
def menu_items(tenant, user):
    """Add entries to the main navigation.

    Arguments: ``tenant`` (the current :class:`Tenant`, ``None`` on the operator console),
    ``user`` (the current user, possibly anonymous).
    Returns: a list of :class:`core.plugins.toolkit.MenuItem`; an item is shown only
    when the user holds its permission.  Collected and sorted by ``order``.
    """


@hookspec
def template_slot(slot, tenant, user):
    """Fill a named slot of the layout (``head``, ``header``, ``home``, ``sidebar``, ``footer``).

    Arguments: ``slot`` (the slot's name), ``tenant`` (or ``None``), ``user``.
    Returns: markup (``markupsafe.Markup`` or a string, escaped unless Markup), or ``None``.
    Collected; the pieces are shown in plugin order.
    """


# --- Calls: what a regulation variant asks of a call ------------------------------------

@hookspec(firstresult=True)
def default_params(variant):
    """Give the default parameters of a call under ``variant``.

    Arguments: ``variant`` (the variant key).
    Returns: a dict in the interchange form (money as ``"4000.00"``, dates ISO), or ``None``
    when the variant is not this plugin's.  First result wins.
    """


@hookspec(firstresult=True)
def call_params_form(variant):
    """Give the form class for the parameters of a call under ``variant``.

    Arguments: ``variant``.
    Returns: a ``FlaskForm`` subclass whose fields are named like the parameters and which
    validates them together (e.g. ``amount_min`` ≤ ``amount_max``); its ``to_params()``
    returns the dict stored in ``Call.params`` and ``from_params(params)`` fills it.
    ``None`` when the variant is not this plugin's.  First result wins.
    """


@hookspec(firstresult=True)
def call_rules_summary(call):
    """Explain the call's rules to residents in plain language.

    Arguments: ``call`` (a :class:`core.calls.models.Call`).
    Returns: a list of sentences (translated strings) for the call's public page, or
    ``None`` when the variant is not this plugin's.  First result wins.
    """


@hookspec(firstresult=True)
def pool_presets(variant):
    """Offer preset budgets for a call (e.g. the operator's offer of budget variants).

    Arguments: ``variant``.
    Returns: a list of ``(label, params_dict)`` pairs merged into the call's parameters
    when chosen, or ``None``.  First result wins.
    """


# --- Applications -----------------------------------------------------------------------

@hookspec(firstresult=True)
def applicant_kinds(call):
    """Say who may apply in ``call`` and in which modes.

    Arguments: ``call`` (a :class:`Call`).
    Returns: a list of :class:`core.plugins.toolkit.ApplicantOption` (applicant kind,
    realizer kind or ``None``, mode, label), or ``None`` when the variant is not this
    plugin's.  First result wins.
    """


@hookspec
def application_form(call):
    """Extend the application generator with the variant's own fields.

    Arguments: ``call``.
    Returns: a list of :class:`core.plugins.toolkit.FormStep` additions (a step name among
    ``project``, ``schedule``, ``budget``, ``contribution`` and the WTForms fields to add
    there, stored in ``Application.content``), or ``None``.  Collected.
    """


@hookspec
def check_application(call, application, context):
    """Judge an application against the rules.

    Arguments: ``call`` (:class:`core.rules.CallFacts`), ``application``
    (:class:`core.rules.ApplicationFacts`), ``context`` (:class:`core.rules.CheckContext`:
    the other applications of the call, for rules across applications).
    Returns: a list of :class:`core.rules.Violation` (empty when nothing is broken).
    Collected from every plugin: the variant's plugin returns its rules for its own
    variant and nothing for others; core's defaults add the rules every variant shares.
    """


@hookspec
def check_draft(call, application, answers):
    """Say what the application generator still needs before a draft may be submitted,
    beyond the regulation's rules: answers the variant asks for only in some cases (e.g.
    the power of attorney when an organisation applies for a group).

    These are the generator's own requirements, not rules of the regulation: an imported
    edition (which records what was decided, not the form's answers) is not judged by them.
    Arguments: ``call`` (:class:`core.rules.CallFacts`), ``application``
    (:class:`core.rules.ApplicationFacts`, the draft as the rules see it), ``answers`` (a
    dict: the draft's answers to the generator's fields, ``Application.content``, where
    the variant's ``application_form`` fields are kept).
    Returns: a list of :class:`core.rules.Violation` (``field`` names the generator's field,
    so the message is shown next to it and in its step; a formal one blocks submission),
    empty when nothing is missing.  Collected from every plugin; core's default adds
    nothing (the generator checks its own required fields itself).
    """


@hookspec
def contribution_requirements(call, application):
    """Give the own contribution the call requires of an application, in money, so the
    generator can show the minimums while the applicant types (and refresh them when the
    requested amount changes).

    Arguments: ``call`` (:class:`core.rules.CallFacts`), ``application``
    (:class:`core.rules.ApplicationFacts`: the requested amount, the mode, the contribution
    given so far by kind).
    Returns: a list of :class:`core.plugins.toolkit.ContributionMinimum` (a label, the
    minimum amount – a required minimum rounds up to the grosz – and the contribution kind
    that counts toward it, ``None`` for the total of every kind); empty when the call asks
    for no fixed contribution.  Collected from every plugin: the variant's plugin answers
    for its own variant only; core's default requires nothing.  Only shown: the rules
    (``check_application``) decide whether the contribution is enough.
    """


@hookspec
def application_state_changed(application, old, new, actor):
    """React to an application changing state (submitted, withdrawn, rejected, …).

    Arguments: ``application`` (the model), ``old`` and ``new`` (status strings),
    ``actor`` (the user, or ``None`` for imports and jobs).
    Returns: nothing.  Called for every plugin after the change is flushed.
    """


# --- Evaluation and allocation ----------------------------------------------------------

@hookspec(firstresult=True)
def formal_checklist(call):
    """Give the variant's formal checklist, shown beside the rule engine's findings.

    Arguments: ``call`` (a :class:`Call`).
    Returns: a list of :class:`core.plugins.toolkit.ChecklistItem` (key, label), or
    ``None`` when the variant is not this plugin's.  First result wins.
    """


@hookspec(firstresult=True)
def evaluation_stages(call):
    """Give the call's evaluation stages.

    Arguments: ``call``.
    Returns: a list of :class:`core.plugins.toolkit.Stage` (number, kind ``"evaluators"`` or
    ``"committee"``, max points, pass mark or ``None``), or ``None`` when the variant is not
    this plugin's.  First result wins; core's default reads ``stage1_max_points``,
    ``stage1_pass_mark``, ``stage2`` and ``stage2_max_points`` from the call's parameters.
    """


@hookspec(firstresult=True)
def score_card(call, stage):
    """Give the criteria of the score card of ``stage``.

    Arguments: ``call``, ``stage`` (the stage number).
    Returns: a list of :class:`core.plugins.toolkit.Criterion` (key, label, description,
    max points); their maxima add up to the stage's maximum.  ``None`` when the variant is
    not this plugin's.  First result wins; core's default is one criterion "total".
    """


@hookspec(firstresult=True)
def allocate(call, ranking, pool, state):
    """Walk the ranking and decide funded / reserve / excluded.

    Arguments: ``call``; ``ranking`` (a list of :class:`core.evaluation.allocation.Entry`,
    best first); ``pool`` (Decimal); ``state`` (an :class:`AllocationState` to continue
    from, e.g. after a resignation, or ``None``).
    Returns: an :class:`core.evaluation.allocation.Allocation`, or ``None`` to leave it to
    the next plugin.  First result wins; core's default applies the call's
    ``cutoff_policy``, quotas, sub-pools and one grant per realizer (DOMAIN.md).
    """


# --- Payment ----------------------------------------------------------------------------

@hookspec(firstresult=True)
def payment_mode(call, application):
    """Say how a funded project gets its money.

    Arguments: ``call`` (a :class:`Call`), ``application`` (the :class:`Application`; a
    variant may decide by its ``mode``, e.g. a DL Initiative).
    Returns: ``"transfer"`` (the grant is transferred to the grantee) or
    ``"operator_paid"`` (the operator buys what the project needs on the group's behalf,
    up to the grant, and records each purchase in the project's ledger; nothing is
    transferred), or ``None`` to leave it to the next plugin.  First result wins; core's
    default is the call's parameter ``payment_mode`` when it names one of these, else
    ``"transfer"``.  See ``toolkit.PAYMENT_MODES``.
    """


# --- Notices and periodic work ----------------------------------------------------------

@hookspec
def notice_kinds():
    """Declare optional kinds of e-mail, which each person may turn off.

    Arguments: none.
    Returns: a list of :class:`core.plugins.toolkit.NoticeKind` (``name`` is the mail
    template, ``label`` and ``description`` are shown on the person's notice settings,
    ``default`` whether it is sent to someone who never chose).  Collected.  Messages of
    kinds nobody declares are always sent; an optional message carries a one-click
    unsubscribe link (``unsubscribe_url`` in the template).
    """


@hookspec
def scheduled_notices(tenant, now):
    """Name the reminders due in one municipality at the time of a sweep.

    Arguments: ``tenant`` (a :class:`Tenant`, whose scope the sweep runs in), ``now``
    (the sweep's time, an aware UTC datetime).
    Returns: a list of :class:`core.plugins.toolkit.ScheduledNotice`.  Collected.  The
    sweep (``flask jobs tick``, run by a timer) sends each notice whose ``due_at`` has come
    and whose ``until`` has not passed, once: its ``key`` makes a later sweep find the
    message already written.  Decide due times in Europe/Warsaw with
    ``toolkit.warsaw_time(date, hour)``, so that daylight saving time is kept.
    """
