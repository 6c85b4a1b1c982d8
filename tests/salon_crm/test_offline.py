"""Issue 16, item 6: the offline day view, without a browser. The service worker's URL and
headers, the day's list (today's clients of the user's location; a stylist's own), the card
fetched for the offline copy logged as `offline_copy` once a day instead of `view_file`, the
per-session key and the banner on the pages, and logging out clearing the browser's data.
The browser half (going offline, reading the copy, logging out) is tests/salon_crm/test_offline_browser.py."""

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from accounts.offline import CLEAR_SITE_DATA
from appointments.services import BookingItem, appointment_book, appointment_cancel
from customers.models import AccessLog
from tests.accounts.factories import StaffMemberFactory
from tests.appointments import fixtures_core
from tests.appointments.factories import CustomerFactory, open_all_week, work_all_week
from tests.appointments.fixtures_core import DAY

salon = fixtures_core.salon
on_the_day = fixtures_core.on_the_day
pytestmark = pytest.mark.django_db

PREFETCH = {"HTTP_X_OFFLINE_PREFETCH": "1"}


def _book(salon, customer, staff, hour, day=DAY, location=None):
    return appointment_book(
        customer=customer,
        location=location or salon.location,
        items=[BookingItem(service=salon.cut, staff=staff, start=salon.at(hour, day=day))],
        source="front_desk",
        booked_by=None,
    )


@pytest.fixture
def day(salon, on_the_day, other_location):
    """08:00 on DAY. Today at the home location: 张三 (the stylist, 10:00), 李四 (the other
    stylist, 11:00), 王五 (the stylist, 12:00, cancelled); 赵六 tomorrow; 钱七 today at the other
    location."""
    open_all_week(other_location)
    far = StaffMemberFactory(
        user__username="far", role="stylist", locations=[other_location], is_bookable=True
    )
    work_all_week(far, other_location)
    salon.cut.locations.add(other_location)
    zhang = _book(salon, salon.customer, salon.stylist, 10).customer
    li = _book(salon, CustomerFactory(name="李四"), salon.other_stylist, 11).customer
    wang = CustomerFactory(name="王五")
    appointment_cancel(appointment=_book(salon, wang, salon.stylist, 12), by=None, reason="ill")
    zhao = _book(salon, CustomerFactory(name="赵六"), salon.stylist, 10, day=DAY + timedelta(days=1)).customer
    qian = _book(salon, CustomerFactory(name="钱七"), far, 10, location=other_location).customer
    return {"zhang": zhang, "li": li, "wang": wang, "zhao": zhao, "qian": qian}


def card(customer) -> str:
    return reverse("customers:detail", args=[customer.pk])


def session_key_of(client) -> str:
    return client.session.session_key


# ---- the service worker ---------------------------------------------------------------------------


def test_service_worker_is_served_at_the_root_with_its_headers_and_configuration(client, db):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/javascript; charset=utf-8"
    assert response["Cache-Control"] == "no-cache"
    assert response["Service-Worker-Allowed"] == "/"
    first, rest = response.content.decode().split("\n", 1)
    assert first.startswith("self.OFFLINE_CONFIG = ") and first.endswith(";")
    config = json.loads(first.removeprefix("self.OFFLINE_CONFIG = ").removesuffix(";"))
    assert config == {
        "manifest": "/offline/today.json",
        "offline": "/offline/",
        "logout": "/logout/",
        "static": "/static/",
        "prefetchHeader": "X-Offline-Prefetch",
    }
    with open("static/js/offline-sw.js", encoding="utf-8") as source:
        assert rest == source.read()
    assert reverse("offline_sw") == "/sw.js"  # a stable URL, whatever the static files are named
    assert client.head("/sw.js").status_code == 200  # pages probe it to learn the line is back
    assert client.post("/sw.js").status_code == 405


# ---- the day's list ---------------------------------------------------------------------------------


def test_the_desk_keeps_the_cards_of_todays_clients_at_its_location(
    client_as, reception, day, django_assert_num_queries
):
    client = client_as(reception)
    # 7 queries: session, user, the user's and the group's permissions, the staff record (role),
    # the locations (current_location), today's clients at the location
    with django_assert_num_queries(7):
        response = client.get(reverse("offline_manifest"))
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    data = response.json()
    assert data == {
        "key": salted_hmac("accounts.offline.key", session_key_of(client)).hexdigest()[:32],
        "pages": [["/today/", "/"], ["/calendar/", f"/calendar/?date={DAY.isoformat()}"]],
        "cards": [card(day["zhang"]), card(day["li"])],  # not the cancelled, tomorrow's or elsewhere's
        "offline": "/offline/",
    }


def test_a_stylist_keeps_only_the_cards_of_their_own_clients(client_as, salon, day):
    data = client_as(salon.stylist).get(reverse("offline_manifest")).json()
    assert data["pages"] == [["/today/", "/"], ["/my-day/", f"/my-day/?date={DAY.isoformat()}"]]
    assert data["cards"] == [card(day["zhang"])]
    other = client_as(salon.other_stylist).get(reverse("offline_manifest")).json()
    assert other["cards"] == [card(day["li"])]


