"""Online prepayment of booking deposits (docs/loyalty.md, "No-show protection").

"Pay at the desk" is the default: `settings.DEPOSIT_PAYMENT_PROVIDER` empty means no online
prepayment at all. Naming a registered provider ("stripe") lets the client pay the deposit a
booking asks for from the booking's manage page:

- `provider()` → the configured `PaymentProvider` or None;
- `start(...)` creates the provider's hosted payment page and answers its URL;
- the provider's signed webhook (`/loyalty/payments/<name>/webhook/`) tells us it was paid:
  `deposit_paid_online` records the Deposit (method "online", reference = the provider's
  payment id) and its TAKEN entry, once (a repeated delivery changes nothing);
- an early cancel refunds it through the provider (`refund_online`, called by
  loyalty.deposits.on_appointment_event); a refund the provider refuses leaves the deposit HELD
  and logs an error for a person to act on.

Stripe Checkout, by its documented REST API (no SDK needed):

    POST {STRIPE_API_BASE}/v1/checkout/sessions (Authorization: Bearer STRIPE_SECRET_KEY,
    Idempotency-Key), form-encoded: mode=payment, line_items[0][price_data][currency|unit_amount|
    product_data][name]], line_items[0][quantity]=1, success_url, cancel_url,
    client_reference_id, metadata[appointment]  →  {"id": "cs_...", "url": "https://checkout..."}
    POST {STRIPE_API_BASE}/v1/refunds payment_intent=pi_...  →  {"id": "re_...", "status": ...}

Webhooks carry `Stripe-Signature: t=<unix>,v1=<hex>`, v1 = HMAC-SHA256(STRIPE_WEBHOOK_SECRET,
"{t}.{raw body}"); older than 5 minutes is refused.
https://docs.stripe.com/api/checkout/sessions/create, https://docs.stripe.com/webhooks"""

import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from decimal import Decimal

import requests
from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from appointments.models import Appointment, AppointmentStatus
from appointments.views.online import _appointment_from_token, _too_many_for_token, manage_token
from loyalty.deposits import BEFORE_SERVICE, _entry, deposit_required
from loyalty.models import Deposit, DepositEntry
from loyalty.selectors import money_text
from salon_crm.ratelimit import public_rate_limit

logger = logging.getLogger(__name__)

ONLINE = "online"  # Deposit.method
TIMEOUT = 10  # seconds, every provider call
SIGNATURE_TOLERANCE = 5 * 60  # seconds
# Stripe's zero-decimal currencies (amounts in whole units); every other one has 2 decimals.
ZERO_DECIMAL = {
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf",
}  # fmt: skip


class ProviderError(Exception):
    """The provider could not be reached or refused the call."""


class BadWebhook(Exception):
    """A webhook that is not signed right, too old or unreadable (answered 400)."""


@dataclass(frozen=True)
class Paid:
    """A payment the provider reports as done."""

    appointment_id: int
    amount: Decimal
    reference: str


def currency() -> str:
    return settings.CURRENCY.lower()


def minor_units(amount: Decimal) -> int:
    digits = 0 if currency() in ZERO_DECIMAL else 2
    return int((Decimal(amount) * 10**digits).to_integral_value())


def from_minor_units(value: int) -> Decimal:
    digits = 0 if currency() in ZERO_DECIMAL else 2
    return (Decimal(value) / 10**digits).quantize(Decimal("0.01"))


class PaymentProvider:
    name = ""

    def start(
        self, *, appointment: Appointment, amount: Decimal, title: str, success_url: str, cancel_url: str
    ):
        """→ the URL of the provider's payment page. Raises ProviderError."""
        raise NotImplementedError

    def refund(self, deposit: Deposit) -> str:
        """Refund the whole deposit → the provider's refund id. Raises ProviderError."""
        raise NotImplementedError

    def webhook(self, body: bytes, headers) -> Paid | None:
        """A verified notification → the payment it reports, or None (an event we ignore).
        Raises BadWebhook."""
        raise NotImplementedError


