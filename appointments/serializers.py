"""API shapes of the appointments app. Class names are unique across the project (they become
OpenAPI component names). Times go out in the location's own zone, with the offset."""

import re

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Location, StaffMember
from appointments.models import Product, Service, Visit, WaitlistEntry
from appointments.services import rules
from customers.models import Customer


def _outside_calendar() -> serializers.ValidationError:
    return serializers.ValidationError(
        _("Give a date between %(first)s and %(last)s.")
        % {"first": rules.CALENDAR_FIRST.isoformat(), "last": rules.CALENDAR_LAST.isoformat()}
    )


class AwareDateTimeField(serializers.DateTimeField):
    """ISO-8601 with a UTC offset; a naive time is refused (it would be guessed otherwise), and
    so is a date outside the calendar's years (rules.in_calendar)."""

    def to_internal_value(self, value):
        try:
            parsed = parse_datetime(value) if isinstance(value, str) else None
        except ValueError:
            # Well formed but impossible: month 13, 31 April, an offset of +25:00.
            raise serializers.ValidationError(
                _("Not a real date and time; use ISO-8601, e.g. 2026-03-29T10:00:00+01:00.")
            ) from None
        if parsed is None:
            raise serializers.ValidationError(_("Use ISO-8601, e.g. 2026-03-29T10:00:00+01:00."))
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            raise serializers.ValidationError(_("Give the time with its UTC offset, e.g. +08:00."))
        if not rules.in_calendar(parsed):
            raise _outside_calendar()
        return parsed


class CalendarDateField(serializers.DateField):
    """A local date (YYYY-MM-DD) inside the calendar's years (rules.in_calendar): a day at
    either end of Python's dates cannot be turned into UTC instants."""

    def to_internal_value(self, value):
        day = super().to_internal_value(value)
        if not rules.in_calendar(day):
            raise _outside_calendar()
        return day


def local_iso(value, location: Location) -> str | None:
    return value.astimezone(location.tz).isoformat() if value else None


class CatalogueServiceOutput(serializers.ModelSerializer):
    category = serializers.CharField(source="category.name")
    locations = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Service
        fields = [
            "id",
            "name",
            "category",
            "duration_minutes",
            "buffer_after_minutes",
            "price",
            "resource_type",
            "requires_patch_test",
            "rebook_interval_days",
            "locations",
        ]


class AvailabilitySlotOutput(serializers.Serializer):
    staff = serializers.IntegerField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class AvailabilityTimeOutput(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    staff = serializers.ListField(child=serializers.IntegerField())


class AppointmentItemOutput(serializers.Serializer):
    id = serializers.IntegerField()
    service = serializers.IntegerField(source="service_id")
    service_name = serializers.CharField(source="service.name")
    staff = serializers.IntegerField(source="staff_id")
    resource = serializers.IntegerField(source="resource_id", allow_null=True)
    start = serializers.SerializerMethodField()
    end = serializers.SerializerMethodField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2)

    def get_start(self, item) -> str:
        return local_iso(item.start, item.appointment.location)

    def get_end(self, item) -> str:
        return local_iso(item.end, item.appointment.location)


class AppointmentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    customer = serializers.IntegerField(source="customer_id")
    customer_name = serializers.CharField(source="customer.name")
    location = serializers.IntegerField(source="location_id")
    time_zone = serializers.CharField(source="location.time_zone")
    status = serializers.CharField()
    source = serializers.CharField()
    start = serializers.SerializerMethodField()
    end = serializers.SerializerMethodField()
    version = serializers.IntegerField()
    notes = serializers.CharField()
    late_cancel = serializers.BooleanField()
    cancel_reason = serializers.CharField()
    items = serializers.SerializerMethodField()

    def get_start(self, a) -> str:
        return local_iso(a.start, a.location)

    def get_end(self, a) -> str:
        return local_iso(a.end, a.location)

    def get_items(self, a) -> list[dict]:
        items = list(a.items.all())
        for item in items:
            item.appointment = a  # the location for the local times, without a query per item
        return AppointmentItemOutput(items, many=True).data


class AppointmentBookItemInput(serializers.Serializer):
    service = serializers.PrimaryKeyRelatedField(queryset=Service.objects.all())
    staff = serializers.PrimaryKeyRelatedField(queryset=StaffMember.objects.all())
    start = AwareDateTimeField(
        required=False,
        allow_null=True,
        help_text="Required for the first item; left out, an item starts when the previous one "
        "ends plus its buffer.",
    )


class AppointmentBookInput(serializers.Serializer):
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.active())
    location = serializers.PrimaryKeyRelatedField(queryset=Location.objects.filter(is_active=True))
    items = AppointmentBookItemInput(many=True, allow_empty=False)
    source = serializers.ChoiceField(
        choices=["front_desk", "phone", "online", "walk_in"], default="front_desk", required=False
    )
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    override_reason = serializers.CharField(required=False, allow_blank=True, default="")
    record_past = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Enter a visit whose start has passed (appointments.record_past_visit: managers, "
        "owners); without it a start before the current slot is refused.",
    )


class AppointmentMoveInput(serializers.Serializer):
    start = AwareDateTimeField()
    staff = serializers.PrimaryKeyRelatedField(
        queryset=StaffMember.objects.all(), required=False, allow_null=True
    )


class AppointmentCancelInput(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


class AppointmentCheckInInput(serializers.Serializer):
    override_reason = serializers.CharField(required=False, allow_blank=True, default="")


class AppointmentStartInput(serializers.Serializer):
    override_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=200,
        help_text="Needed when the client has safety warnings for the booked services: the "
        "person at the chair confirms them (recorded as a safety override, context start).",
    )


