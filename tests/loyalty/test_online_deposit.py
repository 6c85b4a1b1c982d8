"""Issue 11 item 10, online: a booking's deposit prepaid through a payment provider (Stripe
Checkout, against a local fake of its API), its signed webhook, and the refund of an early
cancel through the provider. Paying at the desk stays the default (no provider: no panel, 404)."""

import json
import logging
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from appointments.services import BookingItem, appointment_book, appointment_cancel
from appointments.views.online import manage_token
from loyalty.models import Deposit, DepositEntry, DepositPolicy
from loyalty.payments_online import stripe_signature
from tests.appointments.fixtures_core import DAY
from tests.messaging.fakes import FakeProvider, Seen

pytestmark = pytest.mark.django_db

SECRET_KEY = "sk_test_123"
WEBHOOK_SECRET = "whsec_test_abc"
WEBHOOK = "/loyalty/payments/stripe/webhook/"


def stripe_answer(seen: Seen) -> tuple[int, dict]:
    """Like Stripe: 401 without the key, 400 without an idempotency key."""
    if seen.headers.get("Authorization") != f"Bearer {SECRET_KEY}":
        return 401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}}
    if not seen.headers.get("Idempotency-Key"):
        return 400, {"error": {"message": "no idempotency key"}}
    if seen.path == "/v1/checkout/sessions":
        return 200, {
            "id": "cs_test_a1",
            "object": "checkout.session",
            "url": "https://checkout.stripe.test/c/pay/cs_test_a1",
        }
    if seen.path == "/v1/refunds":
        return 200, {"id": "re_1", "object": "refund", "status": "succeeded"}
    return 404, {"error": {"message": "unknown path"}}


@pytest.fixture
def fake():
    provider = FakeProvider(answer=stripe_answer)
    yield provider
    provider.stop()


@pytest.fixture
def stripe(settings, fake):
    settings.DEPOSIT_PAYMENT_PROVIDER = "stripe"
    settings.STRIPE_API_BASE = fake.url
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.CURRENCY = "CNY"
    return fake


@pytest.fixture
def booked(salon, reception):
    DepositPolicy.objects.create(name="Colour", service=salon.colour, kind="fixed", amount=Decimal("100"))
    return appointment_book(
        customer=salon.customer,
        location=salon.location,
        items=[BookingItem(service=salon.colour, staff=salon.stylist, start=salon.at(10, day=DAY))],
        source="online",
        booked_by=None,
    )


def completed_event(appointment, *, event_id="evt_1", status="paid", amount=10000, intent="pi_123") -> dict:
    return {
        "id": event_id,
        "object": "event",
        "type": "checkout.session.completed",
        "data": {
            "object": {
                "id": "cs_test_a1",
                "object": "checkout.session",
                "client_reference_id": str(appointment.pk),
                "metadata": {"appointment": str(appointment.pk)},
                "amount_total": amount,
                "currency": "cny",
                "payment_status": status,
                "payment_intent": intent,
            }
        },
    }


def post_webhook(client, payload, *, secret=WEBHOOK_SECRET, timestamp=None, body=None):
    body = body if body is not None else json.dumps(payload).encode()
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = f"t={timestamp},v1={stripe_signature(body, timestamp, secret)}"
    return client.post(WEBHOOK, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)


# ---- pay at the desk (the default) ---------------------------------------------------------------


def test_without_a_provider_no_panel_and_the_pay_url_is_404(client, booked, settings):
    settings.DEPOSIT_PAYMENT_PROVIDER = ""
    token = manage_token(booked)
    page = client.get(reverse("appointments:online_manage", args=[token]) + "?new=1")
    assert page.status_code == 200
    assert b"online-deposit" not in page.content
    assert client.post(reverse("loyalty:deposit_pay_online", args=[token])).status_code == 404
    assert client.post(WEBHOOK, data=b"{}", content_type="application/json").status_code == 404


# ---- paying online -----------------------------------------------------------------------------


