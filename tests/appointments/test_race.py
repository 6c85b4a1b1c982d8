"""32 concurrent bookings of one slot through the API, each thread on its own database
connection: the exclusion constraint lets exactly one through, the rest get 409, none 500."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from appointments.models import AppointmentItem
from tests.appointments import fixtures_core
from tests.appointments.factories import CustomerFactory

salon = fixtures_core.salon
THREADS = 32


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_32_concurrent_bookings_of_one_slot(salon, reception):
    # given: 32 different clients want the same stylist at the same time
    customers = [CustomerFactory().pk for _ in range(THREADS)]
    start_gate = threading.Barrier(THREADS)

    def attempt(customer_id: int) -> tuple[int, dict]:
        try:
            client = APIClient()
            client.force_authenticate(user=reception.user)
            start_gate.wait(timeout=30)
            response = client.post(
                "/api/v1/appointments/",
                {
                    "customer": customer_id,
                    "location": salon.location.pk,
                    "items": [
                        {
                            "service": salon.cut.pk,
                            "staff": salon.stylist.pk,
                            "start": "2027-01-06T10:00:00+08:00",
                        }
                    ],
                },
                format="json",
            )
            return response.status_code, response.json()
        finally:
            connection.close()  # this thread's own connection

    # when
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(attempt, customers))
    connections.close_all()

    # then
    codes = sorted(code for code, _body in results)
    assert codes == [201] + [409] * (THREADS - 1)
    assert {body["code"] for code, body in results if code == 409} == {"slot_taken"}
    assert AppointmentItem.objects.filter(staff=salon.stylist, is_active=True).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_locked_appointment_does_not_lock_its_location_or_client(salon, reception):
    """appointment_lock holds the appointment's row only: while one desk acts on an appointment
    (a checkout, a move), another desk can book at the same location and edit the client. With
    the location's row locked too, every booking there (its foreign key takes a share lock on
    the location) would wait for that transaction."""
    from django.db import transaction

    from appointments.services import BookingItem, appointment_book
    from appointments.services.booking import appointment_lock

    appointment = appointment_book(
        customer=CustomerFactory(),
        location=salon.location,
        items=[BookingItem(service=salon.cut, staff=salon.stylist, start=salon.at(10))],
        source="front_desk",
        booked_by=reception.user,
    )
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                appointment_lock(appointment)
                held.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(timeout=30)
        with connection.cursor() as cursor, transaction.atomic():
            cursor.execute("SET LOCAL lock_timeout = '2s'")
            # what inserting a booking at the location, and editing the client, need
            cursor.execute("SELECT 1 FROM accounts_location WHERE id = %s FOR KEY SHARE", [salon.location.pk])
            cursor.execute(
                "SELECT 1 FROM customers_customer WHERE id = %s FOR UPDATE", [appointment.customer_id]
            )
            # and the appointment itself is held
            with pytest.raises(Exception, match="lock timeout"), transaction.atomic():
                cursor.execute(
                    "SELECT 1 FROM appointments_appointment WHERE id = %s FOR UPDATE", [appointment.pk]
                )
    finally:
        release.set()
        holder.join()
