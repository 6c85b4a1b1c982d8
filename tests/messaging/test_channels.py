"""Each channel against a local fake of its provider (or a real SMTP server), and the signed
delivery-receipt webhooks."""

import json
import time
from email import message_from_bytes

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse

from messaging import dispatch, kinds
from messaging.channels.sms_http import signature
from messaging.channels.twilio import twilio_signature
from messaging.channels.wechat import wechat_signature
from messaging.models import OutboundMessage
from messaging.services import message_enqueue
from tests.appointments.factories import CustomerFactory
from tests.messaging.fakes import FakeProvider

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]  # noon at the salon: no quiet hours
S = OutboundMessage.Status


@pytest.fixture
def fake():
    provider = FakeProvider()
    yield provider
    provider.stop()


@pytest.fixture
def emily(db):
    return CustomerFactory(
        name="Emily", phone="+8613800138000", email="emily@example.com", wechat_openid="o-emily"
    )


def send_thanks(customer, key="k1", channel=""):
    message = message_enqueue(
        customer=customer, kind=kinds.THANK_YOU, key=key, context={"services": "Cut"}, channel=channel
    )
    dispatch.dispatch_pass()
    message.refresh_from_db()
    return message


# ---- the generic JSON SMS gateway ----------------------------------------------------------------


def http_sms(fake, **options):
    return {
        "sms": {
            "BACKEND": "messaging.channels.sms_http.HttpSmsChannel",
            "OPTIONS": {"URL": fake.url + "/send", "TOKEN": "t0k", "WEBHOOK_SECRET": "s3cret", **options},
        }
    }


def test_http_sms_sends_with_the_key_and_a_signed_receipt_marks_delivered(fake, emily, client):
    with override_settings(MESSAGING_CHANNELS=http_sms(fake), MESSAGING_CHANNEL_ORDER=["sms"]):
        message = send_thanks(emily)
        assert (message.status, message.provider, message.provider_message_id) == (S.SENT, "sms_http", "p-k1")
        seen = fake.seen[0]
        assert (seen.path, seen.headers["Idempotency-Key"], seen.headers["Authorization"]) == (
            "/send",
            "k1",
            "Bearer t0k",
        )
        assert seen.json() == {"to": "+8613800138000", "text": message.body, "sender": "", "reference": "k1"}
        # a receipt with a wrong signature changes nothing; a signed one marks it delivered
        body = json.dumps({"id": "p-k1", "status": "delivered"}).encode()
        url = reverse("messaging:receipts", args=["sms_http"])
        forged = client.post(url, body, content_type="application/json", HTTP_X_SIGNATURE="0" * 64)
        assert forged.status_code == 403
        message.refresh_from_db()
        assert message.status == S.SENT
        ok = client.post(
            url, body, content_type="application/json", HTTP_X_SIGNATURE=signature("s3cret", body)
        )
        assert (ok.status_code, ok.content) == (200, b"1")
        message.refresh_from_db()
        assert message.status == S.DELIVERED and message.delivered_at is not None


def test_http_sms_a_failed_receipt_and_a_refusal(fake, emily, client):
    fake.answer = lambda seen: (400, {"error": "bad number"})
    with override_settings(MESSAGING_CHANNELS=http_sms(fake), MESSAGING_CHANNEL_ORDER=["sms"]):
        refused = send_thanks(emily)
        assert (refused.status, refused.attempts) == (S.FAILED, 1)
        assert refused.reason.startswith("HTTP 400")
        fake.answer = None
        sent = send_thanks(emily, key="k2")
        body = json.dumps(
            {"id": sent.provider_message_id, "status": "failed", "error": "handset off"}
        ).encode()
        client.post(
            reverse("messaging:receipts", args=["sms_http"]),
            body,
            content_type="application/json",
            HTTP_X_SIGNATURE=signature("s3cret", body),
        )
        sent.refresh_from_db()
        assert (sent.status, sent.reason) == (S.FAILED, "handset off")


