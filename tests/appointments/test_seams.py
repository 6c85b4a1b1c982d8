"""The seams other apps attach to (issue 7): one service books for an existing or a new client
in one transaction, one chaining rule, the after-commit events, and the in-transaction
registries of payment methods and line kinds."""

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from appointments import events, line_kinds, payments, selectors
from appointments.models import Appointment, Payment, Visit, VisitLine
from appointments.services import (
    BookingItem,
    CheckoutLine,
    PaymentIn,
    appointment_book,
    availability_find,
    visit_checkout,
    visit_void,
)
from customers.models import Customer
from tests.appointments import fixtures_core
from tests.appointments.factories import CustomerFactory, ServiceFactory
from tests.appointments.fixtures_core import DAY

salon = fixtures_core.salon
on_the_day = fixtures_core.on_the_day  # check-in, start and checkout happen on the appointment's day
pytestmark = pytest.mark.django_db

NEW_PHONE = "+8613700001234"


def _dialog(client, salon, **overrides):
    data = {
        "customer": "",
        "new_name": "新客人",
        "new_phone": "13700001234",
        "date": DAY.isoformat(),
        "notes": "",
        "override_reason": "",
        "items-TOTAL_FORMS": "3",
        "items-INITIAL_FORMS": "0",
        "items-0-service": salon.cut.pk,
        "items-0-staff": salon.stylist.pk,
        "items-0-start": "10:00",
    }
    data.update(overrides)
    return client.post(reverse("appointments:book"), data, HTTP_HX_REQUEST="true")


# ---- one transaction for a new client and the booking ----------------------------------------


def test_refused_booking_for_a_new_client_saves_no_client_and_the_retry_books(client_as, salon, reception):
    # given the 10:00 slot is taken
    appointment_book(
        customer=CustomerFactory(),
        location=salon.location,
        items=[BookingItem(service=salon.cut, staff=salon.stylist, start=salon.at(10))],
        source="front_desk",
        booked_by=None,
    )
    client = client_as(reception)
    # when the desk books a new client there
    refused = _dialog(client, salon)
    # then the booking is refused and the client is not on file
    assert refused.status_code == 200
    assert "is booked 10:00–11:00" in refused.content.decode()
    assert not Customer.objects.filter(phone=NEW_PHONE).exists()
    # and the next try, at 11:00, books (no "already on file")
    booked = _dialog(client, salon, **{"items-0-start": "11:00"})
    assert booked.status_code == 204
    customer = Customer.objects.get(phone=NEW_PHONE)
    assert customer.name == "新客人"
    assert Appointment.objects.get(customer=customer).start == salon.at(11)


def test_safety_refusal_for_a_new_client_saves_no_client(client_as, salon, reception):
    salon.colour.requires_patch_test = True
    salon.colour.save()
    response = _dialog(client_as(reception), salon, **{"items-0-service": salon.colour.pk})
    assert response.status_code == 200
    assert "No patch test on file" in response.content.decode()
    assert not Customer.objects.filter(phone=NEW_PHONE).exists()
    assert Appointment.objects.count() == 0


@pytest.fixture
def at_ten(monkeypatch, salon):
    """It is 10:05 on DAY (the salon is open; walk-ins start "now")."""
    monkeypatch.setattr(timezone, "now", lambda: salon.at(10, 5).astimezone(UTC))


