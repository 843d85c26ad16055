"""AggregatorSettings: the one settings tree of an aggregator process.

Built once by :func:`aggregator.settings.loader.load_settings` (defaults, then a TOML file,
then ``CAMWATCH_*`` variables) and passed down from the composition root; nothing below it
reads the environment. Example::

    CAMWATCH_STORE__DB_PATH=/var/lib/camwatch/aggregator.db   (or CAMWATCH_DB_PATH)
    CAMWATCH_SMTP__HOST=mail.example.go.th  CAMWATCH_SMTP__STARTTLS=require
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator

from aggregator.settings.base import DEFAULT_SECRET, Section
from aggregator.settings.ingest import IngestSettings
from aggregator.settings.notify import (
    LineSettings,
    MqttAlertSettings,
    NotifyPolicy,
    NotifySettings,
    SmtpSettings,
    WebhookSettings,
)
from aggregator.settings.report import ReportSettings
from aggregator.settings.sections import ApiSettings, RetentionSettings, StoreSettings

__all__ = ["FLAT_NAMES", "PREFIX", "AggregatorSettings", "env_name"]

PREFIX = "CAMWATCH_"

# The flat names of the first releases, kept because operators, deploy/ and the docs use
# them (CAMWATCH_DB_PATH): each is one more spelling of a setting of the tree, in the
# environment (CAMWATCH_ + upper case) and as a keyword of AggregatorSettings(...).
FLAT_NAMES: dict[str, tuple[str, str]] = {
    "db_path": ("store", "db_path"),
    "heartbeat_grace": ("store", "heartbeat_grace"),
    "history_keep_days": ("retention", "history_keep_days"),
    "mqtt_url": ("ingest", "url"),
    "mqtt_username": ("ingest", "username"),
    "mqtt_password": ("ingest", "password"),
    "mqtt_cafile": ("ingest", "cafile"),
    "api_host": ("api", "host"),
    "api_port": ("api", "port"),
    "token_pepper": ("api", "token_pepper"),
    "rate_limit_per_s": ("api", "rate_limit_per_s"),
    "rate_limit_burst": ("api", "rate_limit_burst"),
    "max_page_size": ("api", "max_page_size"),
}
_FLAT_OF: dict[tuple[str, ...], str] = {path: name for name, path in FLAT_NAMES.items()}
# Secrets that start as DEFAULT_SECRET: refused outside development.
_DEFAULTED_SECRETS = (("ingest", "password"), ("api", "token_pepper"))
# The shortest secret accepted outside development.
_MIN_SECRET_CHARS = 12


def env_name(path: tuple[str, ...]) -> str:
    """The variable of a setting: ``("smtp", "port")`` -> ``CAMWATCH_SMTP__PORT``."""
    return PREFIX + "__".join(part.upper() for part in path)


def _spellings(path: tuple[str, ...]) -> str:
    """How an operator may have named a setting, for messages about it."""
    flat = _FLAT_OF.get(path)
    return env_name(path) + (f" or {PREFIX}{flat.upper()}" if flat else "")


class AggregatorSettings(Section):
    """Every setting of the aggregator, by section; see docs/operations.md for the full list."""

    environment: Literal["development", "test", "production"] = Field(
        default="development", description="Secrets may keep their defaults only in development"
    )
    store: StoreSettings = Field(default_factory=StoreSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    notify: NotifyPolicy = Field(default_factory=NotifyPolicy)
    webhook: WebhookSettings = Field(default_factory=WebhookSettings)
    smtp: SmtpSettings | None = Field(default=None, description="E-mail alerts: off until a setting of it is given")
    alert_mqtt: MqttAlertSettings | None = Field(
        default=None, description="MQTT alerts: off until a setting of it is given"
    )
    line: LineSettings | None = Field(default=None, description="LINE alerts: off until a setting of it is given")
    report: ReportSettings = Field(default_factory=ReportSettings)

    @model_validator(mode="before")
    @classmethod
    def _flat_names(cls, data: Any) -> Any:
        """Accept the flat names (``db_path=...``) as keywords, as the environment does."""
        if not isinstance(data, dict) or not any(key in FLAT_NAMES for key in data):
            return data
        nested: dict[str, Any] = {k: v for k, v in data.items() if k not in FLAT_NAMES}
        for key, value in data.items():
            if key in FLAT_NAMES:
                section, field = FLAT_NAMES[key]
                current = nested.get(section, {})
                if isinstance(current, Section):
                    current = dict(current)
                nested[section] = {**current, field: value}
        return nested

    @model_validator(mode="after")
    def _no_default_secrets_outside_development(self) -> AggregatorSettings:
        if self.environment == "development":
            return self
        for path in _DEFAULTED_SECRETS:
            value = self.secret(path)
            if value == DEFAULT_SECRET:
                raise ValueError(
                    f"{'.'.join(path)} ({_spellings(path)}) still has its default value; "
                    f"set a real secret in {self.environment}"
                )
            if len(value) < _MIN_SECRET_CHARS:
                raise ValueError(f"{'.'.join(path)} ({_spellings(path)}) is shorter than {_MIN_SECRET_CHARS} characters")
        return self

    @model_validator(mode="after")
    def _alerts_not_as_the_ingest_user(self) -> AggregatorSettings:
        # The shipped broker binds client ids to usernames: two clients of one user close each
        # other's connections, and the alert client's clean session would wipe ingest's queue.
        alerts = self.alert_mqtt
        if alerts is not None and alerts.username is not None and alerts.username == self.ingest.username:
            raise ValueError(
                f"alert_mqtt.username (CAMWATCH_ALERT_MQTT__USERNAME) is the ingest user {alerts.username!r}; "
                "give the alert channel its own account (camwatch-aggregator broker-account --role alerts-publisher)"
            )
        return self

    def secret(self, path: tuple[str, str]) -> str:
        """The value of the secret at ``path`` (``("ingest", "password")``)."""
        secret: SecretStr = getattr(getattr(self, path[0]), path[1])
        return secret.get_secret_value()

    def default_secrets(self) -> list[str]:
        """Secrets still at their development default, named as the operator sets them."""
        return [_spellings(path) for path in _DEFAULTED_SECRETS if self.secret(path) == DEFAULT_SECRET]

    def notify_settings(self) -> NotifySettings:
        """The notifier's policy with its channels, as the fault service takes them."""
        return NotifySettings(**dict(self.notify), webhook=self.webhook, smtp=self.smtp, mqtt=self.alert_mqtt,
                              line=self.line)

    # The API reads these under their first, flat names (aggregator/api/).
    @property
    def db_path(self) -> Path:
        """``store.db_path``."""
        return self.store.db_path

    @property
    def token_pepper(self) -> SecretStr:
        """``api.token_pepper``."""
        return self.api.token_pepper

    @property
    def rate_limit_per_s(self) -> float:
        """``api.rate_limit_per_s``."""
        return self.api.rate_limit_per_s

    @property
    def rate_limit_burst(self) -> int:
        """``api.rate_limit_burst``."""
        return self.api.rate_limit_burst

    @property
    def max_page_size(self) -> int:
        """``api.max_page_size``."""
        return self.api.max_page_size
