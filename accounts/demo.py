"""The demo salon. `manage.py seed_demo` runs the accounts seeder, then each app's seeder in
registration order (apps register theirs in AppConfig.ready). Every seeder is idempotent."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import time

from django.db import transaction

from accounts.models import Location, OpeningHours, Role, StaffMember
from accounts.services import staff_create

DEFAULT_PASSWORD = "salon-demo-2026"


@dataclass
class DemoContext:
    password: str
    locations: dict[str, Location] = field(default_factory=dict)
    staff: dict[str, StaffMember] = field(default_factory=dict)
    log: Callable[[str], None] = print


_SEEDERS: list[tuple[str, Callable[[DemoContext], None]]] = []


def register(key: str, seeder: Callable[[DemoContext], None]) -> None:
    if key not in [k for k, _ in _SEEDERS]:
        _SEEDERS.append((key, seeder))


LOCATIONS = [
    {
        "code": "jingan",
        "name": "静安店 Jing'an",
        "address": "上海市静安区南京西路 1266 号",
        "phone": "+86 21 6288 0001",
        "time_zone": "Asia/Shanghai",
    },
    {
        "code": "xuhui",
        "name": "徐汇店 Xuhui",
        "address": "上海市徐汇区淮海中路 999 号",
        "phone": "+86 21 6466 0002",
        "time_zone": "Asia/Shanghai",
    },
]

# username, display name, role, location codes, calendar colour
STAFF = [
    ("owner", "陈老板 Owner Chen", Role.OWNER, ["jingan", "xuhui"], "#343a40"),
    ("manager", "刘店长 Manager Liu", Role.MANAGER, ["jingan"], "#6f42c1"),
    ("reception", "小周 Reception Zhou", Role.RECEPTIONIST, ["jingan"], "#20c997"),
    ("stylist", "王磊 Kevin Wang", Role.STYLIST, ["jingan"], "#0d6efd"),
    ("stylist_lina", "李娜 Lina Li", Role.STYLIST, ["jingan"], "#d63384"),
    ("stylist_amy", "张敏 Amy Zhang", Role.STYLIST, ["jingan"], "#fd7e14"),
    ("manager_xh", "赵店长 Manager Zhao", Role.MANAGER, ["xuhui"], "#6610f2"),
    ("reception_xh", "小孙 Reception Sun", Role.RECEPTIONIST, ["xuhui"], "#198754"),
    ("stylist_tony", "Tony 杨", Role.STYLIST, ["xuhui"], "#0dcaf0"),
    ("stylist_jessica", "Jessica 吴", Role.STYLIST, ["xuhui"], "#dc3545"),
]


def seed_accounts(ctx: DemoContext) -> None:
    for data in LOCATIONS:
        location, created = Location.objects.update_or_create(code=data["code"], defaults=data)
        ctx.locations[location.code] = location
        if created or not location.opening_hours.exists():
            OpeningHours.objects.bulk_create(
                [
                    OpeningHours(location=location, weekday=d, opens=time(10), closes=time(21))
                    for d in range(7)
                ],
                ignore_conflicts=True,
            )
    from django.contrib.auth import get_user_model

    User = get_user_model()
    for username, name, role, codes, colour in STAFF:
        user = User.objects.filter(username=username).first()
        if user is None:
            staff = staff_create(
                username=username,
                password=ctx.password,
                display_name=name,
                role=role,
                locations=[ctx.locations[c] for c in codes],
                calendar_colour=colour,
            )
        else:
            user.set_password(ctx.password)
            user.save(update_fields=["password"])
            staff = user.staff
        if role == Role.OWNER and not staff.user.is_superuser:
            staff.user.is_superuser = True
            staff.user.is_staff = True
            staff.user.save(update_fields=["is_superuser", "is_staff"])
        ctx.staff[username] = staff
    ctx.log(f"accounts: {len(ctx.locations)} locations, {len(ctx.staff)} staff")


def seed_all(*, password: str = DEFAULT_PASSWORD, log: Callable[[str], None] = print) -> DemoContext:
    ctx = DemoContext(password=password, log=log)
    with transaction.atomic():
        seed_accounts(ctx)
    for _key, seeder in _SEEDERS:
        # Each app's seeder in its own transaction: a big seeder does not hold one huge one.
        with transaction.atomic():
            seeder(ctx)
    return ctx
