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
