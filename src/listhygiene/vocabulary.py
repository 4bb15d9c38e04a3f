"""The canonical columns of each kind of input: the vocabulary the pipeline file and the readers share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class KindSpec:
    """The columns one kind of input file must, may, and will carry."""

    required: tuple[str, ...]
    optional: tuple[str, ...]
    output: tuple[str, ...]
    keeps_extra_columns: bool


KINDS = {
    "contacts": KindSpec(
        required=("contact_id", "email"),
        optional=("list_id", "status", "confirmed_at", "do_not_contact", "exported_at"),
        output=(
            "row_number",
            "contact_id",
            "email_raw",
            "list_id",
            "status",
            "status_raw",
            "confirmed_at",
            "do_not_contact",
            "exported_at",
            "attributes",
        ),
        keeps_extra_columns=True,
    ),
    "unsubscribes": KindSpec(
        required=("email", "occurred_at"),
        optional=("event", "list_id", "source", "evidence", "evidence_ref", "campaign_id", "reason"),
        output=(
            "row_number",
            "email_raw",
            "occurred_at",
            "event",
            "list_id",
            "origin",
            "evidence",
            "evidence_ref",
            "campaign_id",
            "reason",
        ),
        keeps_extra_columns=False,
    ),
    "bounces": KindSpec(
        required=("email", "occurred_at"),
        optional=("event", "campaign_id", "bounce_type", "smtp_code", "enhanced_code", "diagnostic"),
        output=(
            "row_number",
            "email_raw",
            "occurred_at",
            "event",
            "campaign_id",
            "bounce_type",
            "smtp_code",
            "enhanced_code",
            "diagnostic",
        ),
        keeps_extra_columns=False,
    ),
    # A do-not-mail list kept elsewhere (a partner's, a suppression service's), a snapshot like
    # an export: each row names an address in clear (email) or hashed (email_sha256). Neither
    # column is required alone; a file must have one of them (ONE_OF_COLUMNS).
    "suppressions": KindSpec(
        required=(),
        optional=("email", "email_sha256", "list_id", "reason", "occurred_at"),
        output=("row_number", "email_raw", "email_sha256", "list_id", "reason", "occurred_at"),
        keeps_extra_columns=False,
    ),
}

# Kinds whose files must have at least one of these columns (the header check names them all).
ONE_OF_COLUMNS = {"suppressions": ("email", "email_sha256")}


# Evidence that a person really asked to be mailed again (SPEC §4, Resubscription).
RESUBSCRIBE_EVIDENCE = ("signup_form", "confirmed_optin", "written_consent")


# The times listhygiene accepts, from any source (a column, a file name, --as-of): e-mail
# marketing has no event before 1970 or after 2100, and a value outside is a typo or a
# placeholder (9999-12-31) that would overflow conversions or hold `latest` for centuries.
EARLIEST_TIME = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(2100, 1, 1, tzinfo=UTC)
# How far ahead of the clock a run's as-of may be: a scheduler's clock skew, not a future date.
AS_OF_AHEAD = timedelta(days=1)