@pytest.mark.parametrize(("status", "expected"), [(503, S.QUEUED), (429, S.QUEUED), (500, S.UNKNOWN)])
def test_http_sms_server_errors(fake, emily, status, expected):
    fake.answer = lambda seen: (status, {})
    with override_settings(MESSAGING_CHANNELS=http_sms(fake), MESSAGING_CHANNEL_ORDER=["sms"]):
        assert send_thanks(emily).status == expected


def test_http_sms_a_provider_that_is_down_is_retried_later(emily):
    down = FakeProvider()
    url = down.url
    down.stop()  # nothing listens there any more
    channels = {"sms": {"BACKEND": "messaging.channels.sms_http.HttpSmsChannel", "OPTIONS": {"URL": url}}}
    with override_settings(MESSAGING_CHANNELS=channels, MESSAGING_CHANNEL_ORDER=["sms"]):
        message = send_thanks(emily)
    assert (message.status, message.attempts) == (S.QUEUED, 1)
    assert message.last_error.startswith("cannot connect")


# ---- Twilio ---------------------------------------------------------------------------------------


def twilio(fake):
    return {
        "sms": {
            "BACKEND": "messaging.channels.twilio.TwilioChannel",
            "OPTIONS": {
                "ACCOUNT_SID": "AC123",
                "AUTH_TOKEN": "tw-token",
                "FROM": "+15005550006",
                "STATUS_CALLBACK": "https://crm.example.com/messaging/receipts/twilio/",
                "BASE_URL": fake.url,
            },
        }
    }


def test_twilio_sends_by_its_rest_api_and_a_signed_status_callback_is_read(fake, emily, client):
    fake.answer = lambda seen: (201, {"sid": "SM0001", "status": "queued"})
    with override_settings(MESSAGING_CHANNELS=twilio(fake), MESSAGING_CHANNEL_ORDER=["sms"]):
        message = send_thanks(emily)
        seen = fake.seen[0]
        assert seen.path == "/2010-04-01/Accounts/AC123/Messages.json"
        assert seen.headers["Authorization"].startswith("Basic ")
        assert seen.form() == {
            "To": "+8613800138000",
            "From": "+15005550006",
            "Body": message.body,
            "StatusCallback": "https://crm.example.com/messaging/receipts/twilio/",
        }
        assert (message.status, message.provider_message_id) == (S.SENT, "SM0001")
        params = {"MessageSid": "SM0001", "MessageStatus": "delivered", "AccountSid": "AC123"}
        callback = "https://crm.example.com/messaging/receipts/twilio/"
        bad = client.post(
            reverse("messaging:receipts", args=["twilio"]), params, HTTP_X_TWILIO_SIGNATURE="nope"
        )
        assert bad.status_code == 403
        good = client.post(
            reverse("messaging:receipts", args=["twilio"]),
            params,
            HTTP_X_TWILIO_SIGNATURE=twilio_signature("tw-token", callback, params),
        )
        assert good.status_code == 200
    message.refresh_from_db()
    assert message.status == S.DELIVERED


def test_twilio_error_code_is_a_permanent_failure(fake, emily):
    fake.answer = lambda seen: (
        400,
        {"code": 21211, "message": "The 'To' number is not a valid phone number."},
    )
    with override_settings(MESSAGING_CHANNELS=twilio(fake), MESSAGING_CHANNEL_ORDER=["sms"]):
        message = send_thanks(emily)
    assert (message.status, message.reason) == (
        S.FAILED,
        "Twilio 21211: The 'To' number is not a valid phone number.",
    )


# ---- WeChat template messages -----------------------------------------------------------------------


def wechat(fake):
    return {
        "wechat": {
            "BACKEND": "messaging.channels.wechat.WeChatChannel",
            "OPTIONS": {"APP_ID": "wx1", "APP_SECRET": "sec", "TOKEN": "wx-token", "BASE_URL": fake.url},
        }
    }


