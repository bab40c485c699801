"""Every model of core, imported once so that the metadata is complete."""
from core.accounts.models import Invitation, Membership, User  # noqa: F401
from core.applicants.models import ApplicantProfile, Person, ProfileEditor, ProfileMember  # noqa: F401
from core.applications.models import Application, BudgetLine, ContributionLine  # noqa: F401
from core.audit.models import AuditEvent  # noqa: F401
from core.calls.models import Call, CallDocument  # noqa: F401
from core.interchange.models import CallImport  # noqa: F401
from core.notifications.models import OutboxMessage  # noqa: F401
from core.tenancy.models import Tenant, TenantHost  # noqa: F401
from core.evaluation.models import (Assignment, Award, CommitteeScore, FormalReview,  # noqa: F401
                                   InterviewSlot, ResultList, ScoreCard)
from core.payments.models import Ledger, LedgerLine, Purchase  # noqa: F401,E402
