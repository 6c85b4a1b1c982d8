"""Rate limits on the public endpoints (salon_crm.ratelimit): per client address as django-axes
resolves it (through the configured proxies, never a client-chosen X-Forwarded-For), per phone
on online booking, a friendly 429 page or JSON with Retry-After."""

from datetime import datetime, time, timedelta

import pytest
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from appointments.models import Appointment, WaitlistEntry
from appointments.views.online import manage_token
from salon_crm.ratelimit import public_rate_limit
from tests.accounts.factories import PASSWORD
from tests.appointments import fixtures_core

salon = fixtures_core.salon
pytestmark = pytest.mark.django_db

LB = "10.0.0.1"  # the load balancer's address, as gunicorn sees it


@pytest.fixture(autouse=True)
def limits_on(settings):
    cache.clear()
    settings.RATELIMIT_ENABLE = True


@pytest.fixture
def behind_a_load_balancer(settings):
    # What AXES_PROXY_COUNT=1 (one load balancer in front of gunicorn) sets.
    settings.AXES_IPWARE_PROXY_COUNT = 0
    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")


def rates(settings, **rates):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, **rates}


@pytest.fixture
def day(salon):
    return (timezone.now().astimezone(salon.location.tz) + timedelta(days=3)).date()


def at(salon, day, hour):
    return datetime.combine(day, time(hour), tzinfo=salon.location.tz)


def book(client, salon, start, *, phone="13700001234", **meta):
    data = {
        "service": salon.cut.pk,
        "staff": salon.stylist.pk,
        "start": start.isoformat(),
        "name": "赵六",
        "phone": phone,
    }
    return client.post(reverse("appointments:online_submit", args=[salon.location.code]), data, **meta)


# ---- the client's address ------------------------------------------------------------------------


def test_behind_a_load_balancer_each_client_has_its_own_limit(
    client, salon, day, settings, behind_a_load_balancer
):
    rates(settings, online_book="1/h")
    first = book(
        client,
        salon,
        at(salon, day, 10),
        phone="13700000001",
        REMOTE_ADDR=LB,
        HTTP_X_FORWARDED_FOR="203.0.113.5",
    )
    other = book(
        client,
        salon,
        at(salon, day, 11),
        phone="13700000002",
        REMOTE_ADDR=LB,
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )
    again = book(
        client,
        salon,
        at(salon, day, 12),
        phone="13700000003",
        REMOTE_ADDR=LB,
        HTTP_X_FORWARDED_FOR="203.0.113.5",
    )
    assert (first.status_code, other.status_code, again.status_code) == (302, 302, 429)
    assert sorted(Appointment.objects.values_list("customer__phone", flat=True)) == [
        "+8613700000001",
        "+8613700000002",
    ]


def test_behind_a_load_balancer_a_forged_entry_does_not_make_a_new_client(
    client, salon, day, settings, behind_a_load_balancer
):
    rates(settings, online_book="1/h")
    assert (
        book(
            client,
            salon,
            at(salon, day, 10),
            phone="13700000001",
            REMOTE_ADDR=LB,
            HTTP_X_FORWARDED_FOR="203.0.113.5",
        ).status_code
        == 302
    )
    # A client that sends its own X-Forwarded-For: the balancer appends the real address, the
    # header has one entry too many and is not trusted. All such requests share the balancer's
    # one budget, so forging buys at most that one request, whatever it forges.
    forged = [
        book(
            client,
            salon,
            at(salon, day, 11 + i),
            phone=f"1370000001{i}",
            REMOTE_ADDR=LB,
            HTTP_X_FORWARDED_FOR=f"8.8.8.{i}, 203.0.113.5",
        ).status_code
        for i in range(3)
    ]
    assert forged == [302, 429, 429]
    assert Appointment.objects.count() == 2


def test_without_a_proxy_setting_a_forged_forwarded_for_does_not_dodge_the_limit(
    client, salon, day, settings
):
    assert settings.AXES_IPWARE_PROXY_COUNT is None  # the default: X-Forwarded-For is ignored
    rates(settings, online_book="1/h")
    responses = [
        book(
            client,
            salon,
            at(salon, day, 10 + i),
            phone=f"1370000000{i}",
            REMOTE_ADDR="198.51.100.9",
            HTTP_X_FORWARDED_FOR=f"8.8.8.{i}",
        ).status_code
        for i in range(3)
    ]
    assert responses == [302, 429, 429]
    assert Appointment.objects.count() == 1


def test_ipv6_clients_are_counted_per_64_network(client, salon, day, settings):
    rates(settings, online_book="1/h")
    first = book(client, salon, at(salon, day, 10), phone="13700000001", REMOTE_ADDR="2001:db8:1:2::1")
    same_net = book(client, salon, at(salon, day, 11), phone="13700000002", REMOTE_ADDR="2001:db8:1:2::ffff")
    other_net = book(client, salon, at(salon, day, 12), phone="13700000003", REMOTE_ADDR="2001:db8:1:3::1")
    assert (first.status_code, same_net.status_code, other_net.status_code) == (302, 429, 302)


