"""Email through Django's mail backends (SMTP in production and CI; the console in the quick
start). Options: BACKEND (a Django email backend path; default settings.EMAIL_BACKEND),
FROM (default settings.DEFAULT_FROM_EMAIL)."""

import smtplib
import socket

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from messaging.channels.base import ChannelBackend, Outgoing, PermanentError, TransientError, UnknownOutcome


class EmailChannel(ChannelBackend):
    provider = "email"

    def send(self, message: Outgoing) -> str:
        connection = get_connection(
            self.options.get("BACKEND") or settings.EMAIL_BACKEND, fail_silently=False
        )
        email = EmailMessage(
            subject=message.subject,
            body=message.body,
            from_email=self.options.get("FROM") or settings.DEFAULT_FROM_EMAIL,
            to=[message.to],
            headers={"X-Idempotency-Key": message.key},
            connection=connection,
        )
        msg_id = email.message()["Message-ID"]
        email.extra_headers["Message-ID"] = msg_id
        try:
            email.send()
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentError(f"recipient refused: {exc.recipients}") from exc
        except (ConnectionRefusedError, socket.gaierror, smtplib.SMTPConnectError) as exc:
            raise TransientError(f"cannot reach the mail server: {exc}") from exc
        except smtplib.SMTPServerDisconnected as exc:
            raise UnknownOutcome(f"the mail server hung up: {exc}") from exc
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:
                raise TransientError(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
            raise PermanentError(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise UnknownOutcome(f"{exc.__class__.__name__}: {exc}") from exc
        return msg_id