class StripeCheckout(PaymentProvider):
    name = "stripe"

    def _post(self, path: str, data: dict, key: str) -> dict:
        url = settings.STRIPE_API_BASE.rstrip("/") + path
        headers = {"Authorization": f"Bearer {settings.STRIPE_SECRET_KEY}", "Idempotency-Key": key}
        try:
            response = requests.post(url, data=data, headers=headers, timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise ProviderError(f"Stripe {path}: {exc.__class__.__name__}: {exc}") from exc
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code >= 400 or not isinstance(answer, dict):
            detail = (answer or {}).get("error", {}) if isinstance(answer, dict) else {}
            message = detail.get("message", "") if isinstance(detail, dict) else ""
            raise ProviderError(
                f"Stripe {path}: HTTP {response.status_code} {message or response.text[:200]}"
            )
        return answer

    def start(self, *, appointment, amount, title, success_url, cancel_url) -> str:
        units = minor_units(amount)
        answer = self._post(
            "/v1/checkout/sessions",
            {
                "mode": "payment",
                "line_items[0][price_data][currency]": currency(),
                "line_items[0][price_data][product_data][name]": title,
                "line_items[0][price_data][unit_amount]": str(units),
                "line_items[0][quantity]": "1",
                "success_url": success_url,
                "cancel_url": cancel_url,
                "client_reference_id": str(appointment.pk),
                "metadata[appointment]": str(appointment.pk),
            },
            key=f"deposit-{appointment.pk}-{units}",
        )
        if not isinstance(answer.get("url"), str) or not answer["url"].startswith("https://"):
            raise ProviderError(f"Stripe checkout session without a payment page: {str(answer)[:200]}")
        return answer["url"]

    def refund(self, deposit) -> str:
        answer = self._post(
            "/v1/refunds", {"payment_intent": deposit.reference}, key=f"deposit-refund-{deposit.pk}"
        )
        if answer.get("status") in ("failed", "canceled"):
            raise ProviderError(f"Stripe refund {answer.get('id')}: {answer.get('status')}")
        return str(answer.get("id", ""))

    def webhook(self, body, headers) -> Paid | None:
        secret = settings.STRIPE_WEBHOOK_SECRET
        if not secret:
            raise BadWebhook("STRIPE_WEBHOOK_SECRET is not set")
        verify_stripe_signature(body, headers.get("Stripe-Signature", ""), secret)
        try:
            event = json.loads(body)
        except ValueError:
            raise BadWebhook("malformed JSON") from None
        if not isinstance(event, dict):
            raise BadWebhook("not an event")
        if event.get("type") != "checkout.session.completed":
            return None
        session = (event.get("data") or {}).get("object") if isinstance(event.get("data"), dict) else None
        if not isinstance(session, dict) or session.get("payment_status") != "paid":
            return None
        metadata = session.get("metadata") if isinstance(session.get("metadata"), dict) else {}
        appointment = str(session.get("client_reference_id") or metadata.get("appointment") or "")
        total, intent = session.get("amount_total"), session.get("payment_intent")
        if not appointment.isdigit() or not isinstance(total, int) or total <= 0 or not intent:
            logger.error(
                "Stripe checkout.session.completed %s cannot be matched to a booking", session.get("id")
            )
            return None
        if (session.get("currency") or currency()).lower() != currency():
            logger.error("Stripe checkout session %s paid in %s", session.get("id"), session.get("currency"))
            return None
        return Paid(int(appointment), from_minor_units(total), str(intent))


def stripe_signature(body: bytes, timestamp: int | str, secret: str) -> str:
    payload = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def verify_stripe_signature(body: bytes, header: str, secret: str) -> None:
    parts: dict[str, list[str]] = {}
    for item in (header or "").split(","):
        key, _sep, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts.get("t", [""])[0])
    except ValueError:
        raise BadWebhook("no timestamp") from None
    if abs(time.time() - timestamp) > SIGNATURE_TOLERANCE:
        raise BadWebhook("timestamp outside the tolerance")
    expected = stripe_signature(body, timestamp, secret)
    if not any(hmac.compare_digest(expected, v) for v in parts.get("v1", [])):
        raise BadWebhook("bad signature")


# ---- the registry -------------------------------------------------------------------------------

_PROVIDERS: dict[str, type[PaymentProvider]] = {}


def register_provider(name: str, cls: type[PaymentProvider]) -> None:
    _PROVIDERS[name] = cls


def provider_named(name: str) -> PaymentProvider | None:
    cls = _PROVIDERS.get(name or "")
    return cls() if cls else None


def provider() -> PaymentProvider | None:
    """The configured provider; None: pay at the desk (no online prepayment)."""
    name = getattr(settings, "DEPOSIT_PAYMENT_PROVIDER", "")
    if not name:
        return None
    found = provider_named(name)
    if found is None:
        logger.error("DEPOSIT_PAYMENT_PROVIDER=%r is not a registered provider: paying at the desk", name)
    return found


register_provider(StripeCheckout.name, StripeCheckout)


# ---- the ledger ------------------------------------------------------------------------------------