# ---- online booking ---------------------------------------------------------------------------


def test_the_phone_limit_counts_the_normalised_number_from_any_address(client, salon, day, settings):
    rates(settings, online_book_phone="1/h")
    first = book(client, salon, at(salon, day, 10), phone="137 0000 1234", REMOTE_ADDR="198.51.100.1")
    second = book(client, salon, at(salon, day, 11), phone="+86 137-0000-1234", REMOTE_ADDR="198.51.100.2")
    assert (first.status_code, second.status_code) == (302, 429)
    assert 'id="too-many"' in second.content.decode()
    assert int(second["Retry-After"]) > 0
    assert Appointment.objects.count() == 1


def test_booking_and_the_waitlist_share_the_address_budget(client, salon, day, settings):
    rates(settings, online_book="1/h")
    assert book(client, salon, at(salon, day, 10)).status_code == 302
    response = client.post(
        reverse("appointments:online_waitlist", args=[salon.location.code]),
        {
            "service": salon.cut.pk,
            "staff": "",
            "date": day.isoformat(),
            "name": "钱七",
            "phone": "13600001111",
        },
    )
    assert response.status_code == 429
    assert 'id="too-many"' in response.content.decode()
    assert WaitlistEntry.objects.count() == 0


def test_browsing_the_booking_pages_is_not_counted(client, salon, settings):
    rates(settings, online_book="1/h")
    url = reverse("appointments:online_book", args=[salon.location.code])
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]


# ---- manage links -----------------------------------------------------------------------------


def test_manage_link_view_move_and_cancel_share_one_limit_per_address(client, salon, day, settings):
    assert book(client, salon, at(salon, day, 10)).status_code == 302
    appointment = Appointment.objects.get()
    token = manage_token(appointment)
    rates(settings, manage="2/h")
    assert client.get(reverse("appointments:online_manage", args=[token])).status_code == 200
    assert client.get(reverse("appointments:online_move", args=[token])).status_code == 200
    refused = client.post(reverse("appointments:online_cancel", args=[token]))
    assert refused.status_code == 429
    assert 'id="too-many"' in refused.content.decode() and int(refused["Retry-After"]) > 0
    appointment.refresh_from_db()
    assert (appointment.status, appointment.version) == ("booked", 1)
    # another address is not held back
    other = client.post(reverse("appointments:online_cancel", args=[token]), REMOTE_ADDR="198.51.100.50")
    assert other.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"


# ---- login and API token ----------------------------------------------------------------------


def test_login_posts_are_limited_per_address_with_a_friendly_page(client, reception, settings):
    rates(settings, login="2/10m")
    url = reverse("accounts:login")
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]  # only posts count
    wrong = [client.post(url, {"username": "reception", "password": "nope"}).status_code for _ in range(2)]
    refused = client.post(url, {"username": "reception", "password": PASSWORD})
    assert wrong == [200, 200]
    assert refused.status_code == 429
    assert 'id="rate-limited"' in refused.content.decode() and int(refused["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session
    # a colleague's desk at another address logs in
    ok = client.post(url, {"username": "reception", "password": PASSWORD}, REMOTE_ADDR="198.51.100.60")
    assert ok.status_code == 302


def test_token_posts_are_limited_per_address_with_json(api_client, reception, settings):
    rates(settings, api_token="1/10m")
    url = reverse("api-token")
    first = api_client.post(url, {"username": "reception", "password": PASSWORD}, format="json")
    second = api_client.post(url, {"username": "reception", "password": PASSWORD}, format="json")
    assert first.status_code == 200
    assert second.status_code == 429
    assert second.json()["code"] == "rate_limited" and int(second["Retry-After"]) > 0
    assert Token.objects.count() == 1


def test_limits_can_be_switched_off(client, salon, day, settings):
    settings.RATELIMIT_ENABLE = False
    rates(settings, online_book="1/h")
    assert [
        book(client, salon, at(salon, day, 10 + i), phone=f"1370000000{i}").status_code for i in range(2)
    ] == [302, 302]


def test_an_unknown_group_fails_when_the_view_is_defined():
    with pytest.raises(ImproperlyConfigured):
        public_rate_limit("no-such-group")


def test_the_admin_login_form_counts_against_the_login_limit(client, owner, settings):
    rates(settings, login="1/10m")
    url = reverse("admin:login")
    assert client.post(url, {"username": "owner", "password": "nope"}).status_code == 200
    refused = client.post(url, {"username": "owner", "password": PASSWORD})
    assert refused.status_code == 429
    assert "_auth_user_id" not in client.session