def test_a_manager_keeps_today_but_not_the_dashboard_home(client_as, manager, day):
    data = client_as(manager).get(reverse("offline_manifest")).json()
    assert data["pages"][0] == ["/today/"]  # "/" is their dashboard: not a page of the day
    assert data["cards"] == [card(day["zhang"]), card(day["li"])]


def test_the_list_needs_a_login_and_names_no_one(client, client_as, reception, day):
    response = client.get(reverse("offline_manifest"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
    desk = client_as(reception)
    body = desk.get(reverse("offline_manifest")).content.decode()
    for customer in day.values():
        assert customer.name not in body
    # the cache's key is the session's, hashed: nothing of the user (id, name) goes into it
    session_key = desk.cookies[settings.SESSION_COOKIE_NAME].value
    assert json.loads(body)["key"] == salted_hmac("accounts.offline.key", session_key).hexdigest()[:32]


# ---- the card fetched for the copy: logged as a copy, once a day --------------------------------------


def _log(customer):
    return list(AccessLog.objects.filter(customer=customer).values_list("user__username", "action"))


def test_a_card_fetched_for_the_offline_copy_is_logged_once_a_day_as_a_copy(
    client_as, salon, reception, day, monkeypatch
):
    client = client_as(reception)
    for _ in range(3):  # every load of the day page refreshes the copy
        assert client.get(card(day["zhang"]), **PREFETCH).status_code == 200
    assert _log(day["zhang"]) == [("reception", "offline_copy")]
    # opening the card is a view, as always
    assert client.get(card(day["zhang"])).status_code == 200
    assert sorted(_log(day["zhang"])) == [("reception", "offline_copy"), ("reception", "view_file")]
    # the next day's copy (booked again) is a new row
    _book(salon, day["zhang"], salon.stylist, 15, day=DAY + timedelta(days=1))
    tomorrow = timezone.now() + timedelta(days=1)
    monkeypatch.setattr(timezone, "now", lambda: tomorrow)
    client.get(card(day["zhang"]), **PREFETCH)
    assert AccessLog.objects.filter(customer=day["zhang"], action="offline_copy").count() == 2


def test_the_header_does_not_hide_a_look_at_a_file_that_is_not_on_todays_list(
    client_as, salon, reception, day
):
    client = client_as(reception)
    for customer in (day["zhao"], day["qian"], day["wang"]):  # tomorrow, elsewhere, cancelled
        client.get(card(customer), **PREFETCH)
        assert _log(customer) == [("reception", "view_file")]
    stylist = client_as(salon.stylist)
    stylist.get(card(day["li"]), **PREFETCH)  # the other stylist's client
    assert _log(day["li"]) == [("stylist", "view_file")]
    stylist.get(card(day["zhang"]), **PREFETCH)
    assert _log(day["zhang"]) == [("stylist", "offline_copy")]


# ---- the pages: the key, the banner, the login page --------------------------------------------------


def test_signed_in_pages_carry_the_sessions_key_and_the_hidden_banner(reception, day):
    keys = []
    for _ in range(2):  # two logins of the same person: two keys
        client = Client()
        client.force_login(reception.user)
        html = client.get(reverse("appointments:day")).content.decode()
        key = salted_hmac("accounts.offline.key", session_key_of(client)).hexdigest()[:32]
        assert f'data-offline-key="{key}"' in html
        assert 'data-offline-sw="/sw.js"' in html
        assert 'id="offline-status" role="status" aria-live="polite"' in html
        # the banner is there, hidden, with the time the page was made (08:00 at the salon)
        assert '<div class="alert alert-warning' in html and 'id="offline-banner" hidden>' in html
        assert (
            "You are offline: showing today's calendar and clients as of 08:00. Changes are disabled "
            "until the connection is back." in html
        )
        assert "js/offline.js" in html and "data-offline-logout" in html
        keys.append(key)
    assert keys[0] != keys[1]
    assert str(reception.user.pk) != keys[0] and reception.user.username not in keys[0]


def test_the_login_page_clears_and_carries_no_key(client, db):
    html = client.get(reverse("accounts:login")).content.decode()
    assert "data-offline-clear" in html and "js/offline.js" in html
    assert "data-offline-key" not in html and "offline-banner" not in html


def test_no_key_for_a_login_without_a_location(client):
    staff = StaffMemberFactory(user__username="nowhere", role="receptionist", locations=[])
    client.force_login(staff.user)
    assert "data-offline-key" not in client.get(reverse("accounts:today")).content.decode()


def test_the_offline_page(client, client_as, reception, day):
    response = client.get(reverse("offline_page"))
    assert response.status_code == 302
    html = client_as(reception).get(reverse("offline_page")).content.decode()
    assert "Available offline" in html
    assert 'data-offline-list="pages"' in html and 'data-offline-list="cards"' in html


# ---- logging out --------------------------------------------------------------------------------------


def test_logging_out_asks_the_browser_to_clear_its_cache_and_storage(client_as, reception, day):
    client = client_as(reception)
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302 and response["Location"] == reverse("accounts:login")
    assert response["Clear-Site-Data"] == '"cache", "storage"' == CLEAR_SITE_DATA
    assert SESSION_KEY not in client.session
