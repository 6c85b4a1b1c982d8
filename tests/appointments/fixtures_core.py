"""Fixtures of the booking-engine tests: a salon open 09:00–21:00 every day, two stylists on
shift all week, a small catalogue, one client. Import the fixtures you use into a test module."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Location, StaffMember
from appointments.models import Resource, ResourceType, Service
from customers.models import Customer
from tests.appointments.factories import (
    CustomerFactory,
    ResourceFactory,
    ServiceFactory,
    open_all_week,
    work_all_week,
)

DAY = date(2027, 1, 6)  # a Wednesday in the future


@dataclass
class Salon:
    location: Location
    stylist: StaffMember
    other_stylist: StaffMember
    cut: Service
    colour: Service
    facial: Service
    room: Resource
    customer: Customer

    def at(self, hour: int, minute: int = 0, day: date = DAY) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=self.location.tz)


@pytest.fixture
def salon(location, stylist, other_stylist) -> Salon:
    open_all_week(location)
    work_all_week(stylist, location)
    work_all_week(other_stylist, location)
    cut = ServiceFactory(name="Cut", duration_minutes=60, price=Decimal("200.00"), locations=[location])
    colour = ServiceFactory(
        name="Colour",
        duration_minutes=120,
        buffer_after_minutes=15,
        price=Decimal("680.00"),
        requires_patch_test=False,
        rebook_interval_days=42,
        locations=[location],
    )
    facial = ServiceFactory(
        name="Facial",
        duration_minutes=60,
        price=Decimal("380.00"),
        resource_type=ResourceType.ROOM,
        locations=[location],
    )
    room = ResourceFactory(location=location, name="Room 1", type=ResourceType.ROOM)
    return Salon(
        location=location,
        stylist=stylist,
        other_stylist=other_stylist,
        cut=cut,
        colour=colour,
        facial=facial,
        room=room,
        customer=CustomerFactory(name="张三"),
    )


@pytest.fixture
def on_the_day(monkeypatch, salon):
    """It is 08:00 on DAY at the salon, before opening: DAY's bookings are still ahead, and
    its appointments are checked in, started and checked out on their own day (the time rules
    of appointments.services.checks)."""
    moment = salon.at(8).astimezone(UTC)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    return moment
