"""Issue 9, item 7: one clock and one calendar style per language. Times are 24-hour in both
languages (never a.m./p.m., AM/PM, 上午/下午), dates are 2027-01-06, and where a weekday helps a
day is "Wed 2027-01-06" in English and "1月6日 周三" in Chinese (salon_crm.dates.day_label), in
the location's zone, on every main page; the messages use the same label."""

import html
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.template import Context, Template
from django.urls import reverse
from django.utils import formats, translation

from appointments.services import (
    BookingItem,
    PaymentIn,
    appointment_book,
    appointment_check_in,
    appointment_start,
    visit_checkout,
)
from messaging.appointment_messages import when_text
from salon_crm import dates
from tests.appointments import fixtures_core
from tests.appointments.factories import CustomerFactory
from tests.appointments.fixtures_core import DAY

salon = fixtures_core.salon
on_the_day = fixtures_core.on_the_day
LANGUAGES = ("en", "zh-hans")
LABEL = {"en": "Wed 2027-01-06", "zh-hans": "1月6日 周三"}  # DAY, a Wednesday
TWELVE_HOUR = re.compile(r"\b[aApP]\.[mM]\.|\b[AP]M\b|上午|下午")
OTHER_DATE_STYLES = re.compile(
    r"\b(Jan|January)\b\.?|\b0?1/0?6\b|2027年1月6日|\b6 Jan|星期三"  # Django's default styles of DAY
)


# ---- the helper ------------------------------------------------------------------------------------


def test_day_label_in_both_languages():
    assert dates.day_label(date(2026, 12, 4), "en") == "Fri 2026-12-04"
    assert dates.day_label(date(2026, 12, 4), "zh-hans", today=date(2026, 12, 1)) == "12月4日 周五"
    # another year's day says its year in Chinese (English always does)
    assert dates.day_label(date(2027, 1, 4), "zh-hans", today=date(2026, 12, 1)) == "2027年1月4日 周一"
    assert dates.day_label(date(2027, 1, 10), "en") == "Sun 2027-01-10"


def test_day_label_of_a_moment_is_its_day_in_the_given_zone():
    moment = datetime(2026, 12, 4, 17, 30, tzinfo=UTC)  # Saturday 01:30 in Shanghai
    shanghai = ZoneInfo("Asia/Shanghai")
    assert dates.day_label(moment, "en", shanghai) == "Sat 2026-12-05"
    assert dates.day_label(moment, "en", ZoneInfo("Europe/London")) == "Fri 2026-12-04"
    assert dates.clock(moment, shanghai) == "01:30"
    assert dates.when_text(moment, shanghai, "zh-hans", today=date(2026, 12, 1)) == "12月5日 周六 01:30"


def test_the_template_filter_follows_the_active_language():
    template = Template("{% load clock %}{{ d|day_label }} · {{ d|weekday_short }}")
    for language, expected in (("en", "Wed 2027-01-06 · Wed"), ("zh-hans", "2027年1月6日 周三 · 周三")):
        with translation.override(language):
            # `today` is the real one here: DAY is in another year for 2026, in this one for 2027
            text = template.render(Context({"d": DAY}))
            assert text in (expected, expected.replace("2027年", "")), text


def test_messages_use_the_pages_label():
    moment = datetime(2027, 1, 6, 2, 0, tzinfo=UTC)
    tz = ZoneInfo("Asia/Shanghai")
    assert when_text(moment, tz, "en") == "Wed 2027-01-06 10:00"
    assert when_text(moment, tz, "zh-hans") == dates.when_text(moment, tz, "zh-hans")


