"""E-mail channel: one message in Thai and English through an SMTP relay, STARTTLS when offered."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from aggregator.notify.deliveries import Delivery
from aggregator.notify.settings import SmtpSettings
from aggregator.notify.webhook import DeliveryError

__all__ = ["EmailSender", "build_message"]

# What a failed SMTP session can raise: protocol refusals, socket errors and timeouts
# (TimeoutError is an OSError), and a TLS handshake the relay or we refused.
_SMTP_ERRORS = (smtplib.SMTPException, OSError, ssl.SSLError)


def build_message(delivery: Delivery, sender: str) -> EmailMessage:
    """The e-mail for a delivery: Thai first, then English, UTF-8, Message-ID from its key."""
    payload = delivery.payload
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = delivery.recipient
    msg["Subject"] = str(payload["subject"])
    msg["Date"] = formatdate(localtime=False)
    # The idempotency key as Message-ID lets a mail system drop a retried duplicate.
    msg["Message-ID"] = f"<{delivery.key}@camwatch>"
    body = f"{payload['text_th']}\n\n----\n\n{payload['text_en']}\n"
    msg.set_content(body, charset="utf-8")
    return msg


class EmailSender:
    """Send one delivery over SMTP with explicit timeouts."""

    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings
        self._tls = ssl.create_default_context(cafile=settings.cafile)

    def send(self, delivery: Delivery, now: object = None) -> None:
        """Hand the message to the relay; raise DeliveryError when it does not take it."""
        s = self._settings
        msg = build_message(delivery, s.sender)
        try:
            # smtplib applies one timeout to the connect and to every command after it.
            with smtplib.SMTP(s.host, s.port, timeout=s.timeout_s) as smtp:
                smtp.ehlo()
                if s.starttls != "off" and smtp.has_extn("starttls"):
                    smtp.starttls(context=self._tls)
                    smtp.ehlo()
                elif s.starttls == "require":
                    raise DeliveryError(f"{s.host}: relay does not offer STARTTLS")
                if s.username and s.password is not None:
                    smtp.login(s.username, s.password.get_secret_value())
                smtp.send_message(msg)
        except _SMTP_ERRORS as err:
            raise DeliveryError(f"{s.host}:{s.port}: {type(err).__name__}: {err}") from err
