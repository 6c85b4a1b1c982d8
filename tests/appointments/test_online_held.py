"""Issue 9, item 3: the phone alone never attaches an online booking to a client on file.

Name and phone must agree (appointments.services.online.names_agree: the same letters and
digits, case, spaces and punctuation aside); otherwise the booking is made on a provisional
client without a phone and held for the desk, which answers on the Today page: the same client
(attach: the provisional client is merged into the client on file) or a different person."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.core.cache import cache
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment, OnlineClientCheck, WaitlistEntry
from appointments.services.online import (
    names_agree,
    online_book,
    online_checks_pending,
    online_waitlist_add,
)
from appointments.views.held import held_panel
from appointments.views.online import manage_token
from customers.models import ConsentRecord, Customer, MergeRecord
from customers.services import customer_merge
from tests.accounts.factories import StaffMemberFactory
from tests.appointments import fixtures_core
from tests.appointments.factories import CustomerFactory

salon = fixtures_core.salon
pytestmark = pytest.mark.django_db
DAY = fixtures_core.DAY
PHONE = "+8613700001234"
CHECK = OnlineClientCheck.Status


@pytest.fixture(autouse=True)
def _clear_rate_limits():
    cache.clear()


@pytest.fixture(autouse=True)
def at_ten(monkeypatch, salon):
    """It is 10:05 on DAY; bookings are two days later, past the 24-hour cut-off."""
    monkeypatch.setattr(timezone, "now", lambda: salon.at(10, 5).astimezone(UTC))


@pytest.fixture
def li_mei(salon):
    return CustomerFactory(name="Li Mei", phone=PHONE, notes="Prefers the window seat")


def at(salon, hour, days=2):
    return datetime.combine(DAY + timedelta(days=days), time(hour), tzinfo=salon.location.tz)


def submit(client, salon, *, name, phone="137 0000 1234", hour=10, consent=False):
    data = {
        "service": salon.cut.pk,
        "staff": salon.stylist.pk,
        "start": at(salon, hour).isoformat(),
        "name": name,
        "phone": phone,
    }
    if consent:
        data["marketing_consent"] = "on"
    response = client.post(reverse("appointments:online_submit", args=[salon.location.code]), data)
    assert response.status_code == 302, response.content.decode()[:500]
    return response


def book(salon, *, name, hour=10, phone=PHONE):
    return online_book(
        location=salon.location,
        service=salon.cut,
        staff=salon.stylist,
        start=at(salon, hour),
        name=name,
        phone=phone,
    )


# ---- the rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "on_file"),
    [
        ("Li Mei", "Li Mei"),
        ("li  mei", "Li Mei"),
        ("LI-MEI.", "Li Mei"),
        ("Ｌｉ Ｍｅｉ", "Li Mei"),  # full-width letters (a Chinese keyboard)
        ("王 芳", "王芳"),
        ("王·芳", "王芳"),
        ("Zoë", "ZOË"),
    ],
)
def test_names_agree_up_to_case_spaces_and_punctuation(typed, on_file):
    assert names_agree(typed, on_file)


@pytest.mark.parametrize(
    ("typed", "on_file"),
    [
        ("Li", "Li Mei"),  # a given name alone
        ("Mei Li", "Li Mei"),  # another order
        ("李梅", "Li Mei"),  # hanzi for pinyin
        ("Li Mei", "李梅"),
        ("王芳芳", "王芳"),
        ("Zoe", "Zoë"),  # a letter is a letter
        ("!!!", "???"),  # nothing to compare is never agreement
        ("", ""),
    ],
)
def test_names_that_do_not_agree(typed, on_file):
    assert not names_agree(typed, on_file)


def test_name_and_phone_agreeing_book_onto_the_client_on_file(client, salon, li_mei):
    submit(client, salon, name="li mei", consent=True)
    appointment = Appointment.objects.get()
    assert appointment.customer == li_mei
    assert OnlineClientCheck.objects.count() == 0
    li_mei.refresh_from_db()
    assert li_mei.consent_sms is True


def test_a_strangers_name_with_an_existing_phone_is_held_on_a_provisional_client(client, salon, li_mei):
    # when someone types another name with Li Mei's phone
    submit(client, salon, name="Wang Fang", consent=True)
    # then the time is taken, on a provisional client without a phone
    appointment = Appointment.objects.get()
    provisional = appointment.customer
    assert provisional != li_mei
    assert (provisional.name, provisional.phone, provisional.source) == ("Wang Fang", None, "online")
    check = OnlineClientCheck.objects.get()
    assert (check.appointment, check.location, check.typed_name, check.typed_phone) == (
        appointment,
        salon.location,
        "Wang Fang",
        PHONE,
    )
    assert (check.provisional_pk, check.status, check.resolved_by) == (provisional.pk, CHECK.PENDING, None)
    # and Li Mei's record is untouched: no booking, no consent given in her name
    li_mei.refresh_from_db()
    assert (li_mei.appointments.count(), li_mei.consent_sms) == (0, False)
    assert ConsentRecord.objects.filter(customer=li_mei).count() == 0
    assert ConsentRecord.objects.filter(customer=provisional).count() == 1
    assert Customer.objects.filter(phone=PHONE).get() == li_mei


def test_the_client_on_file_card_shows_no_trace_until_the_desk_attaches(client_as, salon, li_mei, reception):
    book(salon, name="Wang Fang")
    desk = client_as(reception)
    card = desk.get(reverse("customers:detail", args=[li_mei.pk])).content.decode()
    assert "Wang Fang" not in card and "Appointment (" not in card
    check = OnlineClientCheck.objects.get()
    desk.post(reverse("appointments:online_check_attach", args=[check.pk]))
    card = desk.get(reverse("customers:detail", args=[li_mei.pk])).content.decode()
    assert "Appointment (Booked)" in card


def test_the_confirmation_of_a_held_booking_looks_like_any_other_and_shows_no_other_client(
    client, salon, li_mei
):
    held = client.get(submit(client, salon, name="Wang Fang")["Location"]).content.decode()
    normal = client.get(
        submit(client, salon, name="Zhou Jie", phone="137 0000 9999", hour=14)["Location"]
    ).content.decode()
    for page in (held, normal):
        assert 'id="booked-ok"' in page and 'id="manage-cancel"' in page
        for secret in ("Li Mei", "1234", "window seat", "Wang Fang", "Zhou Jie"):
            assert secret not in page
    # nothing says the phone is on file (the page is no way to test whose phone it is)
    assert held.replace("10:00", "14:00").count("alert") == normal.count("alert")


def test_a_second_held_booking_by_the_same_person_reuses_their_provisional_client(salon, li_mei):
    first = book(salon, name="Wang Fang", hour=10)
    second = book(salon, name="wang fang", hour=14)
    third = book(salon, name="Zhang Wei", hour=16)
    assert first.customer_id == second.customer_id != third.customer_id
    assert OnlineClientCheck.objects.filter(provisional_pk=first.customer_id).count() == 2


def test_the_waitlist_follows_the_same_rule(client, salon, li_mei):
    response = client.post(
        reverse("appointments:online_waitlist", args=[salon.location.code]),
        {"service": salon.cut.pk, "staff": "", "date": DAY.isoformat(), "name": "Wang Fang", "phone": PHONE},
    )
    assert response.status_code == 200
    entry = WaitlistEntry.objects.get()
    assert entry.customer != li_mei and entry.customer.phone is None
    assert OnlineClientCheck.objects.get().waitlist_entry == entry


# ---- the desk's answers -------------------------------------------------------------------------


def test_the_desk_sees_held_bookings_on_the_today_page(client_as, salon, li_mei, reception):
    book(salon, name="Wang Fang")
    page = client_as(reception).get(reverse("accounts:home")).content.decode()
    panel = page.split('id="held-panel"')[1].split("</section>")[0]
    assert "Wang Fang" in panel and "137 0000 1234" in panel and "Li Mei" in panel
    assert f"{(DAY + timedelta(days=2)).isoformat()} 10:00" in panel
    assert "Same client: attach to Li Mei" in panel and "Different person" in panel
    assert '<th scope="col">' in panel  # a table with headers for screen readers


def test_stylists_and_an_empty_list_show_no_panel(client_as, salon, li_mei, reception, stylist):
    assert 'id="held-panel"' not in client_as(reception).get(reverse("accounts:home")).content.decode()
    book(salon, name="Wang Fang")
    assert 'id="held-panel"' not in client_as(stylist).get(reverse("accounts:home")).content.decode()


def test_attach_moves_the_booking_to_the_client_on_file(client_as, salon, li_mei, reception):
    appointment = book(salon, name="Wang Fang")
    provisional_pk = appointment.customer_id
    token = manage_token(appointment)
    check = OnlineClientCheck.objects.get()
    response = client_as(reception).post(reverse("appointments:online_check_attach", args=[check.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("accounts:home")
    appointment.refresh_from_db()
    check.refresh_from_db()
    assert appointment.customer == li_mei
    assert not Customer.objects.filter(pk=provisional_pk).exists()
    assert (check.status, check.resolved_by, check.resolved_at) == (
        CHECK.ATTACHED,
        reception.user,
        salon.at(10, 5),
    )
    record = MergeRecord.objects.get()
    assert (record.kept, record.merged_pk, record.moved) == (
        li_mei,
        provisional_pk,
        {"appointments.Appointment.customer": 1},
    )
    li_mei.refresh_from_db()
    assert (li_mei.name, str(li_mei.phone)) == ("Li Mei", PHONE)
    # the client's manage link keeps working, and still shows nothing about Li Mei
    page = Client().get(reverse("appointments:online_manage", args=[token])).content.decode()
    assert 'id="manage-cancel"' in page and "Li Mei" not in page and "window seat" not in page
    # and the list is empty again
    assert 'id="held-panel"' not in client_as(reception).get(reverse("accounts:home")).content.decode()


def test_attach_settles_every_held_booking_of_the_same_provisional_client(
    client_as, salon, li_mei, reception
):
    first = book(salon, name="Wang Fang", hour=10)
    book(salon, name="Wang Fang", hour=14)
    check = OnlineClientCheck.objects.get(appointment=first)
    client_as(reception).post(reverse("appointments:online_check_attach", args=[check.pk]))
    assert li_mei.appointments.count() == 2
    assert set(OnlineClientCheck.objects.values_list("status", flat=True)) == {CHECK.ATTACHED}


def test_different_person_keeps_the_provisional_client_and_gives_it_its_phone(
    client_as, salon, li_mei, reception
):
    appointment = book(salon, name="Wang Fang")
    token = manage_token(appointment)
    check = OnlineClientCheck.objects.get()
    response = client_as(reception).post(
        reverse("appointments:online_check_separate", args=[check.pk]), {"phone": "136 0000 2222"}
    )
    assert response.status_code == 302
    appointment.refresh_from_db()
    check.refresh_from_db()
    assert (appointment.customer.name, str(appointment.customer.phone)) == ("Wang Fang", "+8613600002222")
    assert (check.status, check.resolved_by) == (CHECK.SEPARATE, reception.user)
    assert li_mei.appointments.count() == 0 and MergeRecord.objects.count() == 0
    assert Client().get(reverse("appointments:online_manage", args=[token])).status_code == 200


def test_different_person_without_a_phone_is_fine(client_as, salon, li_mei, reception):
    book(salon, name="Wang Fang")
    check = OnlineClientCheck.objects.get()
    client_as(reception).post(reverse("appointments:online_check_separate", args=[check.pk]), {"phone": ""})
    check.refresh_from_db()
    assert check.status == CHECK.SEPARATE
    assert Customer.objects.get(pk=check.provisional_pk).phone is None


def test_different_person_with_a_phone_on_file_is_refused_and_changes_nothing(
    client_as, salon, li_mei, reception
):
    book(salon, name="Wang Fang")
    check = OnlineClientCheck.objects.get()
    desk = client_as(reception)
    for phone in (PHONE, "12"):  # Li Mei's phone; not a phone at all
        response = desk.post(reverse("appointments:online_check_separate", args=[check.pk]), {"phone": phone})
        assert response.status_code == 302
        check.refresh_from_db()
        assert check.status == CHECK.PENDING
        assert Customer.objects.get(pk=check.provisional_pk).phone is None
    page = desk.get(reverse("accounts:home")).content.decode()
    assert 'id="held-panel"' in page


def test_a_second_answer_is_refused_with_a_message(client_as, salon, li_mei, reception):
    book(salon, name="Wang Fang")
    check = OnlineClientCheck.objects.get()
    desk = client_as(reception)
    desk.post(reverse("appointments:online_check_separate", args=[check.pk]))
    response = desk.post(reverse("appointments:online_check_attach", args=[check.pk]), follow=True)
    assert "already checked" in response.content.decode()
    check.refresh_from_db()
    assert check.status == CHECK.SEPARATE and li_mei.appointments.count() == 0


def test_attach_when_no_one_has_the_phone_any_more_is_refused(client_as, salon, li_mei, reception):
    book(salon, name="Wang Fang")
    Customer.objects.filter(pk=li_mei.pk).update(phone="+8613700005555")
    check = OnlineClientCheck.objects.get()
    response = client_as(reception).post(
        reverse("appointments:online_check_attach", args=[check.pk]), follow=True
    )
    assert "No client has the phone +8613700001234 now" in response.content.decode()
    check.refresh_from_db()
    assert check.status == CHECK.PENDING


@pytest.mark.parametrize("who", ["stylist", "far_manager"])
def test_stylists_and_other_locations_cannot_answer(client_as, salon, li_mei, other_location, who, stylist):
    book(salon, name="Wang Fang")
    check = OnlineClientCheck.objects.get()
    person = (
        stylist
        if who == "stylist"
        else StaffMemberFactory(user__username="far", role="manager", locations=[other_location])
    )
    desk = client_as(person)
    for name in ("online_check_attach", "online_check_separate"):
        assert desk.post(reverse(f"appointments:{name}", args=[check.pk])).status_code == 404
    check.refresh_from_db()
    assert check.status == CHECK.PENDING and li_mei.appointments.count() == 0


def test_the_list_forgets_a_check_whose_client_was_merged_another_way(salon, li_mei, owner):
    appointment = book(salon, name="Wang Fang")
    customer_merge(keep=li_mei, merge=appointment.customer, by=owner.user)
    assert online_checks_pending(location=salon.location) == []


# ---- the list's queries -------------------------------------------------------------------------


def _panel_request(reception):
    request = RequestFactory().get("/")
    request.user = reception.user
    request.session = {}
    return request


def test_the_held_list_takes_three_queries_however_long(salon, reception, django_assert_num_queries):
    for n in range(6):
        CustomerFactory(name=f"Client on file {n}", phone=f"+861370000{n:04d}")
        online_book(
            location=salon.location,
            service=salon.cut,
            staff=salon.stylist if n % 2 else salon.other_stylist,
            start=at(salon, 10 + n),
            name=f"Stranger {n}",
            phone=f"+861370000{n:04d}",
        )
    online_waitlist_add(  # and one waitlist entry
        location=salon.location,
        service=salon.cut,
        staff=None,
        date=DAY + timedelta(days=3),
        name="Stranger on the waitlist",
        phone="+8613700000000",
    )
    # 3 queries: the checks with their booking or waitlist entry (and its service), the bookings'
    # items with service and stylist, the clients on file with those phones
    with django_assert_num_queries(3):
        checks = online_checks_pending(location=salon.location)
    assert len(checks) == 7
    request = _panel_request(reception)
    request.user.has_perm("customers.change_customer")  # the permission cache, filled once per request
    # + 1: the current location (the user's locations)
    with django_assert_num_queries(4):
        panel = held_panel(request)
    names = [r["typed_name"] for r in panel.context["rows"]]
    assert names == [f"Stranger {n}" for n in range(6)] + ["Stranger on the waitlist"]  # soonest first
    assert panel.context["rows"][-1]["status"] == "Waitlist"
    assert {r["on_file_name"] for r in panel.context["rows"]} >= {"Client on file 0", "Client on file 5"}


def test_erasing_the_client_blanks_what_they_typed_online(salon, li_mei, owner):
    from customers.services import customer_erase

    appointment = book(salon, name="Wang Fang")
    customer_erase(customer=appointment.customer, user=owner.user)
    check = OnlineClientCheck.objects.get()
    assert (check.typed_name, check.typed_phone) == ("", "")
