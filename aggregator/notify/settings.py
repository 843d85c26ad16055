"""Settings of the notifier; the models live in the settings tree (aggregator.settings.notify)."""

from __future__ import annotations

from aggregator.settings.notify import (
    LineSettings,
    MqttAlertSettings,
    NotifyPolicy,
    NotifySettings,
    SmtpSettings,
    WebhookSettings,
)

__all__ = ["LineSettings", "MqttAlertSettings", "NotifyPolicy", "NotifySettings", "SmtpSettings", "WebhookSettings"]