@transaction.atomic
def deposit_paid_online(paid: Paid) -> Deposit | None:
    """Record a deposit paid online as held (a Deposit and its TAKEN entry), once: a booking that
    already has a deposit keeps it (a second delivery of the same event changes nothing)."""
    appointment = Appointment.objects.select_for_update().filter(pk=paid.appointment_id).first()
    if appointment is None:
        logger.error(
            "Deposit %s paid online for booking %s, which does not exist", paid.reference, paid.appointment_id
        )
        return None
    existing = Deposit.objects.filter(appointment=appointment).first()
    if existing is not None:
        if existing.reference != paid.reference:
            logger.error(
                "Booking %s already holds a deposit: the online payment %s must be refunded by hand",
                appointment.pk,
                paid.reference,
            )
        return existing
    if appointment.status not in BEFORE_SERVICE:
        logger.error(
            "Deposit %s paid online for booking %s, which is %s: recorded as held, refund it by hand",
            paid.reference,
            appointment.pk,
            appointment.status,
        )
    deposit = Deposit.objects.create(
        appointment=appointment,
        customer_id=appointment.customer_id,
        amount=paid.amount,
        method=ONLINE,
        reference=paid.reference[:100],
        location_id=appointment.location_id,
        taken_by=None,
        taken_at=timezone.now(),
    )
    _entry(deposit, DepositEntry.Kind.TAKEN, paid.amount, key=f"deposit:taken:{deposit.pk}")
    return deposit


def refund_online(deposit: Deposit) -> bool:
    """Refund a deposit paid online through the provider before the refund is recorded. False:
    the provider did not refund it (error logged: the deposit stays held for a person)."""
    found = provider()
    if found is None:
        logger.warning(
            "Deposit %s was paid online (%s) but no payment provider is configured: refund it by hand",
            deposit.pk,
            deposit.reference,
        )
        return True
    try:
        found.refund(deposit)
    except ProviderError as exc:
        logger.error(
            "Deposit %s (%s) not refunded online, still held: %s", deposit.pk, deposit.reference, exc
        )
        return False
    return True


# ---- the client's side: the manage page's panel, the pay button, the webhook -----------------------


def _open(appointment: Appointment) -> bool:
    return appointment.status in (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED)


def online_deposit_panel(appointment: Appointment):
    """The booking's manage page (appointments.visit_hooks.online_booking_panels): "Pay the
    deposit now" when the booking asks for one, holds none and a provider is configured; the
    deposit once it is paid online."""
    deposit = Deposit.objects.filter(appointment=appointment).first()
    if deposit is not None:
        if deposit.method != ONLINE or deposit.status != Deposit.Status.HELD:
            return None
        return "loyalty/online_deposit_panel.html", {"paid": money_text(deposit.held)}
    if provider() is None or not _open(appointment):
        return None
    required, _policy = deposit_required(appointment)
    if not required:
        return None
    return "loyalty/online_deposit_panel.html", {
        "amount": money_text(required),
        "token": manage_token(appointment),
    }


def _too_many(request: HttpRequest, token: str) -> HttpResponse:
    return _too_many_for_token(request, token)


@require_POST
@public_rate_limit("manage", limited=_too_many)
def deposit_pay_online(request: HttpRequest, token: str) -> HttpResponse:
    """The manage page's "Pay the deposit now": the provider's payment page (302), which comes
    back to the manage page. 404 when no provider is configured (pay at the desk)."""
    found = provider()
    if found is None:
        raise Http404("No online payment")
    appointment = _appointment_from_token(token)
    manage = request.build_absolute_uri(reverse("appointments:online_manage", args=[token]))
    required, _policy = deposit_required(appointment)
    if not _open(appointment) or not required or Deposit.objects.filter(appointment=appointment).exists():
        return redirect(manage)
    location = appointment.location
    title = _("Deposit for your booking at %(salon)s") % {"salon": location.name}
    try:
        url = found.start(
            appointment=appointment,
            amount=required,
            title=title,
            success_url=manage + "?paid=1",
            cancel_url=manage,
        )
    except ProviderError as exc:
        logger.error("Online deposit for booking %s not started: %s", appointment.pk, exc)
        context = {"location": location, "tz_name": location.time_zone, "manage_url": manage}
        return render(request, "loyalty/online_deposit_failed.html", context, status=502)
    return redirect(url)


@csrf_exempt
@require_POST
def payment_webhook(request: HttpRequest, name: str) -> HttpResponse:
    """A provider's signed notification: 400 when it is not signed right or unreadable, 200
    otherwise (events we ignore too, so the provider stops retrying). 404: not the configured
    provider."""
    found = provider()
    if found is None or found.name != name:
        raise Http404("No such provider")
    try:
        paid = found.webhook(request.body, request.headers)
    except BadWebhook as exc:
        logger.warning("Payment webhook (%s) refused: %s", name, exc)
        return HttpResponse("refused", status=400, content_type="text/plain")
    if paid is not None:
        deposit_paid_online(paid)
    return HttpResponse("ok", content_type="text/plain")
