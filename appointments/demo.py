"""Demo catalogue, schedules and bookings for `manage.py seed_demo`: 90 days of completed
visits (with payments) and 14 days of future bookings for the demo clients. Deterministic
(random.Random(SEED), times relative to today) and idempotent: skipped once seeded. Rows are
written with bulk_create on a fixed grid that never overlaps (so the exclusion constraints hold)
rather than through appointment_book, which keeps `make run` to a few seconds."""

import random
from datetime import time, timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import StaffMember
from appointments.models import (
    Appointment,
    AppointmentItem,
    AppointmentSource,
    AppointmentStatus,
    Payment,
    Product,
    Resource,
    ResourceType,
    Service,
    ServiceCategory,
    Visit,
    VisitLine,
    WorkingHours,
)
from appointments.services import rules
from customers.models import Customer
from customers.services import customer_create

SEED = 20261123
HISTORY_DAYS = 90
FUTURE_DAYS = 14
MARKER = "demo-visit-"

CATEGORIES = [
    ("剪发 Hair", 1),
    ("染烫 Colour & perm", 2),
    ("护理 Care", 3),
    ("美甲 Nails", 4),
    ("美容 Beauty", 5),
]
# name, category, minutes, buffer, price, resource, patch test, rebook days, follow-up days
SERVICES = [
    ("剪发 Cut", "剪发 Hair", 60, 0, "198", "", False, 35, None),
    ("洗吹 Wash & blow-dry", "剪发 Hair", 45, 0, "98", "", False, None, None),
    ("染发 Colour", "染烫 Colour & perm", 120, 15, "680", "", True, 42, 3),
    ("烫发 Perm", "染烫 Colour & perm", 150, 15, "880", "", False, 90, 3),
    ("护理 Treatment", "护理 Care", 60, 0, "298", "", False, 28, None),
    ("头皮护理 Scalp care", "护理 Care", 45, 0, "258", "", False, 30, None),
    ("美甲 Manicure", "美甲 Nails", 60, 0, "168", "", False, 21, None),
    ("面部护理 Facial", "美容 Beauty", 75, 15, "480", ResourceType.ROOM, False, 28, 2),
]
PRODUCTS = [
    ("修护洗发水 Repair shampoo", "P-SH-01", Product.Kind.RETAIL, "168"),
    ("护色发膜 Colour-care mask", "P-MK-01", Product.Kind.RETAIL, "238"),
    ("造型发蜡 Styling wax", "P-WX-01", Product.Kind.RETAIL, "128"),
    ("染膏 Colour cream (back bar)", "B-CL-01", Product.Kind.BACK_BAR, "0"),
    ("双氧奶 Developer (back bar)", "B-DV-01", Product.Kind.BACK_BAR, "0"),
]
RESOURCES = [
    ("椅 Chair %d", ResourceType.CHAIR, 6),
    ("房 Room %d", ResourceType.ROOM, 2),
    ("洗头床 Basin %d", ResourceType.BASIN, 2),
]
# Appointment starts per stylist per day, 3 hours apart: the longest service (150 + 15) fits.
SLOTS = [time(10), time(13), time(16), time(19)]
METHODS = ["wechat_pay", "wechat_pay", "alipay", "card", "cash"]


def _catalogue(locations) -> list[Service]:
    categories = {}
    for name, position in CATEGORIES:
        categories[name], _ = ServiceCategory.objects.get_or_create(
            name=name, defaults={"position": position}
        )
    services = []
    for name, cat, minutes, buffer, price, resource, patch, rebook, follow in SERVICES:
        service, created = Service.objects.get_or_create(
            name=name,
            defaults={
                "category": categories[cat],
                "duration_minutes": minutes,
                "buffer_after_minutes": buffer,
                "price": Decimal(price),
                "resource_type": resource,
                "requires_patch_test": patch,
                "rebook_interval_days": rebook,
                "follow_up_days": follow,
            },
        )
        if created:
            service.locations.set(locations)
        services.append(service)
    for name, sku, kind, price in PRODUCTS:
        Product.objects.get_or_create(sku=sku, defaults={"name": name, "kind": kind, "price": Decimal(price)})
    for location in locations:
        for pattern, kind, count in RESOURCES:
            for n in range(1, count + 1):
                Resource.objects.get_or_create(location=location, name=pattern % n, defaults={"type": kind})
    return services


def _hours(stylists_by_location) -> None:
    rows = []
    for location, stylists in stylists_by_location.items():
        for index, staff in enumerate(stylists):
            if WorkingHours.objects.filter(staff=staff, location=location).exists():
                continue
            day_off = (index * 2 + 1) % 7  # staggered days off
            rows += [
                WorkingHours(staff=staff, location=location, weekday=d, start=time(10), end=time(21))
                for d in range(7)
                if d != day_off
            ]
    WorkingHours.objects.bulk_create(rows)


def _clients() -> list[Customer]:
    """The demo clients customers' seeder made (or a few of our own, through its service)."""
    clients = list(
        Customer.objects.filter(external_id__startswith="demo-", erased_at__isnull=True).order_by(
            "external_id"
        )
    )
    if clients:
        return clients
    names = ["林晓雪", "陈思远", "Emily Clark", "王芳", "张伟", "刘洋", "Sophie Martin", "赵敏"]
    return [
        customer_create(
            user=None, name=name, phone=f"+8613900{n:06d}", external_id=f"demo-a{n:03d}", source="walk_in"
        )
        for n, name in enumerate(names, start=1)
    ]


