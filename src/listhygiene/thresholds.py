"""The sender thresholds that rates.parquet and the run report judge rates against ([report] settings)."""

from __future__ import annotations

from dataclasses import dataclass, fields

from listhygiene.errors import ConfigError


@dataclass(frozen=True)
class Threshold:
    """A rate a receiver or a sending platform holds senders to, and what crossing it means."""

    name: str  # the [report] setting and the name listed in rates.parquet's thresholds_crossed
    metric: str  # the rate column of rates.parquet it applies to
    meaning: str


# In the order rates.parquet lists them. Gmail and Yahoo (bulk-sender rules, 2024) judge the spam
# rate of delivered mail: keep it under 0.1%, never reach 0.3%. Amazon SES reviews an account at
# 5% bounces or 0.1% complaints and pauses its sending at 10% or 0.5%; its bounce rate counts
# the hard bounces only (blocks are the sender's problem, soft bounces are retried).
THRESHOLDS = (
    Threshold("spam_rate_target", "complaint_rate", "Gmail/Yahoo: keep the spam rate under this"),
    Threshold("spam_rate_limit", "complaint_rate", "Gmail/Yahoo: never reach this spam rate"),
    Threshold("complaint_rate_review", "complaint_rate", "SES: account under review"),
    Threshold("complaint_rate_pause", "complaint_rate", "SES: sending paused"),
    Threshold("bounce_rate_review", "hard_rate", "SES: account under review"),
    Threshold("bounce_rate_pause", "hard_rate", "SES: sending paused"),
)


@dataclass(frozen=True)
class ReportSettings:
    """[report]: the thresholds, how many messages a rate needs to be judged, domains shown by name."""

    spam_rate_target: float = 0.001
    spam_rate_limit: float = 0.003
    complaint_rate_review: float = 0.001
    complaint_rate_pause: float = 0.005
    bounce_rate_review: float = 0.05
    bounce_rate_pause: float = 0.10
    # a rate over a handful of messages says little: one complaint among 20 deliveries is 5%
    min_messages: int = 100
    # the receiver domains with the most messages are shown by name, the others as "other"
    domains: int = 10

    def value(self, threshold: Threshold) -> float:
        return float(getattr(self, threshold.name))


def report_settings(raw: object, where: str) -> ReportSettings:
    """The [report] table of a pipeline file, checked (every key optional)."""
    here = f"{where} [report]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{here} must be a table.")
    known = {f.name for f in fields(ReportSettings)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{here}: unknown key {unknown[0]!r}; known keys: {', '.join(sorted(known))}.")
    values: dict[str, float | int] = {}
    for key, value in raw.items():
        if key in ("min_messages", "domains"):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"{here}: {key} must be a whole number ≥ 0, got {value!r}.")
        elif isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
            raise ConfigError(
                f"{here}: {key} is a rate, a fraction above 0 and at most 1 (0.001 is 0.1%), got {value!r}."
            )
        values[key] = value if key in ("min_messages", "domains") else float(value)
    return ReportSettings(**values)  # type: ignore[arg-type]
