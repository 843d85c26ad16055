"""Settings of the notifier: grouping, rate limits, links, and each channel's peer."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = ["MqttAlertSettings", "NotifySettings", "SmtpSettings", "WebhookSettings"]


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SmtpSettings(_Base):
    """The mail relay e-mail alerts go through."""

    host: str = Field(default="localhost", description="SMTP relay host")
    port: int = Field(default=587, ge=1, le=65535)
    sender: str = Field(default="camwatch@localhost", description="From address")
    username: str | None = None
    password: SecretStr | None = None
    starttls: Literal["auto", "require", "off"] = Field(
        default="auto", description="auto: STARTTLS when the relay offers it; require: refuse plain text"
    )
    cafile: str | None = Field(default=None, description="CA bundle for the relay's certificate")
    timeout_s: float = Field(default=15.0, gt=0, le=120, description="Per connect and per command")


class WebhookSettings(_Base):
    """How webhooks are sent and retried."""

    connect_timeout_s: float = Field(default=3.0, gt=0, le=60)
    read_timeout_s: float = Field(default=10.0, gt=0, le=120)
    backoff_base_s: float = Field(default=2.0, gt=0, le=600)
    backoff_max_s: float = Field(default=300.0, gt=0, le=86400)
    give_up_s: float = Field(default=86400.0, gt=0, le=30 * 86400)


class MqttAlertSettings(_Base):
    """The broker the per-district alert topics are published on."""

    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    client_id: str = Field(default="camwatch-alerts", max_length=64)
    username: str | None = None
    password: SecretStr | None = None
    cafile: str | None = None
    keepalive_s: int = Field(default=30, ge=5, le=3600)


class NotifySettings(_Base):
    """Grouping, rate limits, links."""

    group_window_s: float = Field(
        default=10.0, ge=0, le=600, description="Faults opening within this go out as one notification"
    )
    rate_limit: int = Field(default=10, ge=1, le=10000, description="Notifications per recipient per period")
    rate_period_s: float = Field(default=600.0, ge=1, le=86400, description="Rate limit period; excess becomes a digest")
    base_url: str = Field(default="http://localhost:8080", max_length=200, description="The dashboard's address")
    camera_path: str = Field(default="/#/camera/{site}/{camera_id}", max_length=200)
    site_path: str = Field(default="/#/site/{site}", max_length=200)
    area_path: str = Field(default="/#/{level}/{area}", max_length=200)
    tick_s: float = Field(default=1.0, gt=0, le=60, description="How often time-based rules run")
    webhook: WebhookSettings = Field(default_factory=WebhookSettings)
    smtp: SmtpSettings | None = None
    mqtt: MqttAlertSettings | None = None
