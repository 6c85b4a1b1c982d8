"""Issue 9, item 6: the checkout page. Every field has a label, amounts keep their currency, and
the running totals carry what is paid and what is left to pay (static/js/checkout.js fills the
next payment row with it; the browser test watches that). The price-override reason still works."""

from datetime import UTC
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments.models import Visit
from appointments.services import BookingItem, appointment_book, appointment_check_in
from appointments.services.checkout import checkout_balance
from salon_crm.money import currency_symbol
from tests.appointments import fixtures_core

salon = fixtures_core.salon
pytestmark = pytest.mark.django_db


@pytest.fixture
def arrived(salon, reception, monkeypatch):
    """09:00 on DAY: a colour (680) with one stylist and a cut (200) with the other, checked in."""
    monkeypatch.setattr(timezone, "now", lambda: salon.at(9).astimezone(UTC))
    appointment = appointment_book(
        customer=salon.customer,
        location=salon.location,
        items=[
            BookingItem(service=salon.colour, staff=salon.stylist, start=salon.at(10)),
            BookingItem(service=salon.cut, staff=salon.other_stylist, start=salon.at(12, 15)),
        ],
        source="front_desk",
        booked_by=None,
    )
    return appointment_check_in(appointment=appointment, by=reception.user)


class Fields(HTMLParser):
    """Form controls a person fills (not hidden inputs), the ids <label for> names, aria-labels,
    and which controls sit in an input group with a currency sign."""

    def __init__(self):
        super().__init__()
        self.controls: list[dict] = []
        self.label_for: set[str] = set()
        self.stack: list[dict] = []
        self.addons: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "label" and a.get("for"):
            self.label_for.add(a["for"])
        if tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            group = next((g for g in reversed(self.stack) if "input-group" in g.get("class", "")), None)
            self.controls.append({**a, "group": group})
        if tag == "span" and "input-group-text" in (a.get("class") or ""):
            self.addons.append("")
        if tag not in ("input", "br", "meta", "link", "img"):
            self.stack.append({"tag": tag, "class": a.get("class") or "", "text": ""})

    def handle_endtag(self, tag):
        while self.stack:
            el = self.stack.pop()
            if el["tag"] == tag:
                break

    def handle_data(self, data):
        if self.stack:
            for el in self.stack:
                el["text"] += data


def _fields(html: str) -> Fields:
    parser = Fields()
    parser.feed(html)
    return parser


def _page(client, arrived) -> str:
    response = client.get(reverse("appointments:checkout", args=[arrived.pk]))
    assert response.status_code == 200
    return response.content.decode()


AMOUNT_FIELDS = ("unit_price", "discount", "amount")


def _checkout_form(html: str) -> str:
    start = html.index('<form method="post" id="checkout-form"')
    return html[start : html.index("</form>", start)]


def test_every_field_has_a_label(client_as, reception, arrived):
    html = _page(client_as(reception), arrived)
    f = _fields(html)
    unlabelled = [
        c.get("id") or c.get("name")
        for c in f.controls
        if c.get("id") not in f.label_for and not c.get("aria-label")
    ]
    # Was 16 unlabelled fields and 11 unnamed selects (issue 9): now none.
    assert unlabelled == []
    assert (
        len(_fields(_checkout_form(html)).controls) == 7 * 4 + 3 * 3 + 1 + 3
    )  # 4 line rows, 3 payment rows, the visit discount, the tip, loyalty's top-up and gift card
    assert '<label class="visually-hidden" for="id_lines-0-service">Service, line 1</label>' in html
    assert '<label class="visually-hidden" for="id_pay-1-amount">Amount (CNY), payment 2</label>' in html
    assert '<label class="visually-hidden" for="id_lines-2-DELETE">Remove line 3</label>' in html


def test_amount_fields_and_totals_show_the_currency(client_as, reception, arrived):
    html = _page(client_as(reception), arrived)
    f = _fields(html)
    money = [c for c in f.controls if c.get("name", "").rsplit("-", 1)[-1] in AMOUNT_FIELDS]
    assert len(money) == 4 * 2 + 3 + 1  # 4 lines (price, discount), 3 payments, the visit discount
    assert all(c["group"] is not None and "¥" in c["group"]["text"] for c in money), [
        c["name"] for c in money if not c["group"]
    ]
    assert '<span class="currency">¥</span><span id="total-net">880.00</span>' in html
    assert "To pay <span" in html and ">CNY</span>" in html


def test_currency_comes_from_the_setting(client_as, reception, arrived, settings):
    settings.CURRENCY = "HKD"
    html = _page(client_as(reception), arrived)
    assert '<span class="currency">HK$</span><span id="total-net">880.00</span>' in html
    assert "Amount (HKD), payment 1" in html


def test_currency_symbol_helper(settings):
    assert currency_symbol("CNY") == "¥"
    assert currency_symbol("usd") == "$"
    assert currency_symbol("CHF") == "CHF"  # no known symbol: the code itself
    settings.CURRENCY = "EUR"
    assert currency_symbol() == "€"


