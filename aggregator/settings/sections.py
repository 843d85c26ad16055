"""Settings sections of the store, the history retention and the API."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator

from aggregator.settings.base import DEFAULT_SECRET, Section

# The one lower-room exception of this package: the shortest history is a fact of the
# store's in-memory recent days, so it is read from there rather than written twice.
from aggregator.store.retention import MIN_KEEP_DAYS

__all__ = ["ApiSettings", "RetentionSettings", "StoreSettings"]


class StoreSettings(Section):
    """Where the database lives and when a silent site's cameras become unknown."""

    db_path: Path = Field(default=Path("camwatch-aggregator.db"), description="SQLite database file")
    heartbeat_grace: float = Field(
        default=2.5, ge=1.0, le=20.0,
        description="A site is silent after this many heartbeat intervals without a message",
    )  # fmt: skip
    clock_skew_tolerance_s: float = Field(
        default=120.0, ge=5, le=86400,
        description=(
            "A site whose clock differs from the centre's by more than this is flagged clock_skew; "
            "its live events are then placed at the time they are received"
        ),
    )  # fmt: skip


class RetentionSettings(Section):
    """How much per-camera history is kept."""

    history_keep_days: int = Field(
        default=0, ge=0, le=36500,
        description=(
            "Days of per-camera history (transitions, camera days) to keep; 0 keeps everything, "
            f"otherwise at least {MIN_KEEP_DAYS}. Area totals are kept for ever"
        ),
    )  # fmt: skip

    @field_validator("history_keep_days")
    @classmethod
    def _keep_enough_history(cls, value: int) -> int:
        if 0 < value < MIN_KEEP_DAYS:
            raise ValueError(f"keep at least {MIN_KEEP_DAYS} days of camera history (or 0 to keep everything)")
        return value


class ApiSettings(Section):
    """Where the API listens, its token pepper and its limits."""

    host: str = Field(default="127.0.0.1", min_length=1, description="API bind address")
    port: int = Field(default=8080, ge=1, le=65535, description="API port")
    token_pepper: SecretStr = Field(
        default=SecretStr(DEFAULT_SECRET),
        description="Secret mixed into every API token hash: a stolen database alone cannot check guesses",
    )
    rate_limit_per_s: float = Field(default=20.0, gt=0, le=10000, description="API requests per second per token")
    rate_limit_burst: int = Field(default=60, ge=1, le=100000, description="API requests a token may burst")
    token_lifetime_days: int = Field(
        default=365, ge=0, le=3650,
        description=(
            "How long a new API token works unless create-token --expires-in says otherwise; "
            "0 = never expires (warned about in production)"
        ),
    )  # fmt: skip
    max_page_size: int = Field(default=500, ge=10, le=10000, description="Largest page a list answer returns")
    feed_recheck_s: float = Field(
        default=2.0, ge=0.2, le=60,
        description="How often an open live feed checks its token again: a revoked or expired token's stream closes within this",
    )  # fmt: skip
    read_timeout_s: float = Field(
        default=5.0, ge=0.5, le=120,
        description="Longest a read may take before the API answers 503 with Retry-After (busy, retry)",
    )  # fmt: skip
    read_report_s: float = Field(
        default=30.0, ge=1, le=3600,
        description="A read transaction held longer than this is logged and counted (it holds back WAL checkpoints)",
    )  # fmt: skip