class SafetyWarningsOutput(serializers.Serializer):
    code = serializers.CharField()
    warnings = serializers.ListField(child=serializers.DictField())


class VisitLineInput(serializers.Serializer):
    kind = serializers.CharField(
        max_length=24, help_text='"service", "product", or a kind another app registers ("topup"...)'
    )
    ref = serializers.CharField(
        max_length=64, required=False, allow_blank=True, default="", help_text="what that kind sells"
    )
    service = serializers.PrimaryKeyRelatedField(
        queryset=Service.objects.all(), required=False, allow_null=True
    )
    product = serializers.PrimaryKeyRelatedField(
        queryset=Product.objects.all(), required=False, allow_null=True
    )
    staff = serializers.PrimaryKeyRelatedField(
        queryset=StaffMember.objects.all(), required=False, allow_null=True
    )
    quantity = serializers.IntegerField(min_value=1, max_value=999, default=1)
    unit_price = serializers.DecimalField(
        max_digits=12, decimal_places=2, required=False, allow_null=True, min_value=0
    )
    discount = serializers.DecimalField(max_digits=12, decimal_places=2, default=0, min_value=0)


class VisitPaymentInput(serializers.Serializer):
    method = serializers.CharField(max_length=24)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class VisitCheckoutInput(serializers.Serializer):
    location = serializers.PrimaryKeyRelatedField(queryset=Location.objects.filter(is_active=True))
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.active())
    appointment = serializers.IntegerField(required=False, allow_null=True)
    lines = VisitLineInput(many=True, required=False, allow_null=True)
    discount = serializers.DecimalField(max_digits=12, decimal_places=2, default=0, min_value=0)
    payments = VisitPaymentInput(many=True, allow_empty=True)
    override_reason = serializers.CharField(required=False, allow_blank=True, default="")
    # Why a line is far below the catalogue price or nothing is paid (see visit_checkout).
    price_reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class VisitLineOutput(serializers.Serializer):
    kind = serializers.CharField()
    service = serializers.IntegerField(source="service_id", allow_null=True)
    product = serializers.IntegerField(source="product_id", allow_null=True)
    staff = serializers.IntegerField(source="staff_id", allow_null=True)
    description = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)


class VisitPaymentOutput(serializers.Serializer):
    method = serializers.CharField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    reference = serializers.CharField()


class VisitOutput(serializers.ModelSerializer):
    lines = VisitLineOutput(many=True)
    payments = VisitPaymentOutput(many=True)
    started_at = serializers.SerializerMethodField()
    next_visit = serializers.SerializerMethodField()

    class Meta:
        model = Visit
        fields = [
            "id",
            "appointment",
            "customer",
            "location",
            "status",
            "started_at",
            "subtotal",
            "discount",
            "total",
            "lines",
            "payments",
            "void_reason",
            "next_visit",
        ]

    def get_started_at(self, v) -> str:
        return local_iso(v.started_at, v.location)

    def get_next_visit(self, v) -> dict | None:
        from appointments.selectors import next_visit_suggestion

        s = next_visit_suggestion(v)
        return {"date": s.date.isoformat(), "service": s.service.pk} if s else None


class VisitVoidInput(serializers.Serializer):
    reason = serializers.CharField(max_length=200)


WALL_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$")


@extend_schema_field({"type": "string", "pattern": WALL_CLOCK.pattern, "example": "14:30"})
class WallClockTimeField(serializers.TimeField):
    """A time of day on the salon's wall clock, to the minute: "14:30" in and out.

    A waiting-list window is "from 14:30", never an instant, so there is no offset and no
    fraction. (OpenAPI's `format: time` is RFC 3339's full-time, which requires an offset; the
    field documents its own pattern instead, and CI's API fuzzing holds it to it.)
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("format", "%H:%M")
        super().__init__(**kwargs)

    def to_internal_value(self, value):
        if not isinstance(value, str) or not WALL_CLOCK.match(value):
            raise serializers.ValidationError(_("Give a time of day as HH:MM, e.g. 14:30."))
        return super().to_internal_value(value).replace(second=0, microsecond=0)


class WaitlistEntryInput(serializers.Serializer):
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.active())
    location = serializers.PrimaryKeyRelatedField(queryset=Location.objects.filter(is_active=True))
    service = serializers.PrimaryKeyRelatedField(queryset=Service.objects.filter(is_active=True))
    staff = serializers.PrimaryKeyRelatedField(
        queryset=StaffMember.objects.all(), required=False, allow_null=True
    )
    date = CalendarDateField()
    earliest = WallClockTimeField(required=False, allow_null=True)
    latest = WallClockTimeField(required=False, allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


class WaitlistEntryOutput(serializers.ModelSerializer):
    customer_name = serializers.CharField(source="customer.name")
    earliest = WallClockTimeField(allow_null=True, read_only=True)
    latest = WallClockTimeField(allow_null=True, read_only=True)

    class Meta:
        model = WaitlistEntry
        fields = [
            "id",
            "customer",
            "customer_name",
            "location",
            "service",
            "staff",
            "date",
            "earliest",
            "latest",
            "notes",
            "status",
        ]


class WaitlistMatchOutput(serializers.Serializer):
    entry = WaitlistEntryOutput()
    slots = AvailabilitySlotOutput(many=True)


class WaitlistStatusInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=["booked", "cancelled"])
