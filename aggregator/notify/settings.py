"""Settings of the notifier; the models live in the settings tree (aggregator.settings.notify)."""

from __future__ import annotations

from aggregator.settings.notify import (
    MqttAlertSettings,
    NotifyPolicy,
    NotifySettings,
    SmtpSettings,
    WebhookSettings,
)

__all__ = ["MqttAlertSettings", "NotifyPolicy", "NotifySettings", "SmtpSettings", "WebhookSettings"]