def test_walk_in_for_a_new_client_refused_saves_no_client(client_as, salon, reception, at_ten):
    # the stylist is busy now: a walk-in with them is refused
    appointment_book(
        customer=CustomerFactory(),
        location=salon.location,
        items=[BookingItem(service=salon.cut, staff=salon.stylist, start=salon.at(9, 30))],
        source="front_desk",
        booked_by=None,
    )
    response = client_as(reception).post(
        reverse("appointments:walk_in"),
        {
            "new_name": "走进来的客人",
            "new_phone": "13700001234",
            "service": salon.cut.pk,
            "staff": salon.stylist.pk,
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert not Customer.objects.filter(phone=NEW_PHONE).exists()


def test_online_booking_refused_for_safety_saves_no_client(client, salon):
    salon.colour.requires_patch_test = True
    salon.colour.save()
    response = client.post(
        reverse("appointments:online_submit", args=[salon.location.code]),
        {
            "service": salon.colour.pk,
            "staff": salon.stylist.pk,
            "start": salon.at(10).isoformat(),
            "name": "网上新客",
            "phone": "13700001234",
        },
    )
    assert response.status_code == 409
    assert not Customer.objects.filter(phone=NEW_PHONE).exists()


# ---- one chaining rule ---------------------------------------------------------------------------


def test_colour_then_cut_with_the_same_stylist_chains_after_the_buffer(client_as, salon, reception):
    # when colour (120 min + 15 min buffer) at 10:00 then cut, start left empty, same stylist
    response = _dialog(
        client_as(reception),
        salon,
        customer=salon.customer.pk,
        new_name="",
        new_phone="",
        **{
            "items-0-service": salon.colour.pk,
            "items-1-service": salon.cut.pk,
            "items-1-staff": salon.stylist.pk,
            "items-1-start": "",
        },
    )
    # then it is booked: the cut starts when the colour's buffer is over
    assert response.status_code == 204
    items = list(Appointment.objects.get().items.order_by("start"))
    assert [(i.service, i.staff, i.start, i.end, i.busy_until) for i in items] == [
        (salon.colour, salon.stylist, salon.at(10), salon.at(12), salon.at(12, 15)),
        (salon.cut, salon.stylist, salon.at(12, 15), salon.at(13, 15), salon.at(13, 15)),
    ]


def test_api_items_after_the_first_may_leave_out_start(salon, reception, api_as):
    response = api_as(reception).post(
        "/api/v1/appointments/",
        {
            "customer": salon.customer.pk,
            "location": salon.location.pk,
            "items": [
                {"service": salon.colour.pk, "staff": salon.stylist.pk, "start": "2027-01-06T10:00:00+08:00"},
                {"service": salon.cut.pk, "staff": salon.stylist.pk},
            ],
        },
        format="json",
    )
    assert response.status_code == 201
    assert [(i["start"], i["end"]) for i in response.json()["items"]] == [
        ("2027-01-06T10:00:00+08:00", "2027-01-06T12:00:00+08:00"),
        ("2027-01-06T12:15:00+08:00", "2027-01-06T13:15:00+08:00"),
    ]


def test_api_first_item_needs_a_start(salon, reception, api_as):
    response = api_as(reception).post(
        "/api/v1/appointments/",
        {
            "customer": salon.customer.pk,
            "location": salon.location.pk,
            "items": [{"service": salon.cut.pk, "staff": salon.stylist.pk}],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"start": ["Give the first service a start time."]}
    assert Appointment.objects.count() == 0


def test_availability_and_booking_agree_on_the_chain(salon):
    # given the stylist is free from 10:00 and busy from 13:15
    appointment_book(
        customer=CustomerFactory(),
        location=salon.location,
        items=[BookingItem(service=salon.cut, staff=salon.stylist, start=salon.at(13, 15))],
        source="front_desk",
        booked_by=None,
    )
    slots = availability_find(
        location=salon.location,
        services=[salon.colour, salon.cut],
        start_date=DAY,
        end_date=DAY,
        staff=salon.stylist,
        now=salon.at(9),
    )
    starts = [s.start.astimezone(salon.location.tz).time() for s in slots]
    # colour 120 + buffer 15 + cut 60 = 195 minutes must fit before 13:15: 10:00 is the last start
    assert starts[:5] == [time(9), time(9, 15), time(9, 30), time(9, 45), time(10)]
    assert time(10, 15) not in starts
    # and the last offered start books with the same chain
    appointment_book(
        customer=salon.customer,
        location=salon.location,
        items=[
            BookingItem(service=salon.colour, staff=salon.stylist, start=salon.at(10)),
            BookingItem(service=salon.cut, staff=salon.stylist),
        ],
        source="front_desk",
        booked_by=None,
    )


# ---- after-commit events: a failing listener never breaks a committed write -----------------------


def _past_day():
    return timezone.localdate() - timedelta(days=1)


def _book(salon, day, hour, by=None, service=None):
    start = datetime.combine(day, time(hour), tzinfo=salon.location.tz)
    return appointment_book(
        customer=salon.customer,
        location=salon.location,
        items=[BookingItem(service=service or salon.cut, staff=salon.stylist, start=start)],
        source="front_desk",
        booked_by=by,
    )


def _act(kind, salon, api, manager_api):
    """Do what emits `kind` through the API; return (response, appointment id or None, visit id)."""
    if kind == events.BOOKED:
        response = api.post(
            "/api/v1/appointments/",
            {
                "customer": salon.customer.pk,
                "location": salon.location.pk,
                "items": [
                    {"service": salon.cut.pk, "staff": salon.stylist.pk, "start": "2027-01-06T10:00:00+08:00"}
                ],
            },
            format="json",
        )
        return response, response.json()["id"], None
    if kind in (events.CONFIRMED, events.CHECKED_IN, events.CANCELLED, events.MOVED):
        appointment = _book(salon, DAY, 10)
        path = {
            events.CONFIRMED: "confirm",
            events.CHECKED_IN: "check-in",
            events.CANCELLED: "cancel",
            events.MOVED: "move",
        }[kind]
        body = {"start": "2027-01-06T11:00:00+08:00"} if kind == events.MOVED else {}
        return (
            api.post(f"/api/v1/appointments/{appointment.pk}/{path}/", body, format="json"),
            appointment.pk,
            None,
        )
    if kind == events.STARTED:
        appointment = _book(salon, DAY, 10)
        api.post(f"/api/v1/appointments/{appointment.pk}/check-in/", {}, format="json")
        return api.post(f"/api/v1/appointments/{appointment.pk}/start/"), appointment.pk, None
    if kind == events.NO_SHOW:
        appointment = _book(salon, _past_day(), 10)
        return api.post(f"/api/v1/appointments/{appointment.pk}/no-show/"), appointment.pk, None
    appointment = _book(salon, DAY, 10)
    checkout = {
        "location": salon.location.pk,
        "customer": salon.customer.pk,
        "appointment": appointment.pk,
        "payments": [{"method": "cash", "amount": "200.00"}],
    }
    response = api.post("/api/v1/visits/", checkout, format="json")
    if kind in (events.COMPLETED, events.VISIT_COMPLETED):
        return response, appointment.pk, response.json()["id"]
    visit_id = response.json()["id"]
    return (
        manager_api.post(f"/api/v1/visits/{visit_id}/void/", {"reason": "wrong client"}, format="json"),
        appointment.pk,
        visit_id,
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", events.APPOINTMENT_KINDS + events.VISIT_KINDS)
def test_a_failing_listener_leaves_the_write_committed_and_the_answer_2xx(
    kind, salon, reception, manager, api_client, on_the_day
):
    # given a listener that raises on every event, and one that records them
    seen = []

    def broken(event):
        raise RuntimeError("listener down")

    from rest_framework.test import APIClient

    manager_api = APIClient()
    manager_api.force_authenticate(user=manager.user)
    api_client.force_authenticate(user=reception.user)
    with events.listening("test.broken", broken), events.listening("test.seen", seen.append):
        # when the action is done through the API
        response, appointment_id, visit_id = _act(kind, salon, api_client, manager_api)
    # then it answered 2xx, the change is committed, and the other listener got the event
    assert response.status_code in (200, 201), response.content
    mine = [e for e in seen if e.kind == kind]
    assert len(mine) == 1
    event = mine[0]
    assert event.actor_id == (manager.user.pk if kind == events.VISIT_VOIDED else reception.user.pk)
    assert event.customer_id == salon.customer.pk and event.location_id == salon.location.pk
    if kind in events.APPOINTMENT_KINDS:
        appointment = Appointment.objects.get(pk=appointment_id)
        assert event.appointment_id == appointment.pk and event.version == appointment.version
        expected_status = {
            events.BOOKED: "booked",
            events.CONFIRMED: "confirmed",
            events.MOVED: "booked",
            events.CANCELLED: "cancelled",
            events.CHECKED_IN: "arrived",
            events.STARTED: "in_service",
            events.NO_SHOW: "no_show",
            events.COMPLETED: "completed",
        }[kind]
        assert appointment.status == expected_status
    else:
        visit = Visit.objects.get(pk=visit_id)
        assert (event.visit_id, event.appointment_id) == (visit.pk, appointment_id)
        assert visit.status == ("completed" if kind == events.VISIT_COMPLETED else "voided")


def test_events_carry_the_version_after_a_move(salon, reception, django_capture_on_commit_callbacks):
    seen = []
    appointment = _book(salon, DAY, 10, by=reception.user)
    with events.listening("test", seen.append), django_capture_on_commit_callbacks(execute=True):
        from appointments.services import appointment_move

        appointment_move(appointment=appointment, new_start=salon.at(11), by=reception.user)
    assert [(e.kind, e.version) for e in seen] == [("moved", 2)]


def test_a_walk_in_sends_booked_then_checked_in_then_started(
    salon, reception, at_ten, django_capture_on_commit_callbacks
):
    from appointments.services import walk_in_create

    seen = []
    with events.listening("test", seen.append), django_capture_on_commit_callbacks(execute=True):
        appointment = walk_in_create(
            customer=salon.customer,
            location=salon.location,
            service=salon.cut,
            staff=salon.stylist,
            by=reception.user,
        )
    assert [(e.kind, e.appointment_id) for e in seen] == [
        ("booked", appointment.pk),
        ("checked_in", appointment.pk),
        ("started", appointment.pk),
    ]


def test_subscribing_to_an_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        events.subscribe("test", print, kinds=["paid"])
    assert "test" not in events.bus.subscriptions()


# ---- payment methods: charge in the checkout's transaction, refund in the void's ----------------


@pytest.fixture
def booked(salon, reception, on_the_day):
    return _book(salon, DAY, 10, by=reception.user)


def test_a_registered_method_is_charged_at_checkout_and_refunded_at_void(salon, reception, manager, booked):
    calls = []

    def charge(visit, payment):
        calls.append(("charge", visit.pk, payment.amount, connection.in_atomic_block, visit.status))

    def refund(visit, payment):
        calls.append(("refund", visit.pk, payment.amount, connection.in_atomic_block, visit.status))

    with payments.payment_method_registered("test_card", "Test card", charge=charge, refund=refund):
        visit = visit_checkout(
            location=salon.location,
            customer=salon.customer,
            by=reception.user,
            appointment=booked,
            payments=[PaymentIn("test_card", Decimal("150.00")), PaymentIn("cash", Decimal("50.00"))],
        )
        visit_void(visit=visit, by=manager.user, reason="wrong client")
    assert calls == [
        ("charge", visit.pk, Decimal("150.00"), True, "completed"),
        ("refund", visit.pk, Decimal("150.00"), True, "voided"),
    ]
    assert payments.payment_method("test_card") is None  # unregistered after the block


def test_a_refund_that_raises_rolls_the_void_back(salon, reception, manager, booked):
    def refuse(visit, payment):
        raise ValidationError({"payments": ["The card's ledger is closed."]})

    with payments.payment_method_registered(
        "test_card", "Test card", charge=lambda visit, payment: None, refund=refuse
    ):
        visit = visit_checkout(
            location=salon.location,
            customer=salon.customer,
            by=reception.user,
            appointment=booked,
            payments=[PaymentIn("test_card", Decimal("200.00"))],
        )
        with pytest.raises(ValidationError):
            visit_void(visit=visit, by=manager.user, reason="wrong client")
    visit.refresh_from_db()
    assert (visit.status, visit.voided_by, visit.void_reason) == ("completed", None, "")


def test_a_method_needs_both_handlers():
    with pytest.raises(ValueError):
        payments.register_payment_method("half", "Half", charge=lambda visit, payment: None)
    assert payments.payment_method("half") is None


# ---- line kinds other apps sell through checkout --------------------------------------------------


def test_another_apps_line_kind_is_sold_and_voided_in_the_transactions(salon, reception, manager):
    log = []

    def price(line):
        if not line.ref:
            raise ValidationError({"lines": ["Which card?"]})
        return f"Top-up {line.ref}", None  # any amount: the line carries it

    def sold(visit, visit_line, line):
        log.append(("sold", visit_line.pk, visit_line.amount, line.ref, connection.in_atomic_block))

    def voided(visit, visit_line):
        log.append(("voided", visit_line.pk, visit_line.amount, visit_line.ref, connection.in_atomic_block))

    with line_kinds.line_kind_registered("test_topup", "Top-up", price=price, sold=sold, voided=voided):
        visit = visit_checkout(
            location=salon.location,
            customer=salon.customer,
            by=reception.user,
            lines=[CheckoutLine(kind="test_topup", ref="SV-1", unit_price=Decimal("1000.00"))],
            payments=[PaymentIn("wechat_pay", Decimal("1000.00"))],
        )
        line = visit.lines.get()
        assert (line.kind, line.ref, line.description, line.amount) == (
            "test_topup",
            "SV-1",
            "Top-up SV-1",
            Decimal("1000.00"),
        )
        visit_void(visit=visit, by=manager.user, reason="refunded at the desk")
    assert log == [
        ("sold", line.pk, Decimal("1000.00"), "SV-1", True),
        ("voided", line.pk, Decimal("1000.00"), "SV-1", True),
    ]


def test_a_line_kind_that_refuses_rolls_the_checkout_back(salon, reception):
    def sold(visit, visit_line, line):
        raise ValidationError({"lines": ["That package is sold out."]})

    with (
        line_kinds.line_kind_registered(
            "test_package",
            "Package",
            price=lambda line: ("Package", Decimal("990.00")),
            sold=sold,
            voided=lambda visit, visit_line: None,
        ),
        pytest.raises(ValidationError),
    ):
        visit_checkout(
            location=salon.location,
            customer=salon.customer,
            by=reception.user,
            lines=[CheckoutLine(kind="test_package", ref="P-10")],
            payments=[PaymentIn("cash", Decimal("990.00"))],
        )
    assert Visit.objects.count() == 0 and VisitLine.objects.count() == 0 and Payment.objects.count() == 0


def test_an_unknown_line_kind_is_a_field_error(salon, reception, api_as):
    response = api_as(reception).post(
        "/api/v1/visits/",
        {
            "location": salon.location.pk,
            "customer": salon.customer.pk,
            "lines": [{"kind": "spaceship", "unit_price": "10.00"}],
            "payments": [{"method": "cash", "amount": "10.00"}],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"lines": ["Unknown line kind."]}
    assert Visit.objects.count() == 0


# ---- the visits that count -------------------------------------------------------------------------


def test_visits_counted_leaves_out_voided_visits(salon, reception, manager):
    kept = visit_checkout(
        location=salon.location,
        customer=salon.customer,
        by=reception.user,
        lines=[CheckoutLine(kind="service", service=salon.cut, staff=salon.stylist)],
        payments=[PaymentIn("cash", Decimal("200.00"))],
    )
    voided = visit_checkout(
        location=salon.location,
        customer=salon.customer,
        by=reception.user,
        lines=[CheckoutLine(kind="service", service=salon.cut, staff=salon.stylist)],
        payments=[PaymentIn("cash", Decimal("200.00"))],
    )
    visit_void(visit=voided, by=manager.user, reason="duplicate")
    assert list(selectors.visits_counted().values_list("pk", flat=True)) == [kept.pk]


def test_the_services_offered_are_one_queryset_for_desk_api_and_online(salon, client, reception, api_as):
    hidden = ServiceFactory(name="Retired", is_active=False, locations=[salon.location])
    elsewhere = ServiceFactory(name="Elsewhere")
    offered = list(selectors.services_offered(location=salon.location))
    assert hidden not in offered and elsewhere not in offered
    api_names = [
        s["name"] for s in api_as(reception).get(f"/api/v1/services/?location={salon.location.pk}").json()
    ]
    assert api_names == [s.name for s in offered]
    page = client.get(reverse("appointments:online_book", args=[salon.location.code])).content.decode()
    assert all(s.name in page for s in offered) and "Retired" not in page
