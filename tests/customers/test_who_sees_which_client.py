"""Issue 8, item 7: who sees which client. Reading one client's file stays open to reception and
managers of every location (a member may walk into any branch), and every view is logged. Bulk
reads - the CSV/XLSX export, campaign audiences - are limited: owners every client, a manager the
clients of their own locations (home location there, or a visit or an appointment there)."""

import io
from datetime import timedelta
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment, AppointmentStatus, Visit
from customers.models import AccessLog
from customers.selectors import customers_for_bulk, register_bulk_scope, unregister_bulk_scope
from tests.accounts.factories import StaffMemberFactory
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_manager(other_location):
    return StaffMemberFactory(user__username="manager.xuhui", role="manager", locations=[other_location])


@pytest.fixture
def clients(location, other_location):
    """One client per way of belonging to a location, and one who belongs nowhere yet."""
    now = timezone.now()
    home_here = CustomerFactory(name="Home Jingan", home_location=location)
    home_there = CustomerFactory(name="Home Xuhui", home_location=other_location)
    visited_here = CustomerFactory(name="Visited Jingan", home_location=other_location)
    Visit.objects.create(customer=visited_here, location=location, started_at=now, total=Decimal("100"))
    booked_here = CustomerFactory(name="Booked Jingan")
    Appointment.objects.create(
        customer=booked_here,
        location=location,
        start=now + timedelta(days=1),
        end=now + timedelta(days=1, hours=1),
        status=AppointmentStatus.CANCELLED,
    )
    nowhere = CustomerFactory(name="Nowhere")
    erased = CustomerFactory(name="Erased", home_location=location, erased_at=now)
    return {
        "home_here": home_here,
        "home_there": home_there,
        "visited_here": visited_here,
        "booked_here": booked_here,
        "nowhere": nowhere,
        "erased": erased,
    }


def _names(qs) -> list[str]:
    return sorted(qs.values_list("name", flat=True))


def test_owner_takes_every_active_client(owner, clients):
    assert _names(customers_for_bulk(user=owner.user)) == [
        "Booked Jingan",
        "Home Jingan",
        "Home Xuhui",
        "Nowhere",
        "Visited Jingan",
    ]


def test_manager_takes_the_clients_of_their_own_locations(manager, other_manager, clients):
    assert _names(customers_for_bulk(user=manager.user)) == ["Booked Jingan", "Home Jingan", "Visited Jingan"]
    # The Xuhui manager: home there (also the client who visited Jingan once, home Xuhui).
    assert _names(customers_for_bulk(user=other_manager.user)) == ["Home Xuhui", "Visited Jingan"]


def test_a_user_without_a_location_takes_nobody(db, clients):
    nobody = StaffMemberFactory(user__username="nowhere.manager", role="manager")
    assert _names(customers_for_bulk(user=nobody.user)) == []


def test_the_scope_is_extensible(manager, clients):
    from django.db.models import Q

    register_bulk_scope("test-vip", lambda locations: Q(name="Nowhere"))
    try:
        assert "Nowhere" in _names(customers_for_bulk(user=manager.user))
    finally:
        unregister_bulk_scope("test-vip")
    assert "Nowhere" not in _names(customers_for_bulk(user=manager.user))


def test_export_holds_only_the_managers_clients_and_logs_the_count(client_as, other_manager, clients):
    client = client_as(other_manager)
    response = client.get(reverse("customers:export"), {"format": "csv"})
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    exported = sorted(line.split(",")[1] for line in text.splitlines()[1:])
    assert exported == ["Home Xuhui", "Visited Jingan"]
    response = client.get(reverse("customers:export"), {"format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sorted(row[1].value for row in sheet.iter_rows(min_row=2)) == ["Home Xuhui", "Visited Jingan"]
    assert list(AccessLog.objects.order_by("pk").values_list("user", "action", "detail")) == [
        (other_manager.user.pk, "export", "csv: 2 clients"),
        (other_manager.user.pk, "export", "xlsx: 2 clients"),
    ]


def test_owner_export_holds_everyone(client_as, owner, clients):
    response = client_as(owner).get(reverse("customers:export"), {"format": "csv"})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert len(text.splitlines()) == 1 + 5


def test_reception_and_stylists_export_nothing(client_as, reception, stylist, clients):
    for persona in (reception, stylist):
        assert client_as(persona).get(reverse("customers:export"), {"format": "csv"}).status_code == 403
    assert AccessLog.objects.count() == 0


def test_reading_one_file_stays_open_across_locations_and_is_logged(
    client_as, other_manager, reception, clients
):
    client = clients["home_here"]
    # A Xuhui manager and a Jingan receptionist both open a Jingan client's file.
    assert client_as(other_manager).get(reverse("customers:detail", args=[client.pk])).status_code == 200
    far_desk = StaffMemberFactory(
        user__username="desk.xuhui", role="receptionist", locations=[other_manager.locations.get()]
    )
    assert client_as(far_desk).get(reverse("customers:detail", args=[client.pk])).status_code == 200
    logged = list(AccessLog.objects.order_by("pk").values_list("user", "action", "customer"))
    assert logged == [
        (other_manager.user.pk, "view_file", client.pk),
        (far_desk.user.pk, "view_file", client.pk),
    ]
