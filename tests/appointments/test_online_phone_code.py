"""Issue 9 item 3's second way, with issue 10's one-time codes: when the setting offers it
(ONLINE_BOOKING_PHONE_CODE, off by default), the online page sends a 6-digit code by SMS to the
phone typed; with the right code the booking goes on the file of the client with that phone,
whatever name was typed. A wrong code is a form error; without a code the booking is held for
the desk as before. appointments asks messaging through a registered PhoneProver."""

import re
from datetime import UTC, datetime, time, timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment, OnlineClientCheck
from messaging import dispatch
from messaging.channels import local
from messaging.models import OutboundMessage, PhoneCode
from tests.appointments import fixtures_core
from tests.appointments.factories import CustomerFactory

salon = fixtures_core.salon
pytestmark = pytest.mark.django_db
PHONE = "+8613700001234"


@pytest.fixture(autouse=True)
def _setup(monkeypatch, salon):
    cache.clear()
    local.outbox.clear()
    # 10:05 on DAY at the salon (outside quiet hours); the booking is two days later.
    monkeypatch.setattr(timezone, "now", lambda: salon.at(10, 5).astimezone(UTC))


@pytest.fixture
def codes_on(settings):
    settings.ONLINE_BOOKING_PHONE_CODE = True


@pytest.fixture
def li_mei(db):
    return CustomerFactory(name="Li Mei", phone=PHONE)


def details(client, salon):
    start = datetime.combine(fixtures_core.DAY + timedelta(days=2), time(10), tzinfo=salon.location.tz)
    url = reverse("appointments:online_book", args=[salon.location.code])
    query = {
        "service": salon.cut.pk,
        "staff": salon.stylist.pk,
        "slot_staff": salon.stylist.pk,
        "start": start.isoformat(),
    }
    return client.get(url, query)


def submit(client, salon, **extra):
    start = datetime.combine(fixtures_core.DAY + timedelta(days=2), time(10), tzinfo=salon.location.tz)
    data = {"service": salon.cut.pk, "staff": salon.stylist.pk, "start": start.isoformat(), "name": "Wang Fang",
            "phone": "137 0000 1234", **extra}  # fmt: skip
    return client.post(reverse("appointments:online_submit", args=[salon.location.code]), data)


def ask_code(client, salon, phone="137 0000 1234"):
    return client.post(
        reverse("appointments:online_phone_code", args=[salon.location.code]), {"phone": phone}
    )


def sent_code() -> str:
    dispatch.dispatch_pass()
    [message] = [m for m in local.outbox if m.kind == "phone_code"]
    return re.search(r"\b(\d{6})\b", message.body).group(1)


def test_off_by_default_nothing_is_offered(client, salon, li_mei):
    assert 'id="phone-code"' not in details(client, salon).content.decode()
    assert ask_code(client, salon).status_code == 404
    assert not PhoneCode.objects.exists()


def test_with_the_code_a_strangers_name_books_onto_the_phones_client(client, salon, li_mei, codes_on):
    assert 'id="phone-code"' in details(client, salon).content.decode()
    answer = ask_code(client, salon)
    assert (answer.status_code, answer.content.decode()) == (
        200,
        "We sent a 6-digit code to your phone. Type it below.",
    )
    assert OutboundMessage.objects.get(kind="phone_code").to == PHONE
    code = sent_code()
    assert submit(client, salon, code=code).status_code == 302
    assert list(Appointment.objects.values_list("customer__name", flat=True)) == ["Li Mei"]
    assert not OnlineClientCheck.objects.exists()
    # the code was used up: the same code does not prove the phone a second time
    again = submit(client, salon, code=code)
    assert again.status_code == 400 and "That code is not right or has expired." in again.content.decode()


def test_a_wrong_code_is_a_form_error_and_books_nothing(client, salon, li_mei, codes_on):
    ask_code(client, salon)
    response = submit(client, salon, code="000000" if sent_code() != "000000" else "111111")
    assert response.status_code == 400
    assert "That code is not right or has expired." in response.content.decode()
    assert not Appointment.objects.exists()
    assert "The code has 6 digits." in submit(client, salon, code="12ab").content.decode()


def test_without_a_code_the_booking_is_held_for_the_desk_as_before(client, salon, li_mei, codes_on):
    assert submit(client, salon).status_code == 302
    assert Appointment.objects.get().customer != li_mei
    assert OnlineClientCheck.objects.filter(typed_phone=PHONE).exists()


def test_asking_for_a_code_says_what_is_wrong_and_never_who_is_on_file(client, salon, li_mei, codes_on):
    assert ask_code(client, salon, phone="").content.decode() == "Type your mobile number first."
    assert ask_code(client, salon, phone="12").content.decode() == "Enter a valid mobile number first."
    unknown = ask_code(client, salon, phone="139 0000 9999").content.decode()
    assert unknown == ask_code(client, salon).content.decode()  # on file or not, the same answer
