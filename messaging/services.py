"""Every write of messaging. `message_enqueue` is the one entry point for the other apps
(appointments' reminders here; loyalty, feedback and analytics later)."""

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template import Context, Engine
from django.template.base import Node
from django.template.exceptions import TemplateSyntaxError
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Location
from customers.models import ConsentChannel, Customer
from customers.services import consent_set
from messaging import channels, kinds
from messaging.models import MessageTemplate, OutboundMessage, PhoneCode

S = OutboundMessage.Status
UNSUBSCRIBE_SALT = "messaging.unsubscribe"
_ENGINE = Engine(autoescape=False, libraries={})  # plain text: no HTML escaping, no custom tags
_REFUSED_NODES = {
    "IncludeNode",
    "ExtendsNode",
    "DebugNode",
    "LoadNode",
    "BlockNode",
    "CsrfTokenNode",
    "URLNode",
}


# ---- rendering --------------------------------------------------------------------------------


def language_of(customer: Customer | None) -> str:
    language = getattr(customer, "language", "") or settings.LANGUAGE_CODE
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def template_text(kind: str, channel: str, language: str) -> tuple[str, str, str]:
    """(subject, body, wechat template id): the active template of (kind, channel, language),
    else the same in the default language, else the kind's built-in default."""
    for lang in dict.fromkeys([language, settings.LANGUAGE_CODE]):
        row = (
            MessageTemplate.objects.filter(kind=kind, channel=channel, language=lang, is_active=True)
            .values_list("subject", "body", "wechat_template_id")
            .first()
        )
        if row:
            return row
    spec = kinds.get_kind(kind)
    defaults = spec.defaults if spec else {}
    subject, body = defaults.get((channel, language)) or defaults.get((channel, kinds.EN)) or ("", "")
    return subject, body, ""


def render(text: str, context: dict) -> str:
    """A template's text with `context` (plain values only). A template a manager broke renders
    as an error message rather than crashing the dispatcher (the edit page refuses bad syntax)."""
    try:
        return _ENGINE.from_string(text).render(Context(context, autoescape=False)).strip()
    except Exception as exc:  # a bad template must never stop a send or a page
        return f"[template error: {exc}]"


def template_check(text: str) -> None:
    """ValidationError (no field) when `text` is not a valid template."""
    try:
        template = _ENGINE.from_string(text)
    except TemplateSyntaxError as exc:
        raise ValidationError(_("The template has an error: %(e)s") % {"e": exc}) from exc
    # A message is text with values: tags that read files, other templates or the server's
    # state ({% include %}, {% extends %}, {% debug %}, {% load %}, ...) have no place in it.
    used = {type(node).__name__ for node in template.nodelist.get_nodes_by_type(Node)}
    refused = sorted(used & _REFUSED_NODES)
    if refused:
        raise ValidationError(
            _("Messages cannot use these template tags: %(tags)s.") % {"tags": ", ".join(refused)}
        )


def _base_context(customer: Customer | None, location: Location | None) -> dict:
    return {
        "client_name": customer.name if customer else "",
        "salon": location.name if location else settings.MESSAGING_SENDER_NAME,
        "salon_phone": location.phone if location else "",
    }


def unsubscribe_url(customer: Customer, channel: str) -> str:
    token = signing.Signer(salt=UNSUBSCRIBE_SALT).sign_object({"c": customer.pk, "ch": channel})
    return settings.MESSAGING_PUBLIC_URL.rstrip("/") + reverse("messaging:unsubscribe", args=[token])


# ---- enqueue ------------------------------------------------------------------------------------


def _reachable(customer: Customer, channel: str, marketing: bool) -> bool:
    backend = channels.backend(channel)
    if backend is None or not backend.address(customer):
        return False
    return not marketing or bool(getattr(customer, f"consent_{channel}", False))


def choose_channel(customer: Customer | None, kind: str) -> str:
    """The first configured channel that reaches the client (for marketing: one they agreed
    to, else the first that reaches them, so the log says it was the consent that stopped it);
    '' when none reaches them."""
    spec = kinds.get_kind(kind)
    if customer is None:
        return ""
    marketing = bool(spec and spec.marketing)
    for wanted in (marketing, False) if marketing else (False,):
        for channel in channels.configured():
            if _reachable(customer, channel, wanted):
                return channel
    return ""


