"""The outbox: at most once per key, the rules applied at send time, retries, and the
dispatcher's answers to every kind of provider outcome."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings

from customers.models import ConsentRecord
from messaging import dispatch, kinds
from messaging.channels import local
from messaging.channels.base import ChannelBackend, PermanentError, TransientError, UnknownOutcome
from messaging.models import MessageTemplate, OutboundMessage
from messaging.services import (
    message_enqueue,
    messages_withdraw,
    templates_install,
    unsubscribe,
    unsubscribe_url,
)
from tests.appointments.factories import CustomerFactory

pytestmark = pytest.mark.django_db
S = OutboundMessage.Status
SHANGHAI = ZoneInfo("Asia/Shanghai")
LONDON = ZoneInfo("Europe/London")

RECALL = kinds.Kind(
    "test_recall",
    "Recall",
    marketing=True,
    context=("client_name",),
    defaults={
        ("sms", "en"): ("", "Hi {{ client_name }}, we miss you. Stop: {{ unsubscribe_url }}"),
        ("sms", "zh-hans"): ("", "{{ client_name }}，好久不见。退订：{{ unsubscribe_url }}"),
    },
)


@pytest.fixture
def recall():
    kinds.register_kind(RECALL)
    yield RECALL
    kinds.unregister_kind(RECALL.key)


@pytest.fixture
def client_(db):
    return CustomerFactory(name="Emily", phone="+8613800138000", email="emily@example.com")


def enqueue(customer, key="k1", kind=kinds.THANK_YOU, **extra):
    return message_enqueue(customer=customer, kind=kind, key=key, context={"services": "Cut"}, **extra)


def at_local(tz, hour, minute=0, day=5):
    return datetime(2027, 1, day, hour, minute, tzinfo=tz)


# ---- at most once per key ---------------------------------------------------------------------------


def test_the_same_key_plans_one_message(client_, clock):
    first = enqueue(client_)
    second = message_enqueue(customer=client_, kind=kinds.THANK_YOU, key="k1", context={"services": "Colour"})
    assert (first.pk, second.body) == (second.pk, first.body)
    assert OutboundMessage.objects.count() == 1


def test_a_sent_message_is_never_sent_again(client_, clock):
    enqueue(client_)
    assert dispatch.dispatch_pass().sent == 1
    enqueue(client_)  # planned again with the same key
    assert dispatch.dispatch_pass().sent == 0
    assert [m.key for m in local.outbox] == ["k1"]


def test_rendered_in_the_clients_language_with_the_first_reachable_channel(client_, clock):
    client_.language = "zh-hans"
    client_.save()
    message = enqueue(client_)
    assert (message.channel, message.language) == ("sms", "zh-hans")  # no WeChat openid on file
    assert message.body == "【Salon】Emily，感谢您今天的光临，期待再次为您服务。"


def test_a_manager_edit_of_the_template_is_used(client_, clock, manager):
    templates_install()
    MessageTemplate.objects.filter(kind=kinds.THANK_YOU, channel="sms", language="en").update(
        body="Thanks {{ client_name }}! ({{ services }})"
    )
    assert enqueue(client_).body == "Thanks Emily! (Cut)"


# ---- rules at send time ---------------------------------------------------------------------------


def test_do_not_contact_suppresses_but_a_code_the_client_asked_for_goes(client_, clock):
    client_.do_not_contact = True
    client_.save()
    enqueue(client_, key="thanks")
    message_enqueue(
        customer=client_, kind=kinds.PHONE_CODE, key="code", context={"code": "123456", "minutes": 10}
    )
    dispatch.dispatch_pass()
    thanks, code = (
        OutboundMessage.objects.get(idempotency_key="thanks"),
        OutboundMessage.objects.get(idempotency_key="code"),
    )
    assert (thanks.status, thanks.reason) == (S.SUPPRESSED, "The client asked not to be contacted.")
    assert code.status == S.SENT


def test_marketing_needs_consent_on_its_channel(client_, clock, recall):
    message = enqueue(client_, key="recall", kind=recall.key)
    dispatch.dispatch_pass()
    message.refresh_from_db()
    assert (message.status, message.reason) == (S.SUPPRESSED, "No marketing consent on this channel.")
    assert local.outbox == []


@override_settings(MESSAGING_MARKETING_CAP=(2, 30))
def test_the_marketing_cap_per_client(client_, clock, recall):
    client_.consent_sms = True
    client_.save()
    for n in range(3):
        enqueue(client_, key=f"recall-{n}", kind=recall.key)
    result = dispatch.dispatch_pass()
    assert (result.sent, result.suppressed) == (2, 1)
    capped = OutboundMessage.objects.get(idempotency_key="recall-2")
    assert capped.reason == "Marketing cap reached: 2 in 30 days."


@pytest.mark.parametrize(
    ("tz", "now", "expected_end"),
    [
        # Shanghai: 22:30 on the 5th is quiet until 09:00 on the 6th (across midnight)
        (SHANGHAI, at_local(SHANGHAI, 22, 30), at_local(SHANGHAI, 9, 0, day=6)),
        # 02:00 after midnight: quiet until 09:00 the same day
        (SHANGHAI, at_local(SHANGHAI, 2, 0), at_local(SHANGHAI, 9, 0)),
        # London's wall clock, not Shanghai's: 23:00 London is 07:00 in Shanghai
        (LONDON, at_local(LONDON, 23, 0), at_local(LONDON, 9, 0, day=6)),
        (LONDON, at_local(LONDON, 12, 0), None),
        (SHANGHAI, at_local(SHANGHAI, 9, 0), None),
        (SHANGHAI, at_local(SHANGHAI, 20, 59), None),
    ],
)
def test_quiet_hours_in_the_locations_zone(tz, now, expected_end):
    assert dispatch.quiet_hours_end(tz, now) == expected_end


def test_quiet_hours_defer_and_the_message_goes_out_after(client_, clock, salon):
    salon.location.time_zone = "Europe/London"
    salon.location.save()
    clock.set(at_local(LONDON, 23, 15))
    message = enqueue(client_, location=salon.location)
    assert dispatch.dispatch_pass().deferred == 1
    message.refresh_from_db()
    assert (message.status, message.scheduled_for, message.attempts) == (
        S.QUEUED,
        at_local(LONDON, 9, 0, 6),
        0,
    )
    clock.set(at_local(LONDON, 8, 59, day=6))
    assert dispatch.dispatch_pass().claimed == 0
    clock.set(at_local(LONDON, 9, 0, day=6))
    assert dispatch.dispatch_pass().sent == 1


def test_unsubscribe_link_revokes_that_channels_consent(client_, clock, recall):
    client_.consent_sms = True
    client_.save()
    message = enqueue(client_, key="recall", kind=recall.key)
    url = unsubscribe_url(client_, "sms")
    assert url in message.body
    customer, channel = unsubscribe(token=url.rstrip("/").rsplit("/", 1)[1])
    client_.refresh_from_db()
    assert (channel, client_.consent_sms) == ("sms", False)
    record = ConsentRecord.objects.get(customer=client_)
    assert (record.channel, record.granted, record.method) == ("sms", False, "unsubscribe link")
    dispatch.dispatch_pass()
    message.refresh_from_db()
    assert message.status == S.SUPPRESSED  # the consent is checked when it is sent


# ---- provider outcomes ---------------------------------------------------------------------------


class Scripted(ChannelBackend):
    """Answers with the next outcome of `script` (an exception class or a provider id)."""

    provider = "scripted"
    script: list = []

    def send(self, message):
        outcome = Scripted.script.pop(0)
        if isinstance(outcome, type):
            raise outcome("provider says no")
        return outcome


SCRIPTED = {"sms": {"BACKEND": "tests.messaging.test_outbox.Scripted"}}


@override_settings(MESSAGING_CHANNELS=SCRIPTED, MESSAGING_CHANNEL_ORDER=["sms"], MESSAGING_MAX_ATTEMPTS=3)
def test_transient_errors_retry_with_backoff_then_give_up(client_, clock):
    Scripted.script = [TransientError, TransientError, TransientError]
    message = enqueue(client_)
    start = clock.now
    assert dispatch.dispatch_pass().retried == 1
    message.refresh_from_db()
    assert (message.status, message.attempts, message.scheduled_for) == (
        S.QUEUED,
        1,
        start + timedelta(minutes=1),
    )
    clock.set(message.scheduled_for)
    dispatch.dispatch_pass()
    message.refresh_from_db()
    assert (message.attempts, message.scheduled_for) == (2, clock.now + timedelta(minutes=2))
    clock.set(message.scheduled_for)
    assert dispatch.dispatch_pass().failed == 1
    message.refresh_from_db()
    assert (message.status, message.reason, message.last_error) == (
        S.FAILED,
        "Gave up after 3 attempts.",
        "provider says no",
    )


@override_settings(MESSAGING_CHANNELS=SCRIPTED, MESSAGING_CHANNEL_ORDER=["sms"])
def test_a_refusal_fails_at_once_and_a_lost_answer_is_unknown_never_resent(client_, clock):
    Scripted.script = [PermanentError, UnknownOutcome]
    refused, lost = enqueue(client_, key="a"), enqueue(client_, key="b")
    result = dispatch.dispatch_pass()
    assert (result.failed, result.unknown) == (1, 1)
    refused.refresh_from_db()
    lost.refresh_from_db()
    assert (refused.status, refused.attempts) == (S.FAILED, 1)
    assert (lost.status, lost.reason) == (
        S.UNKNOWN,
        "The provider's answer was lost; check with the provider.",
    )
    clock.set(clock.now + timedelta(hours=1))
    assert dispatch.dispatch_pass().claimed == 0  # neither is tried again


def test_a_worker_that_died_while_sending_leaves_unknown_and_the_rest_go_out(client_, clock):
    # given a worker claimed a batch, turned one row to sending and died
    for n in range(3):
        enqueue(client_, key=f"m{n}")
    ids = dispatch._claim(10, clock.now)
    OutboundMessage.objects.filter(pk=ids[0]).update(status=S.SENDING, claimed_at=clock.now)
    # when the next pass runs after the lease and the sending timeout
    clock.set(clock.now + timedelta(minutes=6))
    result = dispatch.dispatch_pass()
    # then the one in flight is unknown (never re-sent) and the other two are sent
    assert (result.unknown, result.sent) == (1, 2)
    assert sorted(m.key for m in local.outbox) == ["m1", "m2"]
    assert OutboundMessage.objects.get(pk=ids[0]).status == S.UNKNOWN


def test_withdrawn_messages_of_an_older_version_are_suppressed(client_, clock):
    old = enqueue(client_, key="v1", appointment_id=7, appointment_version=1)
    new = enqueue(client_, key="v2", appointment_id=7, appointment_version=2)
    assert messages_withdraw(appointment_id=7, reason="moved", below_version=2) == 1
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.status, new.status) == (S.SUPPRESSED, S.QUEUED)


# ---- the client's data rights and merging (messaging/clients.py) -----------------------------------


def test_merging_two_clients_moves_their_messages_to_the_kept_one(clock, manager):
    from customers.services import customer_merge

    keep = CustomerFactory(name="Li Mei", phone="+8613700001234")
    twin = CustomerFactory(name="Li Mei (online)", phone=None)
    message_enqueue(customer=twin, kind=kinds.THANK_YOU, key="twin:1", context={"services": "Cut"})
    record = customer_merge(keep=keep, merge=twin, by=manager.user)
    assert list(OutboundMessage.objects.values_list("customer", flat=True)) == [keep.pk]
    assert record.moved == {"messaging.OutboundMessage.customer": 1}


def test_erasure_blanks_the_texts_and_withdraws_what_is_queued(clock, manager):
    from customers.services import customer_erase, customer_export_data

    client = CustomerFactory(name="Emily Stone", phone="+8613800138000")
    sent = message_enqueue(customer=client, kind=kinds.THANK_YOU, key="e:1", context={"services": "Cut"})
    dispatch.dispatch_pass()
    later = message_enqueue(
        customer=client, kind=kinds.THANK_YOU, key="e:2", context={"services": "Cut"},
        when=clock.now + timedelta(days=1),
    )  # fmt: skip
    exported = customer_export_data(customer=client)["messages"]
    assert [(m["status"], "Emily Stone" in m["text"]) for m in exported] == [("sent", True), ("queued", True)]
    customer_erase(customer=client, user=manager.user)
    sent.refresh_from_db()
    later.refresh_from_db()
    assert (sent.status, sent.body, sent.to) == (S.SENT, "", "")
    assert (later.status, later.body) == (S.SUPPRESSED, "")
    assert not OutboundMessage.objects.filter(body__contains="Emily").exists()