def test_wechat_caches_the_token_refreshes_it_when_expired_and_sends(fake, emily, client):
    cache.delete("messaging:wechat-token:wx1")
    tokens = iter(["T1", "T2"])
    rejected = {"T1": 0}

    def answer(seen):
        if seen.path == "/cgi-bin/token":
            return 200, {"access_token": next(tokens), "expires_in": 7200}
        if seen.query["access_token"] == "T1" and rejected["T1"] == 1:
            rejected["T1"] += 1
            return 200, {"errcode": 42001, "errmsg": "access_token expired"}
        rejected["T1"] += seen.query["access_token"] == "T1"
        return 200, {"errcode": 0, "errmsg": "ok", "msgid": 1000 + len(fake.seen)}

    fake.answer = answer
    with override_settings(MESSAGING_CHANNELS=wechat(fake), MESSAGING_CHANNEL_ORDER=["wechat"]):
        first = send_thanks(emily, key="w1")  # token T1 fetched and used
        second = send_thanks(emily, key="w2")  # T1 from the cache is refused: T2 fetched, sent
        paths = [(s.path, s.query.get("access_token")) for s in fake.seen]
        assert paths == [
            ("/cgi-bin/token", None),
            ("/cgi-bin/message/template/send", "T1"),
            ("/cgi-bin/message/template/send", "T1"),
            ("/cgi-bin/token", None),
            ("/cgi-bin/message/template/send", "T2"),
        ]
        body = fake.seen[1].json()
        assert body["touser"] == "o-emily" and body["data"]["first"]["value"] == first.body
        assert (first.status, second.status) == (S.SENT, S.SENT)
        # the delivery event WeChat pushes, signed with the server token
        xml = (
            f"<xml><MsgType>event</MsgType><Event>TEMPLATESENDJOBFINISH</Event>"
            f"<MsgID>{second.provider_message_id}</MsgID><Status>success</Status></xml>"
        ).encode()
        query = {"timestamp": "1700000000", "nonce": "42"}
        query["signature"] = wechat_signature("wx-token", query["timestamp"], query["nonce"])
        url = (
            reverse("messaging:receipts", args=["wechat"])
            + "?"
            + "&".join(f"{k}={v}" for k, v in query.items())
        )
        response = client.post(url, xml, content_type="text/xml")
        assert (response.status_code, response.content) == (200, b"success")
        verify = client.get(url + "&echostr=hello")
        assert verify.content == b"hello"
    second.refresh_from_db()
    assert second.status == S.DELIVERED


# ---- email over real SMTP --------------------------------------------------------------------------


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append((envelope.rcpt_tos, envelope.content))
            return "250 OK"

    import socket

    with socket.socket() as probe:  # a free port (aiosmtpd needs a real one to check it started)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield controller, inbox
    controller.stop()


def test_email_really_arrives_over_smtp(smtp_server, emily):
    controller, inbox = smtp_server
    port = controller.port
    channels = {"email": {"BACKEND": "messaging.channels.email.EmailChannel"}}
    with override_settings(
        MESSAGING_CHANNELS=channels,
        MESSAGING_CHANNEL_ORDER=["email"],
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=port,
        EMAIL_USE_TLS=False,
        DEFAULT_FROM_EMAIL="salon@example.com",
    ):
        message = send_thanks(emily)
    for _ in range(50):
        if inbox.messages:
            break
        time.sleep(0.05)
    assert message.status == S.SENT
    [(recipients, raw)] = inbox.messages
    mail = message_from_bytes(raw)
    assert recipients == ["emily@example.com"]
    assert (mail["Subject"], mail["X-Idempotency-Key"], mail["Message-ID"]) == (
        "Thank you for visiting Salon",
        "k1",
        message.provider_message_id,
    )
    assert message.body in mail.get_payload(decode=True).decode()
