"""Factories for the appointments tests (shared with the pages tests). CustomerFactory is
re-exported from tests.customers.factories."""

from datetime import datetime, time, timedelta
from decimal import Decimal

import factory

from accounts.models import Location, OpeningHours, StaffMember
from appointments.models import (
    Product,
    Resource,
    ResourceType,
    Service,
    ServiceCategory,
    TimeOff,
    WorkingHours,
)
from tests.customers.factories import CustomerFactory


class ServiceCategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceCategory
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Category {n}")


class ServiceFactory(factory.django.DjangoModelFactory):
    """ServiceFactory(locations=[location], duration_minutes=60, buffer_after_minutes=0)."""

    class Meta:
        model = Service
        skip_postgeneration_save = True

    category = factory.SubFactory(ServiceCategoryFactory, name="Hair")
    name = factory.Sequence(lambda n: f"Service {n}")
    duration_minutes = 60
    buffer_after_minutes = 0
    price = Decimal("200.00")

    @factory.post_generation
    def locations(self, create, extracted, **kwargs):
        if create and extracted:
            self.locations.set(extracted)


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    sku = factory.Sequence(lambda n: f"SKU{n:05d}")
    price = Decimal("88.00")


class ResourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Resource

    name = factory.Sequence(lambda n: f"Room {n}")
    type = ResourceType.ROOM


def open_all_week(location: Location, opens: time = time(9), closes: time = time(21)) -> None:
    """Opening hours every day of the week (LocationFactory creates none: closed)."""
    OpeningHours.objects.bulk_create(
        [OpeningHours(location=location, weekday=d, opens=opens, closes=closes) for d in range(7)]
    )


def work_all_week(
    staff: StaffMember, location: Location, start: time = time(9), end: time = time(21)
) -> None:
    WorkingHours.objects.bulk_create(
        [WorkingHours(staff=staff, location=location, weekday=d, start=start, end=end) for d in range(7)]
    )


def time_off(staff: StaffMember, start: datetime, hours: float) -> TimeOff:
    return TimeOff.objects.create(staff=staff, start=start, end=start + timedelta(hours=hours), reason="off")


__all__ = [
    "CustomerFactory",
    "ProductFactory",
    "ResourceFactory",
    "ServiceCategoryFactory",
    "ServiceFactory",
    "open_all_week",
    "time_off",
    "work_all_week",
]