def test_page_opens_with_the_whole_amount_in_cash_marked_as_filled_by_the_page(client_as, reception, arrived):
    html = _page(client_as(reception), arrived)
    assert 'name="pay-0-amount" value="880.00"' in html
    first, second, third = (c for c in _fields(html).controls if c.get("name", "").endswith("-amount"))
    assert [c.get("data-autofilled") for c in (first, second, third)] == ["1", None, None]
    assert 'data-paid="880.00" data-remaining="0.00"' in html


def _recalc(arrived, pay, discount="0"):
    data = {
        "recalc": "1",
        "discount": discount,
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "0",
        "lines-0-service": arrived.items.order_by("start")[0].service_id,
        "lines-0-staff": arrived.items.order_by("start")[0].staff_id,
        "lines-0-quantity": "1",
        "lines-0-discount": "0",
        "lines-1-service": arrived.items.order_by("start")[1].service_id,
        "lines-1-staff": arrived.items.order_by("start")[1].staff_id,
        "lines-1-quantity": "1",
        "lines-1-discount": "0",
        "pay-TOTAL_FORMS": str(len(pay)),
        "pay-INITIAL_FORMS": "0",
    }
    for n, (method, amount) in enumerate(pay):
        data[f"pay-{n}-method"] = method
        data[f"pay-{n}-amount"] = amount
    return data


def test_totals_carry_what_is_left_after_the_first_amount_changes(client_as, reception, arrived):
    client = client_as(reception)
    url = reverse("appointments:checkout", args=[arrived.pk])
    html = client.post(url, _recalc(arrived, [("cash", "500"), ("", "")])).content.decode()
    assert 'data-paid="500.00" data-remaining="380.00"' in html
    assert 'id="total-left">380.00<' in html
    # the next row filled by the page, its method not chosen yet: still totals, not "fix the fields"
    html = client.post(url, _recalc(arrived, [("cash", "500"), ("", "380.00")])).content.decode()
    assert 'data-paid="880.00" data-remaining="0.00"' in html
    assert 'id="total-net">880.00<' in html
    assert 'id="total-left">0.00<' in html


def test_totals_say_when_the_payments_exceed_the_total(client_as, reception, arrived):
    url = reverse("appointments:checkout", args=[arrived.pk])
    html = (
        client_as(reception).post(url, _recalc(arrived, [("cash", "500"), ("card", "400")])).content.decode()
    )
    assert 'data-remaining="-20.00"' in html
    assert "Paid too much" in html and 'id="total-over">20.00<' in html


def test_no_balance_while_a_line_is_wrong(client_as, reception, arrived):
    url = reverse("appointments:checkout", args=[arrived.pk])
    data = _recalc(arrived, [("cash", "500")])
    data["lines-0-discount"] = "9999"  # above the line's price
    html = client_as(reception).post(url, data).content.decode()
    assert "data-remaining" not in html
    assert "Fix the highlighted fields" in html


def test_split_payment_checks_out(client_as, reception, arrived):
    url = reverse("appointments:checkout", args=[arrived.pk])
    data = _recalc(arrived, [("cash", "500"), ("card", "380.00")])
    del data["recalc"]
    response = client_as(reception).post(url, data)
    assert response.status_code == 302
    visit = Visit.objects.get()
    assert sorted((p.method, p.amount) for p in visit.payments.all()) == [
        ("card", Decimal("380.00")),
        ("cash", Decimal("500.00")),
    ]


def test_price_override_reason_still_works(client_as, reception, arrived):
    """Issue 8's reason field: shown by the running totals when the price is far below the
    catalogue, refused without it at the desk, recorded with it."""
    client = client_as(reception)
    url = reverse("appointments:checkout", args=[arrived.pk])
    data = _recalc(arrived, [("cash", "80.00")])
    data["lines-0-unit_price"] = "1.00"
    data["lines-1-discount"] = "121.00"
    html = client.post(url, data).content.decode()
    assert 'id="price-reason"' in html and 'for="id_price_reason"' in html
    assert 'data-paid="80.00" data-remaining="0.00"' in html
    del data["recalc"]
    response = client.post(url, data)
    assert response.status_code == 200 and Visit.objects.count() == 0
    assert "needs a reason" in response.content.decode()
    data["price_reason"] = "birthday offer"
    response = client.post(url, data)
    assert response.status_code == 302
    visit = Visit.objects.get()
    assert (visit.total, visit.price_override_reason, visit.price_override_by) == (
        Decimal("80.00"),
        "birthday offer",
        reception.user,
    )


def test_checkout_balance():
    balance = checkout_balance(total=Decimal("880"), amounts=[Decimal("500"), None, Decimal("0.5")])
    assert (balance.paid, balance.remaining) == (Decimal("500.50"), Decimal("379.50"))
    assert checkout_balance(total=Decimal("100"), amounts=[Decimal("150")]).remaining == Decimal("-50.00")


def test_checkout_page_and_totals_have_nothing_the_policy_blocks(client_as, reception, arrived):
    from tests.test_csp import offences

    client = client_as(reception)
    url = reverse("appointments:checkout", args=[arrived.pk])
    assert offences(client.get(url).content.decode()) == []
    assert offences(client.post(url, _recalc(arrived, [("cash", "500"), ("", "")])).content.decode()) == []