def message_enqueue(
    *,
    customer: Customer | None,
    kind: str,
    key: str,
    context: dict | None = None,
    when: datetime | None = None,
    channel: str = "",
    location: Location | None = None,
    appointment_id: int | None = None,
    appointment_version: int | None = None,
    to: str = "",
    link: str = "",
) -> OutboundMessage:
    """Plan one message: sent at most once per `key` (a second call with the same key returns the
    first row and changes nothing). Rendered now in the client's language; consent, quiet hours,
    caps and do-not-contact are applied when it is sent. `when` defaults to now; `to` presets
    the address (a one-time code to a phone with no client yet)."""
    spec = kinds.get_kind(kind)
    if spec is None:
        raise ValueError(f"unknown message kind {kind!r}")
    if len(key) > 200:
        raise ValueError("an idempotency key is at most 200 characters")
    existing = OutboundMessage.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    channel = channel or choose_channel(customer, kind) or (channels.configured() or ["sms"])[0]
    language = language_of(customer)
    values = {**_base_context(customer, location), **(context or {})}
    if spec.marketing and customer is not None:
        values["unsubscribe_url"] = unsubscribe_url(customer, channel)
    subject, body, _template_id = template_text(kind, channel, language)
    message = OutboundMessage(
        customer=customer,
        location=location,
        appointment_id=appointment_id,
        appointment_version=appointment_version,
        kind=kind,
        channel=channel,
        idempotency_key=key,
        language=language,
        to=to,
        subject=render(subject, values)[:200],
        body=render(body, values),
        link=link[:500],
        context={k: v for k, v in values.items() if isinstance(v, str | int | float | bool)},
        marketing=spec.marketing,
        scheduled_for=when or timezone.now(),
    )
    if not body:
        message.status, message.reason = S.SUPPRESSED, _("No template for this kind on this channel.")
    try:
        with transaction.atomic():
            message.save()
    except IntegrityError:  # the same key planned at the same moment elsewhere: that one stands
        return OutboundMessage.objects.get(idempotency_key=key)
    if message.status == S.QUEUED and message.scheduled_for <= timezone.now() + timedelta(minutes=1):
        from messaging.tasks import dispatch_soon

        dispatch_soon()
    return message


@transaction.atomic
def messages_withdraw(*, appointment_id: int, reason: str, below_version: int | None = None) -> int:
    """Queued messages about an appointment that no longer hold (moved: those of older versions;
    cancelled: all) become suppressed with `reason`. Sent ones stay as they are."""
    qs = OutboundMessage.objects.filter(appointment_id=appointment_id, status=S.QUEUED)
    if below_version is not None:
        qs = qs.filter(appointment_version__lt=below_version)
    return qs.update(status=S.SUPPRESSED, reason=reason[:200])


# ---- the manager's delivery log -------------------------------------------------------------------


@transaction.atomic
def message_resolve(*, message: OutboundMessage, by, sent: bool, note: str = "") -> OutboundMessage:
    """A person checked an `unknown` message with the provider: it was sent, or it was not (then
    it is failed; it is never re-sent from here)."""
    if not by.has_perm("messaging.manage_messages"):
        raise PermissionDenied(_("You may not resolve messages."))
    message = OutboundMessage.objects.select_for_update().get(pk=message.pk)
    if message.status != S.UNKNOWN:
        raise ValidationError({"status": [_("Only a message in doubt can be resolved.")]})
    message.status = S.SENT if sent else S.FAILED
    message.reason = (note or (_("Checked: sent") if sent else _("Checked: not sent"))).strip()[:200]
    message.resolved_by = by
    message.save(update_fields=["status", "reason", "resolved_by"])
    return message


@transaction.atomic
def template_save(*, template: MessageTemplate, by) -> MessageTemplate:
    if not by.has_perm("messaging.manage_messages"):
        raise PermissionDenied(_("You may not edit message templates."))
    for field in ("subject", "body"):
        try:
            template_check(getattr(template, field))
        except ValidationError as exc:
            raise ValidationError({field: exc.messages}) from exc
    template.updated_by = by
    template.full_clean()
    template.save()
    return template