@pytest.mark.parametrize("language", LANGUAGES)
def test_django_formats_are_iso_and_24_hour(language):
    moment = datetime(2027, 1, 6, 14, 5)
    with translation.override(language):
        assert formats.date_format(moment) == "2027-01-06"
        assert formats.date_format(moment, "SHORT_DATE_FORMAT") == "2027-01-06"
        assert formats.date_format(moment, "DATETIME_FORMAT") == "2027-01-06 14:05"
        assert formats.time_format(moment) == "14:05"
        assert formats.get_format("FIRST_DAY_OF_WEEK") == 1
        assert formats.get_format("DATE_INPUT_FORMATS")[0] == "%Y-%m-%d"
        assert "%H:%M" in formats.get_format("TIME_INPUT_FORMATS")
    assert settings.FORMAT_MODULE_PATH == "salon_crm.formats"


# ---- the pages -------------------------------------------------------------------------------------


def page_text(markup: str) -> str:
    """What a reader sees: no scripts, styles or tags."""
    markup = re.sub(r"<(script|style)\b.*?</\1>", " ", markup, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", " ", markup))


@pytest.fixture
def day_of_work(salon, reception, manager, on_the_day):
    """On DAY: a cut at 14:00 with the stylist (checked in and started, for the service record),
    one at 14:00 with the other stylist (open, for the checkout page), one paid at 10:00 (the
    receipt). It is 08:00 on DAY all along."""
    book = lambda hour, staff, customer: appointment_book(  # noqa: E731
        customer=customer,
        location=salon.location,
        items=[BookingItem(service=salon.cut, staff=staff, start=salon.at(hour))],
        source="front_desk",
        booked_by=reception.user,
    )
    mine = book(14, salon.stylist, salon.customer)
    open_one = book(14, salon.other_stylist, CustomerFactory(name="李四"))
    paid = book(10, salon.stylist, CustomerFactory(name="王五"))
    appointment_check_in(appointment=paid, by=reception.user)
    appointment_check_in(appointment=mine, by=reception.user)
    appointment_start(appointment=mine, by=salon.stylist.user)
    visit = visit_checkout(
        location=salon.location,
        customer=paid.customer,
        by=manager.user,
        appointment=paid,
        payments=[PaymentIn("cash", Decimal("200.00"))],
    )
    return {"mine": mine, "open": open_one, "visit": visit}


def _pages(salon, work) -> list[tuple[str, str, dict, bool]]:
    """(who, url, query, shows the 14:00 appointment) of the main pages."""
    online = reverse("appointments:online_book", args=[salon.location.code])
    item = work["mine"].items.get()
    return [
        ("reception", reverse("accounts:home"), {}, True),
        ("reception", reverse("appointments:day"), {"date": DAY.isoformat()}, True),
        (
            "reception",
            reverse("appointments:week"),
            {"staff": salon.stylist.pk, "date": DAY.isoformat()},
            True,
        ),
        ("stylist", reverse("appointments:my_day"), {"date": DAY.isoformat()}, True),
        ("reception", reverse("customers:detail", args=[salon.customer.pk]), {}, True),
        ("reception", reverse("appointments:detail", args=[work["mine"].pk]), {}, True),
        ("manager", reverse("appointments:receipt", args=[work["visit"].pk]), {}, False),
        ("stylist", reverse("appointments:service_record", args=[item.pk]), {}, True),
        ("reception", reverse("appointments:checkout", args=[work["open"].pk]), {}, False),
        (
            "anonymous",
            online,
            {"service": salon.cut.pk, "staff": "any", "date": (DAY + timedelta(days=3)).isoformat()},
            False,
        ),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_main_pages_show_one_clock_and_one_calendar(client, salon, reception, manager, day_of_work, language):
    who = {"reception": reception, "manager": manager, "stylist": salon.stylist}
    seen = {}
    for persona, url, query, shows_two_pm in _pages(salon, day_of_work):
        client.logout()
        if persona != "anonymous":
            client.force_login(who[persona].user)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        response = client.get(url, query)
        assert response.status_code == 200, url
        markup = response.content.decode()
        assert "<html" not in markup or f'<html lang="{language}">' in markup, url  # dialogs are parts
        text = page_text(markup)
        seen[url] = text
        assert not TWELVE_HOUR.search(text), (url, TWELVE_HOUR.search(text))
        assert not OTHER_DATE_STYLES.search(text), (url, OTHER_DATE_STYLES.search(text))
        if shows_two_pm:
            assert "14:00" in text, url
    label = LABEL[language]
    pages = {url: text for url, text in seen.items()}
    urls = [url for _, url, _, _ in _pages(salon, day_of_work)]
    home, day, week, my_day, card, detail, receipt, record, checkout, online = urls
    # where a weekday helps: the day label
    for url in (home, day, week, my_day, card, detail, receipt):
        assert label in pages[url], (url, label)
    assert f"{label} 14:00–15:00" in pages[card]
    assert f"{label} 10:00 (Asia/Shanghai)" in pages[receipt]
    # elsewhere the plain date, and the time in the location's zone
    assert "2027-01-06 14:00" in pages[record]
    assert "2027-01-06" in pages[checkout]
    assert "08:00 (Asia/Shanghai)" in pages[home]
    online_day = DAY + timedelta(days=3)
    assert dates.day_label(online_day, language, today=DAY) in pages[online]
    assert "09:00" in pages[online] and "20:00" in pages[online] and "Asia/Shanghai" in pages[online]


@pytest.mark.django_db
def test_the_pages_show_the_locations_zone_not_the_servers(client, salon, reception, on_the_day):
    """A salon in London: 14:00 there is 22:00 in Shanghai (the server's default zone)."""
    salon.location.time_zone = "Europe/London"
    salon.location.save(update_fields=["time_zone"])
    start = datetime(DAY.year, DAY.month, DAY.day, 14, tzinfo=ZoneInfo("Europe/London"))
    appointment = appointment_book(
        customer=salon.customer,
        location=salon.location,
        items=[BookingItem(service=salon.cut, staff=salon.stylist, start=start)],
        source="front_desk",
        booked_by=reception.user,
    )
    client.force_login(reception.user)
    for url, query in (
        (reverse("accounts:home"), {}),
        (reverse("appointments:day"), {"date": DAY.isoformat()}),
        (reverse("customers:detail", args=[salon.customer.pk]), {}),
        (reverse("appointments:detail", args=[appointment.pk]), {}),
        (reverse("appointments:checkout", args=[appointment.pk]), {}),
    ):
        text = page_text(client.get(url, query).content.decode())
        assert "22:00" not in text, url
    home = page_text(client.get(reverse("accounts:home")).content.decode())
    # it is 08:00 in Shanghai on DAY: 00:00 in London, the same day
    assert "00:00 (Europe/London)" in home and "Wed 2027-01-06" in home
    card = page_text(client.get(reverse("customers:detail", args=[salon.customer.pk])).content.decode())
    assert "Wed 2027-01-06 14:00–15:00" in card


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_time_inputs_are_24_hour_text(client, salon, reception, on_the_day, language):
    """A browser's time input shows AM/PM in some locales, its date input 01/06/2027: the
    booking, move and waitlist dialogs type 24-hour times and ISO dates as text, like the
    weekly hours and time off editors."""
    client.force_login(reception.user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    appointment = appointment_book(
        customer=salon.customer,
        location=salon.location,
        items=[BookingItem(service=salon.cut, staff=salon.stylist, start=salon.at(14))],
        source="front_desk",
        booked_by=reception.user,
    )
    for url, query in (
        (reverse("appointments:book"), {"date": DAY.isoformat(), "time": "14:00", "staff": salon.stylist.pk}),
        (reverse("appointments:move", args=[appointment.pk]), {}),
        (reverse("appointments:waitlist_add"), {"date": DAY.isoformat()}),
    ):
        markup = client.get(url, query).content.decode()
        assert 'type="time"' not in markup and 'type="date"' not in markup, url
        assert not TWELVE_HOUR.search(page_text(markup)), url
    move = client.get(reverse("appointments:move", args=[appointment.pk])).content.decode()
    assert re.search(r'<input type="text" name="date" value="2027-01-06"', move)
    assert re.search(r'<input type="text" name="start" value="14:00"', move)
