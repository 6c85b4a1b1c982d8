"""The outbox (发送记录) and the message templates.

The outbox table IS the schedule: every message to a client is a row, planned for a time, with
an idempotency key unique in the database, so a reminder, a survey or a recall is sent at most
once however often it is planned or retried. A beat task drains due rows (messaging.dispatch);
nothing rides on a Celery ETA (Redis re-delivers long ETAs after its visibility timeout)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Location
from customers.models import Customer


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")
    WECHAT = "wechat", _("WeChat")


class MessageTemplate(models.Model):
    """The text of one kind of message on one channel in one language (Django template syntax;
    the context of each kind is listed in messaging.kinds). Email uses `subject` too."""

    kind = models.CharField(_("kind"), max_length=40)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"), max_length=2000)
    # WeChat template messages: the template id registered in the Official Account, and which
    # keywords of it our text fills (the body's lines, in order).
    wechat_template_id = models.CharField(_("WeChat template id"), max_length=64, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["kind", "channel", "language"]
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        constraints = [
            models.UniqueConstraint(fields=["kind", "channel", "language"], name="message_template_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind} / {self.channel} / {self.language}"


class OutboundMessage(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")
        SUPPRESSED = "suppressed", _("Suppressed")
        UNKNOWN = "unknown", _("Unknown (check with the provider)")

    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    # The appointment a message is about (reminders are withdrawn when it moves or is cancelled).
    appointment_id = models.BigIntegerField(null=True, blank=True)
    appointment_version = models.PositiveIntegerField(null=True, blank=True)
    kind = models.CharField(_("kind"), max_length=40)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    language = models.CharField(_("language"), max_length=10)
    to = models.CharField(_("to"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"), blank=True)
    link = models.CharField(_("link"), max_length=500, blank=True)  # WeChat opens it
    context = models.JSONField(default=dict, blank=True)  # ids and display values; never health text
    marketing = models.BooleanField(_("marketing"), default=False)
    scheduled_for = models.DateTimeField(_("scheduled for"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.QUEUED)
    reason = models.CharField(_("reason"), max_length=200, blank=True)  # suppressed / failed / resolved
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    provider = models.CharField(_("provider"), max_length=40, blank=True)
    provider_message_id = models.CharField(_("provider message id"), max_length=100, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)  # a pass's lease on the row
    claimed_at = models.DateTimeField(null=True, blank=True)  # when it turned `sending`
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-scheduled_for", "-pk"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        permissions = [("manage_messages", _("Can read the delivery log and edit message templates"))]
        indexes = [
            # The dispatcher's claim: due queued rows in time order.
            models.Index(fields=["scheduled_for"], name="message_due_idx", condition=Q(status="queued")),
            models.Index(fields=["customer", "-scheduled_for"], name="message_customer_idx"),
            models.Index(fields=["appointment_id"], name="message_appointment_idx"),
            models.Index(fields=["status", "-scheduled_for"], name="message_status_idx"),
            models.Index(fields=["provider", "provider_message_id"], name="message_provider_id_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.to or self.customer_id} ({self.status})"


class PhoneCode(models.Model):
    """A one-time code sent by SMS to prove a phone (online booking). Stored hashed."""

    phone = models.CharField(max_length=32, db_index=True)
    purpose = models.CharField(max_length=32)
    code_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"code for {self.phone} ({self.purpose})"