def templates_install(**kwargs) -> int:
    """Create the default template of every registered kind, channel and language that has none
    yet (after every migrate; never overwrites a manager's edit). Returns how many were made."""
    made = 0
    existing = set(MessageTemplate.objects.values_list("kind", "channel", "language"))
    rows = []
    for spec in kinds.kinds():
        for (channel, language), (subject, body) in spec.defaults.items():
            if (spec.key, channel, language) not in existing:
                rows.append(
                    MessageTemplate(
                        kind=spec.key, channel=channel, language=language, subject=subject, body=body
                    )
                )
    if rows:
        made = len(MessageTemplate.objects.bulk_create(rows, ignore_conflicts=True))
    return made


# ---- receipts and unsubscribe -------------------------------------------------------------------


def receipt_apply(*, provider: str, provider_message_id: str, delivered: bool, error: str = "") -> bool:
    """A provider's delivery receipt: sent → delivered, or → failed with the error. A late
    receipt for a message already marked never moves it back. True if a message changed."""
    qs = OutboundMessage.objects.filter(
        provider=provider, provider_message_id=provider_message_id, status__in=[S.SENT, S.UNKNOWN]
    )
    if delivered:
        return bool(qs.update(status=S.DELIVERED, delivered_at=timezone.now()))
    return bool(qs.update(status=S.FAILED, reason=(error or _("The provider could not deliver it."))[:200]))


def unsubscribe_read(token: str) -> tuple[Customer, str]:
    try:
        data = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign_object(token)
        customer = Customer.objects.get(pk=data["c"], erased_at__isnull=True)
        channel = data["ch"]
    except (signing.BadSignature, ValueError, Customer.DoesNotExist, KeyError, TypeError) as exc:
        raise ValidationError(_("This link is not valid.")) from exc
    if channel not in ConsentChannel.values:
        raise ValidationError(_("This link is not valid."))
    return customer, channel


def unsubscribe(*, token: str) -> tuple[Customer, str]:
    """The link in a marketing message: revokes that channel's marketing consent (a
    ConsentRecord says how). Clicking twice is harmless."""
    customer, channel = unsubscribe_read(token)
    if getattr(customer, f"consent_{channel}", False):
        consent_set(customer=customer, channel=channel, granted=False, method="unsubscribe link")
    return customer, channel


# ---- one-time codes --------------------------------------------------------------------------------


def _code_hash(phone: str, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


@transaction.atomic
def phone_code_send(*, phone: str, purpose: str, location: Location | None = None) -> PhoneCode:
    """Send a 6-digit code to `phone` (E.164) by SMS; valid for settings.MESSAGING_CODE_MINUTES.
    At most MESSAGING_CODES_PER_HOUR codes per phone an hour (ValidationError after that)."""
    now = timezone.now()
    recent = PhoneCode.objects.filter(phone=phone, created_at__gte=now - timedelta(hours=1)).count()
    if recent >= settings.MESSAGING_CODES_PER_HOUR:
        raise ValidationError({"phone": [_("Too many codes for this number; try again in an hour.")]})
    code = f"{secrets.randbelow(10**6):06d}"
    minutes = settings.MESSAGING_CODE_MINUTES
    record = PhoneCode.objects.create(
        phone=phone,
        purpose=purpose,
        code_hash=_code_hash(phone, code),
        expires_at=now + timedelta(minutes=minutes),
    )
    message_enqueue(
        customer=None,
        kind=kinds.PHONE_CODE,
        key=f"code:{record.pk}",
        context={"code": code, "minutes": minutes},
        channel="sms",
        location=location,
        to=phone,
    )
    return record


@transaction.atomic
def phone_code_check(*, phone: str, purpose: str, code: str) -> bool:
    """True once for the newest unexpired code of (phone, purpose); five wrong tries spend it."""
    record = (
        PhoneCode.objects.select_for_update()
        .filter(phone=phone, purpose=purpose, used_at__isnull=True, expires_at__gt=timezone.now())
        .order_by("-created_at")
        .first()
    )
    if record is None or record.attempts >= 5:
        return False
    if not hmac.compare_digest(record.code_hash, _code_hash(phone, (code or "").strip())):
        PhoneCode.objects.filter(pk=record.pk).update(attempts=F("attempts") + 1)
        return False
    record.used_at = timezone.now()
    record.save(update_fields=["used_at"])
    return True