def test_the_manage_page_offers_the_deposit_and_the_pay_button_goes_to_stripe(client, booked, stripe):
    token = manage_token(booked)
    manage = reverse("appointments:online_manage", args=[token])
    page = client.get(manage + "?new=1")
    assert "Pay the deposit of ¥100.00 now" in page.content.decode()
    assert reverse("loyalty:deposit_pay_online", args=[token]) in page.content.decode()
    assert "<script" not in page.content.decode().split('id="online-deposit"')[1].split("</div></div>")[0]

    response = client.post(reverse("loyalty:deposit_pay_online", args=[token]))
    assert response.status_code == 302
    assert response["Location"] == "https://checkout.stripe.test/c/pay/cs_test_a1"
    (seen,) = stripe.seen
    assert (seen.method, seen.path) == ("POST", "/v1/checkout/sessions")
    assert seen.headers["Authorization"] == f"Bearer {SECRET_KEY}"
    assert seen.headers["Idempotency-Key"] == f"deposit-{booked.pk}-10000"
    form = seen.form()
    assert form["mode"] == "payment"
    assert form["line_items[0][price_data][currency]"] == "cny"
    assert form["line_items[0][price_data][unit_amount]"] == "10000"  # fen
    assert form["line_items[0][quantity]"] == "1"
    assert form["line_items[0][price_data][product_data][name]"]
    assert form["client_reference_id"] == str(booked.pk)
    assert form["metadata[appointment]"] == str(booked.pk)
    assert form["success_url"] == "http://testserver" + manage + "?paid=1"
    assert form["cancel_url"] == "http://testserver" + manage
    assert not Deposit.objects.exists()  # nothing is held until Stripe says it is paid


def test_the_pay_button_is_a_post_and_a_provider_failure_is_a_page_not_a_500(client, booked, stripe):
    url = reverse("loyalty:deposit_pay_online", args=[manage_token(booked)])
    assert client.get(url).status_code == 405
    stripe.answer = lambda seen: (500, {"error": {"message": "boom"}})
    response = client.post(url)
    assert response.status_code == 502
    assert b"online-deposit-failed" in response.content
    assert client.post(reverse("loyalty:deposit_pay_online", args=["bad-token"])).status_code == 404


def test_a_signed_completed_event_holds_the_deposit_once(client, booked, stripe):
    response = post_webhook(client, completed_event(booked))
    assert response.status_code == 200
    deposit = Deposit.objects.get(appointment=booked)
    assert (deposit.method, deposit.reference, deposit.status) == ("online", "pi_123", "held")
    assert (deposit.amount, deposit.held) == (Decimal("100.00"), Decimal("100.00"))
    assert [(e.kind, e.amount, e.key) for e in DepositEntry.objects.all()] == [
        ("taken", Decimal("100.00"), f"deposit:taken:{deposit.pk}")
    ]
    # Stripe delivers again: nothing changes
    assert post_webhook(client, completed_event(booked)).status_code == 200
    assert post_webhook(client, completed_event(booked, event_id="evt_2")).status_code == 200
    assert Deposit.objects.count() == 1 and DepositEntry.objects.count() == 1
    # the manage page now says it is paid, and paying again goes back to the page
    token = manage_token(booked)
    page = client.get(reverse("appointments:online_manage", args=[token])).content.decode()
    assert "Your deposit of ¥100.00 is paid." in page and "online-deposit-pay" not in page
    again = client.post(reverse("loyalty:deposit_pay_online", args=[token]))
    assert again.status_code == 302 and again["Location"].endswith(
        reverse("appointments:online_manage", args=[token])
    )
    assert stripe.seen == []


@pytest.mark.parametrize(
    "how",
    ["wrong secret", "old timestamp", "no header", "tampered body", "malformed json"],
)
def test_a_webhook_not_signed_right_or_unreadable_is_400_and_changes_nothing(client, booked, stripe, how):
    payload = completed_event(booked)
    if how == "wrong secret":
        response = post_webhook(client, payload, secret="whsec_other")
    elif how == "old timestamp":
        response = post_webhook(client, payload, timestamp=int(time.time()) - 6 * 60)
    elif how == "no header":
        response = client.post(WEBHOOK, data=json.dumps(payload), content_type="application/json")
    elif how == "tampered body":
        body = json.dumps(payload).encode()
        timestamp = int(time.time())
        signature = f"t={timestamp},v1={stripe_signature(body, timestamp, WEBHOOK_SECRET)}"
        response = client.post(
            WEBHOOK,
            data=body.replace(b"10000", b"1"),
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature,
        )
    else:
        response = post_webhook(client, None, body=b'{"type": "checkout.session.completed", ')
    assert response.status_code == 400
    assert not Deposit.objects.exists()