class _Planner:
    """One appointment per (stylist, slot) drawn at random, on a grid that never overlaps."""

    def __init__(self, ctx, rng: random.Random, services: list[Service], clients: list[Customer], locations):
        self.rng = rng
        self.services = services
        self.clients = clients
        self.now = timezone.now()
        front_desk = ctx.staff.get("reception")
        self.created_by = front_desk.user if front_desk else None
        self.working = set(WorkingHours.objects.values_list("staff_id", "location_id", "weekday"))
        self.rooms = {
            loc.pk: list(Resource.objects.filter(location=loc, type=ResourceType.ROOM).order_by("name"))
            for loc in locations
        }

    def plan(self, stylists_by_location) -> list[tuple[Appointment, AppointmentItem]]:
        plans = []
        for location, stylists in stylists_by_location.items():
            today = timezone.localdate(timezone=location.tz)
            for offset in range(-HISTORY_DAYS, FUTURE_DAYS):
                day = today + timedelta(days=offset)
                for slot in SLOTS:
                    rooms_free = list(self.rooms[location.pk])
                    for staff in stylists:
                        if (staff.pk, location.pk, day.weekday()) not in self.working:
                            continue
                        if self.rng.random() > (0.7 if offset < 0 else 0.5):
                            continue
                        plans.append(self._one(location, staff, day, slot, rooms_free))
        return plans

    def _service(self, slot: time, rooms_free: list) -> Service:
        service = self.rng.choice(self.services)
        if service.resource_type == ResourceType.ROOM and not rooms_free:
            return self.services[0]
        if slot == SLOTS[-1] and service.duration_minutes > 120:
            return self.services[0]
        return service

    def _status(self, start) -> str:
        if start < self.now:
            roll = self.rng.random()
            if roll < 0.04:
                return AppointmentStatus.NO_SHOW
            return AppointmentStatus.CANCELLED if roll < 0.09 else AppointmentStatus.COMPLETED
        return AppointmentStatus.CONFIRMED if self.rng.random() < 0.4 else AppointmentStatus.BOOKED

    def _one(self, location, staff, day, slot, rooms_free) -> tuple[Appointment, AppointmentItem]:
        service = self._service(slot, rooms_free)
        start, end, busy = rules.service_span(service, rules.local_dt(location, day, slot))
        status = self._status(start)
        cancelled = status == AppointmentStatus.CANCELLED
        appointment = Appointment(
            customer=self.rng.choice(self.clients),
            location=location,
            status=status,
            source=self.rng.choice(
                [AppointmentSource.FRONT_DESK, AppointmentSource.PHONE, AppointmentSource.ONLINE]
            ),
            start=start,
            end=end,
            created_at=start - timedelta(days=self.rng.randint(1, 14)),
            created_by=self.created_by,
            completed_at=end if status == AppointmentStatus.COMPLETED else None,
            cancelled_at=start - timedelta(hours=self.rng.randint(2, 48)) if cancelled else None,
            cancel_reason="临时有事 Something came up" if cancelled else "",
        )
        item = AppointmentItem(
            service=service,
            staff=staff,
            resource=rooms_free.pop(0) if service.resource_type == ResourceType.ROOM else None,
            start=start,
            end=end,
            busy_until=busy,
            price=service.price,
            is_active=status not in (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW),
        )
        return appointment, item


def _save_visits(rng: random.Random, done: list[tuple[Appointment, AppointmentItem]]) -> list[Visit]:
    """A completed visit, its service line and one payment per completed appointment."""
    visits = [
        Visit(
            appointment=a,
            customer=a.customer,
            location=a.location,
            status=Visit.Status.COMPLETED,
            started_at=a.start,
            completed_at=a.end,
            subtotal=i.price,
            total=i.price,
            external_id=f"{MARKER}{a.pk}",
            created_by=a.created_by,
        )
        for a, i in done
    ]
    Visit.objects.bulk_create(visits, batch_size=1000)
    VisitLine.objects.bulk_create(
        [
            VisitLine(
                visit=v,
                kind=VisitLine.Kind.SERVICE,
                service=i.service,
                staff=i.staff,
                description=i.service.name,
                unit_price=i.price,
                amount=i.price,
            )
            for v, (_a, i) in zip(visits, done, strict=True)
        ],
        batch_size=1000,
    )
    Payment.objects.bulk_create(
        [
            Payment(visit=v, method=rng.choice(METHODS), amount=v.total, created_at=v.completed_at)
            for v in visits
        ],
        batch_size=1000,
    )
    return visits


def seed_appointments(ctx) -> None:
    if Visit.objects.filter(external_id__startswith=MARKER).exists():
        ctx.log("appointments: already seeded")
        return
    rng = random.Random(SEED)
    locations = list(ctx.locations.values())
    services = _catalogue(locations)
    stylists_by_location = {
        loc: list(StaffMember.objects.bookable().filter(locations=loc).order_by("user__username"))
        for loc in locations
    }
    _hours(stylists_by_location)
    plans = _Planner(ctx, rng, services, _clients(), locations).plan(stylists_by_location)
    Appointment.objects.bulk_create([a for a, _i in plans], batch_size=1000)
    for appointment, item in plans:
        item.appointment = appointment
    AppointmentItem.objects.bulk_create([i for _a, i in plans], batch_size=1000)
    visits = _save_visits(rng, [(a, i) for a, i in plans if a.status == AppointmentStatus.COMPLETED])
    future = sum(1 for a, _i in plans if a.start >= timezone.now())
    ctx.log(
        f"appointments: {len(services)} services, {len(plans)} appointments "
        f"({len(visits)} completed visits, {future} upcoming)"
    )
