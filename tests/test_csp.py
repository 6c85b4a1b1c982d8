"""The Content-Security-Policy: the header on every kind of response whatever DEBUG says, its
exact directives (nothing inline, nothing evaluated), and the HTML of the pages free of what the
policy would block (inline scripts, style attributes and elements, on*= handlers), so a template
that brings one back fails here with the page and the element, without a browser."""

import re
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from appointments.services import (
    BookingItem,
    CheckoutLine,
    PaymentIn,
    appointment_book,
    appointment_check_in,
    visit_checkout,
)
from appointments.views.grid import ROW_PX
from appointments.views.online import manage_token
from tests.appointments import fixtures_core
from tests.appointments.factories import time_off
from tests.appointments.fixtures_core import DAY
from tests.customers.factories import TagFactory

salon = fixtures_core.salon
on_the_day = fixtures_core.on_the_day

EXPECTED = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "font-src": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
    "base-uri": "'self'",
    "object-src": "'none'",
}


def _directives(response) -> dict[str, str]:
    header = response.headers["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";") if part.strip())


# ---- the header -------------------------------------------------------------------------------


@pytest.mark.parametrize("debug", [False, True])
def test_policy_is_exact_and_the_same_with_debug_on_or_off(client, db, settings, debug):
    settings.DEBUG = debug
    response = client.get(reverse("accounts:login"))
    assert response.status_code == 200
    assert _directives(response) == EXPECTED
    assert "unsafe" not in response.headers["Content-Security-Policy"]


def test_header_on_pages_api_errors_and_redirects_with_debug_off(client_as, client, settings, reception):
    settings.DEBUG = False
    anonymous = [
        client.get(reverse("accounts:login")),  # page
        client.get(reverse("accounts:home")),  # redirect to the login page
        client.get("/no-such-page/"),  # 404
        client.get(reverse("swagger-ui")),  # Swagger UI (split: script from a URL)
    ]
    assert [r.status_code for r in anonymous] == [200, 302, 404, 200]
    signed_in = client_as(reception)
    responses = [
        signed_in.get(reverse("accounts:home")),
        signed_in.get(reverse("appointments:day")),
        signed_in.get("/api/v1/customers/"),  # JSON
    ]
    assert [r.status_code for r in responses] == [200, 200, 200]
    for response in anonymous + responses:
        assert _directives(response) == EXPECTED, response


def test_swagger_init_script_is_served_from_its_own_url(client, db):
    page = client.get(reverse("swagger-ui")).content.decode()
    src = re.search(r'<script src="([^"]*script=[^"]*)"', page)
    assert src, "the split view loads its init script from a URL"
    script = client.get(src.group(1).replace("&amp;", "&"))
    assert script.status_code == 200
    assert script.headers["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle(" in script.content.decode()
    assert "<style" not in page


def test_calendar_row_height_in_css_matches_the_grid():
    css = (Path(settings.BASE_DIR) / "static/css/calendar.css").read_text()
    assert f"--row: {ROW_PX}px;" in css


# ---- what the policy would block, found in the HTML -----------------------------------------


class _Offences(HTMLParser):
    """Inline <script> (data blocks such as json_script's application/json are not scripts),
    <style> elements, style="" and on*="" attributes, javascript: URLs, htmx's evaluated hx-on."""

    DATA_TYPES = {"application/json", "application/ld+json"}

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "script" and not values.get("src") and values.get("type") not in self.DATA_TYPES:
            self.found.append(f"inline <script> {self.getpos()}")
        if tag == "style":
            self.found.append(f"<style> element {self.getpos()}")
        for name, value in attrs:
            if name == "style" or re.fullmatch(r"on[a-z]+", name) or name.startswith(("hx-on", "data-hx-on")):
                self.found.append(f"<{tag} {name}={value!r}> {self.getpos()}")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value!r}> {self.getpos()}")


def offences(html: str) -> list[str]:
    parser = _Offences()
    parser.feed(html)
    return parser.found


def test_the_scanner_finds_each_kind_of_offence():
    html = (
        '<script>alert(1)</script><script src="/a.js"></script><script type="application/json">{}</script>'
        '<style>p{}</style><p style="color:red" onclick="x()" hx-on:click="y()"><a href="javascript:z()">'
    )
    assert [o.split(" (")[0] for o in offences(html)] == [
        "inline <script>",
        "<style> element",
        "<p style='color:red'>",
        "<p onclick='x()'>",
        "<p hx-on:click='y()'>",
        "<a href='javascript:z()'>",
    ]


def _book(salon, customer, staff, start):
    return appointment_book(
        customer=customer,
        location=salon.location,
        items=[BookingItem(service=salon.cut, staff=staff, start=start)],
        source="front_desk",
        booked_by=None,
    )


def _scan(client, urls: list[str], htmx: bool = False) -> dict[str, list[str]]:
    found = {}
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    for url in urls:
        response = client.get(url, **headers)
        assert response.status_code == 200, (url, response.status_code)
        found[url] = offences(response.content.decode())
    return {url: problems for url, problems in found.items() if problems}


def test_front_desk_pages_and_dialogs_have_nothing_the_policy_blocks(client_as, salon, reception, on_the_day):
    salon.customer.tags.add(TagFactory(name="VIP", colour="#d4a017"))
    appointment = _book(salon, salon.customer, salon.stylist, salon.at(10))
    time_off(salon.stylist, salon.at(14), 2)
    appointment_check_in(appointment=appointment, by=reception.user)
    paid = _book(salon, salon.customer, salon.other_stylist, salon.at(16))
    visit = visit_checkout(
        location=salon.location,
        customer=salon.customer,
        by=reception.user,
        appointment=paid,
        lines=[CheckoutLine(kind="service", service=salon.cut, staff=salon.other_stylist)],
        payments=[PaymentIn("cash", Decimal("200.00"))],
    )
    day = DAY.isoformat()
    client = client_as(reception)
    pages = [
        reverse("accounts:home"),
        f"{reverse('appointments:day')}?date={day}",
        f"{reverse('appointments:day')}?date={day}&cancelled=1",
        f"{reverse('appointments:week')}?staff={salon.stylist.pk}&date={day}",
        reverse("customers:list") + "?q=zs",
        reverse("customers:detail", args=[salon.customer.pk]),
        reverse("customers:edit", args=[salon.customer.pk]),
        reverse("customers:create"),
        reverse("customers:quick_add"),
        reverse("appointments:checkout", args=[appointment.pk]),
        reverse("appointments:checkout_sale"),
        reverse("appointments:receipt", args=[visit.pk]),
    ]
    fragments = [
        f"{reverse('appointments:day')}?date={day}&part=grid",
        f"{reverse('appointments:book')}?date={day}&time=15:00&staff={salon.stylist.pk}",
        reverse("appointments:detail", args=[appointment.pk]),
        reverse("appointments:move", args=[appointment.pk]),
        reverse("appointments:cancel", args=[appointment.pk]),
        reverse("appointments:walk_in"),
        f"{reverse('appointments:waitlist_add')}?date={day}",
        f"{reverse('appointments:waitlist_panel')}?date={day}",
        reverse("appointments:client_lookup") + "?q=zs",
        reverse("customers:search") + "?q=zs",
        reverse("customers:quick_add"),
    ]
    assert _scan(client, pages) == {}
    assert _scan(client, fragments, htmx=True) == {}


def test_calendar_blocks_carry_their_position_as_data(client_as, salon, reception):
    _book(salon, salon.customer, salon.stylist, salon.at(10))
    html = client_as(reception).get(reverse("appointments:day"), {"date": DAY.isoformat()}).content.decode()
    # 15-minute rows of 22 px from 09:00: 10:00 is row 4; an hour is 4 rows, less a 2 px gap
    assert re.search(r'<a class="appt st-booked" data-top="88" data-height="86" href="#"', html)
    assert "--cols" not in html


def test_stylist_pages_have_nothing_the_policy_blocks(client_as, salon):
    today = timezone.now().astimezone(salon.location.tz).date()
    mine = _book(salon, salon.customer, salon.stylist, salon.at(10, day=today))
    appointment_check_in(appointment=mine, by=None)
    pages = [
        reverse("appointments:my_day"),
        reverse("appointments:service_record", args=[mine.items.get().pk]),
        reverse("customers:detail", args=[salon.customer.pk]),
    ]
    assert _scan(client_as(salon.stylist), pages) == {}


def test_owner_settings_admin_and_api_docs_have_nothing_the_policy_blocks(client_as, salon, owner):
    type(owner.user).objects.filter(pk=owner.user.pk).update(is_superuser=True, is_staff=True)
    client = client_as(owner)
    settings_html = client.get(reverse("accounts:settings")).content.decode()
    sections = sorted(set(re.findall(r'href="(/settings/[^"]+)"', settings_html)))
    assert sections, "the settings page links to its sections"
    pages = [
        reverse("accounts:settings"),
        *sections,
        reverse("customers:import"),
        reverse("customers:merge"),
        reverse("swagger-ui"),
        reverse("admin:index"),
        reverse("admin:django_celery_beat_periodictask_add"),
        reverse("admin:accounts_staffmember_changelist"),
        reverse("admin:accounts_staffmember_change", args=[owner.pk]),
    ]
    assert _scan(client, pages) == {}


def test_online_booking_pages_have_nothing_the_policy_blocks(client, salon):
    day = (timezone.now().astimezone(salon.location.tz) + timedelta(days=3)).date()
    booked = _book(salon, salon.customer, salon.stylist, salon.at(11, day=day))
    token = manage_token(booked)
    slot = quote(salon.at(10, day=day).isoformat())
    start = reverse("appointments:online_book", args=[salon.location.code])
    pages = [
        start,
        f"{start}?service={salon.cut.pk}",
        f"{start}?service={salon.cut.pk}&staff=any&date={day}",
        f"{start}?service={salon.cut.pk}&staff={salon.stylist.pk}&date={day}",
        f"{start}?service={salon.cut.pk}&staff=any&date={day}&start={slot}&slot_staff={salon.stylist.pk}",
        reverse("appointments:online_manage", args=[token]) + "?new=1",
        reverse("appointments:online_move", args=[token]) + f"?date={day}",
        reverse("accounts:login"),
    ]
    assert _scan(client, pages) == {}


def test_two_factor_pages_have_nothing_the_policy_blocks(client_as, settings, owner):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    settings.OTP_REQUIRED_ROLES = ["owner"]
    client = client_as(owner)
    enrol = client.get(reverse("accounts:otp_enrol"))
    assert enrol.status_code == 200 and "<svg" in enrol.content.decode()  # the QR code, inline
    TOTPDevice.objects.filter(user=owner.user).update(confirmed=True)
    assert _scan(client, [reverse("accounts:otp")]) == {}
    assert offences(enrol.content.decode()) == []