def test_events_it_ignores_are_200(client, booked, stripe):
    other = {"id": "evt_9", "type": "payment_intent.created", "data": {"object": {"id": "pi_1"}}}
    assert post_webhook(client, other).status_code == 200
    assert post_webhook(client, completed_event(booked, status="unpaid")).status_code == 200
    assert post_webhook(client, [1, 2]).status_code == 400  # not an event at all
    assert not Deposit.objects.exists()
    assert client.get(WEBHOOK).status_code == 405


# ---- an early cancel refunds through the provider --------------------------------------------------


def _paid_online_far_ahead(client, salon, reception):
    DepositPolicy.objects.create(name="Colour", service=salon.colour, kind="fixed", amount=Decimal("100"))
    appointment = appointment_book(
        customer=salon.customer,
        location=salon.location,
        items=[
            BookingItem(
                service=salon.colour, staff=salon.stylist, start=salon.at(10, day=DAY + timedelta(days=5))
            )
        ],
        source="online",
        booked_by=None,
    )
    assert post_webhook(client, completed_event(appointment, intent="pi_far")).status_code == 200
    return appointment


def test_an_early_cancel_refunds_through_stripe(
    client, salon, reception, stripe, on_the_day, django_capture_on_commit_callbacks
):
    appointment = _paid_online_far_ahead(client, salon, reception)
    with django_capture_on_commit_callbacks(execute=True):
        appointment_cancel(appointment=appointment, by=reception.user, reason="travel")
    deposit = Deposit.objects.get(appointment=appointment)
    assert (deposit.status, deposit.held) == ("refunded", Decimal("0.00"))
    (seen,) = stripe.seen
    assert (seen.path, seen.form()) == ("/v1/refunds", {"payment_intent": "pi_far"})
    assert seen.headers["Authorization"] == f"Bearer {SECRET_KEY}"
    assert seen.headers["Idempotency-Key"] == f"deposit-refund-{deposit.pk}"


def test_a_refund_stripe_refuses_keeps_the_deposit_held_and_logs_an_error(
    client, salon, reception, stripe, on_the_day, django_capture_on_commit_callbacks, caplog
):
    appointment = _paid_online_far_ahead(client, salon, reception)
    stripe.answer = lambda seen: (500, {"error": {"message": "internal"}})
    with (
        caplog.at_level(logging.ERROR, logger="loyalty.payments_online"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        appointment_cancel(appointment=appointment, by=reception.user, reason="travel")
    deposit = Deposit.objects.get(appointment=appointment)
    assert (deposit.status, deposit.held) == ("held", Decimal("100.00"))
    assert [e.kind for e in deposit.entries.all()] == ["taken"]
    assert len(stripe.seen) == 1 and stripe.seen[0].path == "/v1/refunds"
    assert any("not refunded online" in r.getMessage() for r in caplog.records)


def test_a_desk_deposit_is_refunded_without_calling_the_provider(
    salon, reception, stripe, on_the_day, django_capture_on_commit_callbacks
):
    from loyalty import deposits

    DepositPolicy.objects.create(name="Colour", service=salon.colour, kind="fixed", amount=Decimal("100"))
    appointment = appointment_book(
        customer=salon.customer,
        location=salon.location,
        items=[
            BookingItem(
                service=salon.colour, staff=salon.stylist, start=salon.at(10, day=DAY + timedelta(days=5))
            )
        ],
        source="front_desk",
        booked_by=reception.user,
    )
    deposits.deposit_take(appointment=appointment, method="cash", by=reception.user)
    with django_capture_on_commit_callbacks(execute=True):
        appointment_cancel(appointment=appointment, by=reception.user, reason="travel")
    assert Deposit.objects.get(appointment=appointment).status == "refunded"
    assert stripe.seen == []
