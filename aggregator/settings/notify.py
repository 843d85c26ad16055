"""Settings of the notifier: grouping, rate limits, links, and each alert channel's peer.

In the settings tree ``notify`` holds the policy and ``webhook``, ``smtp``, ``alert_mqtt``,
``line`` are sections of their own (``CAMWATCH_SMTP__HOST``); :class:`NotifySettings` joins
them for the fault service. E-mail, MQTT and LINE alerts are off until their section is given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from aggregator.settings.base import Section

__all__ = ["LineSettings", "MqttAlertSettings", "NotifyPolicy", "NotifySettings", "SmtpSettings", "WebhookSettings"]


class SmtpSettings(Section):
    """The mail relay e-mail alerts go through."""

    host: str = Field(default="localhost", min_length=1, description="SMTP relay host")
    port: int = Field(default=587, ge=1, le=65535, description="SMTP relay port")
    sender: str = Field(default="camwatch@localhost", pattern=r"^[^@\s]+@[^@\s]+$", description="From address")
    username: str | None = Field(default=None, description="Relay login (none: no login)")
    password: SecretStr | None = Field(default=None, description="Relay password")
    starttls: Literal["auto", "require", "off"] = Field(
        default="auto", description="auto: STARTTLS when the relay offers it; require: refuse plain text; off"
    )
    cafile: Path | None = Field(default=None, description="CA bundle for the relay's certificate")
    timeout_s: float = Field(default=15.0, gt=0, le=120, description="Timeout of the connect and of each command")


class WebhookSettings(Section):
    """How webhooks are sent and retried."""

    connect_timeout_s: float = Field(default=3.0, gt=0, le=60, description="Connect timeout of one delivery")
    read_timeout_s: float = Field(default=10.0, gt=0, le=120, description="Read timeout of one delivery")
    backoff_base_s: float = Field(default=2.0, gt=0, le=600, description="First retry delay; doubles per failure")
    backoff_max_s: float = Field(default=300.0, gt=0, le=86400, description="Longest retry delay")
    give_up_s: float = Field(default=86400.0, gt=0, le=30 * 86400, description="A delivery failing this long is dropped")


class LineSettings(Section):
    """The LINE Messaging API: push messages to a LINE user, group or room id."""

    base_url: str = Field(
        default="https://api.line.me", max_length=200, pattern=r"^https?://\S+$",
        description="LINE Messaging API address (tests point it at a local server)",
    )  # fmt: skip
    channel_access_token: SecretStr | None = Field(
        default=None, description="The LINE Official Account's channel access token (required with LINE; env:/file:/credential:)"
    )
    connect_timeout_s: float = Field(default=3.0, gt=0, le=60, description="Connect timeout of one push")
    read_timeout_s: float = Field(default=10.0, gt=0, le=120, description="Read timeout of one push")
    backoff_base_s: float = Field(default=2.0, gt=0, le=600, description="First retry delay; doubles per failure")
    backoff_max_s: float = Field(default=300.0, gt=0, le=86400, description="Longest retry delay")
    give_up_s: float = Field(default=86400.0, gt=0, le=30 * 86400, description="A push failing this long is dropped")
    max_retry_after_s: float = Field(
        default=3600.0, ge=1, le=86400, description="Longest wait a 429 answer's Retry-After is honoured for"
    )
    image_link_ttl_s: float = Field(
        default=7 * 86400.0, ge=60, le=90 * 86400,
        description="How long the link to a snapshot sent in a LINE message keeps working",
    )  # fmt: skip

    @model_validator(mode="after")
    def _token_given(self) -> LineSettings:
        if self.channel_access_token is None or not self.channel_access_token.get_secret_value():
            raise ValueError("LINE alerts need line.channel_access_token (CAMWATCH_LINE__CHANNEL_ACCESS_TOKEN)")
        return self


class MqttAlertSettings(Section):
    """The broker the per-district alert topics are published on."""

    host: str = Field(default="127.0.0.1", min_length=1, description="Alert broker host")
    port: int = Field(default=1883, ge=1, le=65535, description="Alert broker port")
    client_id: str = Field(default="camwatch-alerts", min_length=1, max_length=64, description="MQTT client id")
    username: str | None = Field(default=None, description="Alert broker user name (none: anonymous)")
    password: SecretStr | None = Field(default=None, description="Alert broker password")
    cafile: Path | None = Field(default=None, description="CA bundle; given: the broker is reached over TLS")
    keepalive_s: int = Field(default=30, ge=5, le=3600, description="MQTT keep-alive")

    @property
    def url(self) -> str:
        """The broker as an operator names it, for log lines."""
        return f"{'mqtts' if self.cafile else 'mqtt'}://{self.host}:{self.port}"


class NotifyPolicy(Section):
    """Grouping, rate limits, links."""

    group_window_s: float = Field(
        default=10.0, ge=0, le=600, description="Faults opening within this go out as one notification"
    )
    rate_limit: int = Field(default=10, ge=1, le=10000, description="Notifications per recipient per period")
    rate_period_s: float = Field(default=600.0, ge=1, le=86400, description="Rate limit period; excess becomes a digest")
    base_url: str = Field(
        default="http://localhost:8080", max_length=200, pattern=r"^https?://\S+$",
        description="The dashboard's address, for links in alerts",
    )  # fmt: skip
    camera_path: str = Field(default="/#/camera/{site}/{camera_id}", max_length=200, description="Link to a camera")
    site_path: str = Field(default="/#/site/{site}", max_length=200, description="Link to a site")
    area_path: str = Field(default="/#/{level}/{area}", max_length=200, description="Link to an area")
    tick_s: float = Field(default=1.0, gt=0, le=60, description="How often time-based rules run")
    never_online_after_s: float = Field(
        default=86400.0, ge=0, le=90 * 86400,
        description="A site enrolled this long ago that has never connected opens a \"site never came online\" "
                    "fault (0: never)",
    )  # fmt: skip
    reopen_window_s: float = Field(
        default=86400.0, ge=0, le=30 * 86400,
        description="A camera failing again this soon after its fault was resolved or closed as won't-fix "
                    "reopens that fault (with its history) instead of opening a new one",
    )  # fmt: skip


class NotifySettings(NotifyPolicy):
    """The policy with its channels: what the fault service is given."""

    webhook: WebhookSettings = Field(default_factory=WebhookSettings)
    smtp: SmtpSettings | None = None
    mqtt: MqttAlertSettings | None = None
    line: LineSettings | None = None
