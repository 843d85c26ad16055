"""Process settings of the aggregator, read from ``CAMWATCH_*`` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from aggregator.store.retention import MIN_KEEP_DAYS

__all__ = ["DEFAULT_SECRET", "AggregatorSettings"]

# The placeholder every secret starts as: fine on a laptop, refused anywhere else.
DEFAULT_SECRET = "change-me"


class AggregatorSettings(BaseSettings):
    """Where the database lives, which broker to read, where the API listens, and secrets.

    Example: ``CAMWATCH_DB_PATH=/var/lib/camwatch/aggregator.db CAMWATCH_ENVIRONMENT=production``.
    """

    model_config = SettingsConfigDict(
        env_prefix="CAMWATCH_", extra="forbid", env_file=None, validate_default=True
    )

    environment: Literal["development", "test", "production"] = Field(
        default="development", description="Secrets may keep their defaults only in development"
    )
    db_path: Path = Field(default=Path("camwatch-aggregator.db"), description="SQLite database file")
    mqtt_url: str = Field(
        default="mqtt://127.0.0.1:1883",
        pattern=r"^mqtts?://[^/\s]+$",
        description="Broker URL, mqtt:// or mqtts:// (TLS)",
    )
    mqtt_username: str = Field(default="aggregator", max_length=64)
    mqtt_password: SecretStr = Field(default=SecretStr(DEFAULT_SECRET))
    mqtt_cafile: Path | None = Field(default=None, description="CA bundle for mqtts://")
    api_host: str = Field(default="127.0.0.1", description="API bind address")
    api_port: int = Field(default=8080, ge=1, le=65535)
    token_pepper: SecretStr = Field(
        default=SecretStr(DEFAULT_SECRET),
        description="Secret mixed into every API token hash; a stolen database alone cannot check guesses",
    )
    heartbeat_grace: float = Field(
        default=2.5, ge=1.0, le=20.0,
        description="A site is silent after this many heartbeat intervals without a message",
    )
    rate_limit_per_s: float = Field(default=20.0, gt=0, le=10000, description="API requests/s per token")
    rate_limit_burst: int = Field(default=60, ge=1, le=100000)
    max_page_size: int = Field(default=500, ge=10, le=10000)
    history_keep_days: int = Field(
        default=0, ge=0, le=36500,
        description=(
            "Days of per-camera history (transitions, camera days) to keep; 0 keeps everything. "
            f"At least {MIN_KEEP_DAYS}. Site, district, province, agency and nation totals are kept for ever"
        ),
    )

    @field_validator("history_keep_days")
    @classmethod
    def _keep_enough_history(cls, value: int) -> int:
        if 0 < value < MIN_KEEP_DAYS:
            raise ValueError(f"keep at least {MIN_KEEP_DAYS} days of camera history (or 0 to keep everything)")
        return value

    @model_validator(mode="after")
    def _no_default_secrets_outside_development(self) -> AggregatorSettings:
        if self.environment == "development":
            return self
        for name in ("mqtt_password", "token_pepper"):
            secret: SecretStr = getattr(self, name)
            if secret.get_secret_value() == DEFAULT_SECRET:
                raise ValueError(
                    f"CAMWATCH_{name.upper()} still has its default value; "
                    f"set a real secret in {self.environment}"
                )
            if len(secret.get_secret_value()) < 12:
                raise ValueError(f"CAMWATCH_{name.upper()} is shorter than 12 characters")
        return self
