"""Catalogue, schedules, appointments and visits (服务记录 + sale).

No double booking: on PostgreSQL an ExclusionConstraint over active items keeps a staff member
(and a resource) to one booking at any instant, buffer included, so even a race cannot break
it; services check first to give a clear message (salon_crm.errors.Conflict, code slot_taken).
All datetimes are aware (UTC in the database); each location shows its own time zone."""

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeOperators
from django.db import models
from django.db.models import Func, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Location, StaffMember
from customers.models import Customer

MONEY = {"max_digits": 12, "decimal_places": 2}


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = models.DateTimeField()  # only used inside the exclusion constraint


class ResourceType(models.TextChoices):
    CHAIR = "chair", _("Chair")
    ROOM = "room", _("Room")
    BED = "bed", _("Bed")
    BASIN = "basin", _("Wash basin")


class ServiceCategory(models.Model):
    name = models.CharField(_("name"), max_length=60, unique=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("service category")
        verbose_name_plural = _("service categories")

    def __str__(self) -> str:
        return self.name


class Service(models.Model):
    category = models.ForeignKey(
        ServiceCategory, on_delete=models.PROTECT, related_name="services", verbose_name=_("category")
    )
    name = models.CharField(_("name"), max_length=100, unique=True)
    duration_minutes = models.PositiveSmallIntegerField(_("duration (minutes)"))
    buffer_after_minutes = models.PositiveSmallIntegerField(_("buffer after (minutes)"), default=0)
    price = models.DecimalField(_("price"), **MONEY)
    is_active = models.BooleanField(_("active"), default=True)
    locations = models.ManyToManyField(Location, related_name="services", verbose_name=_("offered at"))
    resource_type = models.CharField(
        _("needs resource"), max_length=8, choices=ResourceType.choices, blank=True
    )
    requires_patch_test = models.BooleanField(_("requires patch test"), default=False)
    follow_up_days = models.PositiveSmallIntegerField(_("follow-up call after (days)"), null=True, blank=True)
    rebook_interval_days = models.PositiveSmallIntegerField(
        _("typical rebooking interval (days)"), null=True, blank=True
    )

    class Meta:
        ordering = ["category__position", "name"]
        verbose_name = _("service")
        verbose_name_plural = _("services")
        permissions = [("manage_catalogue", _("Can edit services, products, resources and schedules"))]
        constraints = [
            models.CheckConstraint(condition=Q(duration_minutes__gt=0), name="service_duration_positive")
        ]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    class Kind(models.TextChoices):
        RETAIL = "retail", _("Retail")
        BACK_BAR = "back_bar", _("Back bar (used in services)")

    name = models.CharField(_("name"), max_length=100)
    sku = models.CharField(_("SKU"), max_length=40, unique=True, null=True, blank=True)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.RETAIL)
    price = models.DecimalField(_("price"), **MONEY, default=Decimal("0"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("product")
        verbose_name_plural = _("products")

    def __str__(self) -> str:
        return self.name


class Resource(models.Model):
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="resources")
    name = models.CharField(_("name"), max_length=60)
    type = models.CharField(_("type"), max_length=8, choices=ResourceType.choices)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["location", "type", "name"]
        constraints = [models.UniqueConstraint(fields=["location", "name"], name="resource_unique_name")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_type_display()})"


class WorkingHours(models.Model):
    """A stylist's weekly shift at a location (local wall-clock times of that location)."""

    staff = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="working_hours")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(
        _("weekday"),
        choices=[
            (i, d)
            for i, d in enumerate(
                [
                    _("Monday"),
                    _("Tuesday"),
                    _("Wednesday"),
                    _("Thursday"),
                    _("Friday"),
                    _("Saturday"),
                    _("Sunday"),
                ]
            )
        ],
    )
    start = models.TimeField(_("start"))
    end = models.TimeField(_("end"))

    class Meta:
        ordering = ["staff", "weekday", "start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")), name="working_hours_end_after_start"
            )
        ]
        indexes = [models.Index(fields=["location", "weekday"])]

    def __str__(self) -> str:
        return f"{self.staff} {self.get_weekday_display()} {self.start:%H:%M}-{self.end:%H:%M}"


class TimeOff(models.Model):
    """An exception to the weekly hours: holiday, sick day, training (blocks booking)."""

    staff = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="time_off")
    start = models.DateTimeField(_("from"))
    end = models.DateTimeField(_("until"))
    reason = models.CharField(_("reason"), max_length=100, blank=True)

    class Meta:
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="time_off_end_after_start")
        ]
        indexes = [models.Index(fields=["staff", "start"])]

    def __str__(self) -> str:
        return f"{self.staff} {self.start:%Y-%m-%d %H:%M} – {self.end:%Y-%m-%d %H:%M}"


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", _("Booked")
    CONFIRMED = "confirmed", _("Confirmed")
    ARRIVED = "arrived", _("Arrived")
    IN_SERVICE = "in_service", _("In service")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    NO_SHOW = "no_show", _("No-show")


# Statuses whose items hold their time: everything except cancelled and no-show.
HOLDING_STATUSES = [
    AppointmentStatus.BOOKED,
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.ARRIVED,
    AppointmentStatus.IN_SERVICE,
    AppointmentStatus.COMPLETED,
]


class AppointmentSource(models.TextChoices):
    FRONT_DESK = "front_desk", _("Front desk")
    PHONE = "phone", _("Phone")
    ONLINE = "online", _("Online")
    WALK_IN = "walk_in", _("Walk-in")
    IMPORT = "import", _("Imported")


class Appointment(models.Model):
    """One client's booking; its items say which service, with whom and when."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="appointments")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="appointments")
    status = models.CharField(
        _("status"), max_length=12, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED
    )
    source = models.CharField(
        _("source"), max_length=12, choices=AppointmentSource.choices, default=AppointmentSource.FRONT_DESK
    )
    # Denormalised from the items (first start, last end) for day queries and metrics.
    start = models.DateTimeField(_("start"), db_index=True)
    end = models.DateTimeField(_("end"))
    notes = models.TextField(_("notes"), blank=True)
    # Bumped on every move/cancel: reminders key on (appointment, kind, version).
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    arrived_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cancel_reason = models.CharField(_("cancellation reason"), max_length=200, blank=True)
    late_cancel = models.BooleanField(_("late cancellation"), default=False)

    class Meta:
        ordering = ["start"]
        indexes = [
            models.Index(fields=["location", "start"]),
            models.Index(fields=["customer", "start"]),
        ]
        permissions = [
            # Book a start that has passed (a visit entered afterwards) and check out an
            # earlier day's appointment: appointments.services.checks.check_not_past.
            ("record_past_visit", _("Can record a past visit")),
        ]

    def __str__(self) -> str:
        return f"{self.customer} @ {self.start:%Y-%m-%d %H:%M}"


class AppointmentItem(models.Model):
    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="items")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    staff = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="appointment_items")
    resource = models.ForeignKey(
        Resource, null=True, blank=True, on_delete=models.PROTECT, related_name="appointment_items"
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    # end + the service's buffer: the staff member (and resource) are busy until then.
    busy_until = models.DateTimeField()
    price = models.DecimalField(**MONEY)
    # True while the appointment holds its time (see HOLDING_STATUSES); set by the services.
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["start", "pk"]
        indexes = [
            models.Index(fields=["staff", "start"]),
            models.Index(fields=["resource", "start"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="item_end_after_start"),
            models.CheckConstraint(condition=Q(busy_until__gte=models.F("end")), name="item_busy_after_end"),
            ExclusionConstraint(
                name="no_double_booking_staff",
                expressions=[
                    (TsTzRange("start", "busy_until"), RangeOperators.OVERLAPS),
                    ("staff", RangeOperators.EQUAL),
                ],
                condition=Q(is_active=True),
            ),
            ExclusionConstraint(
                name="no_double_booking_resource",
                expressions=[
                    (TsTzRange("start", "busy_until"), RangeOperators.OVERLAPS),
                    ("resource", RangeOperators.EQUAL),
                ],
                condition=Q(is_active=True, resource__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service} / {self.staff} @ {self.start:%Y-%m-%d %H:%M}"


class ServiceRecord(models.Model):
    """What the stylist did (服务记录): products used, notes, result, and the formula if colour."""

    item = models.OneToOneField(AppointmentItem, on_delete=models.CASCADE, related_name="record")
    products_used = models.ManyToManyField(Product, blank=True, related_name="+")
    notes = models.TextField(_("notes"), blank=True)
    result = models.TextField(_("result"), blank=True)
    formula = models.ForeignKey(
        "customers.ColourFormula", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    written_by = models.ForeignKey(StaffMember, null=True, on_delete=models.SET_NULL, related_name="+")
    written_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Record for item {self.item_id}"


class Visit(models.Model):
    """A checkout: the sale for one client on one occasion, completed when it is saved (checkout
    or import). Completed visits are what the metrics count (selectors.visits_counted); voided
    ones keep their rows but count for nothing."""

    class Status(models.TextChoices):
        COMPLETED = "completed", _("Completed")
        VOIDED = "voided", _("Voided")

    appointment = models.OneToOneField(
        Appointment, null=True, blank=True, on_delete=models.PROTECT, related_name="visit"
    )
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="visits")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="visits")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.COMPLETED)
    started_at = models.DateTimeField(db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    subtotal = models.DecimalField(**MONEY, default=Decimal("0"))
    discount = models.DecimalField(**MONEY, default=Decimal("0"))
    total = models.DecimalField(_("net total"), **MONEY, default=Decimal("0"))
    external_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    void_reason = models.CharField(max_length=200, blank=True)
    # A price rule's share off the lines (appointments.line_kinds: a member tier's discount),
    # included in the lines' own discounts and shown as one row.
    # (database defaults too: the visit importer's COPY leaves them out)
    rule_discount = models.DecimalField(
        _("member discount"), **MONEY, default=Decimal("0"), db_default=Decimal("0")
    )
    rule_label = models.CharField(max_length=120, blank=True, default="", db_default="")
    # A price override (appointments.services.checkout): a line far below its catalogue price, a
    # large visit discount, or nothing to pay. Who let it through, and why (blank when a manager
    # with appointments.override_price gave no reason).
    # db_default: bulk writers that COPY visits (manage.py import_visits) leave the column out.
    price_override_reason = models.CharField(
        _("price override reason"), max_length=200, blank=True, default="", db_default=""
    )
    price_override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-started_at"]
        permissions = [
            ("checkout", _("Can check out (take payment)")),
            ("void_visit", _("Can void a completed visit")),
            ("override_price", _("Can sell below the catalogue price without giving a reason")),
        ]
        indexes = [
            models.Index(fields=["customer", "started_at"]),
            models.Index(fields=["location", "started_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="visit_total_not_negative"),
        ]

    def __str__(self) -> str:
        return f"Visit {self.pk} {self.customer} {self.total}"


class VisitLine(models.Model):
    """One line of a sale. `kind` is a key of appointments.line_kinds (the built-in service and
    product, and what other apps register: a stored-value top-up, a package, a gift card),
    `ref` what that kind sold (its own id or code)."""

    class Kind(models.TextChoices):  # the built-in kinds
        SERVICE = "service", _("Service")
        PRODUCT = "product", _("Product")

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(max_length=24)
    ref = models.CharField(max_length=64, blank=True)
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    staff = models.ForeignKey(
        StaffMember, null=True, blank=True, on_delete=models.PROTECT, related_name="visit_lines"
    )
    description = models.CharField(max_length=120)
    quantity = models.PositiveSmallIntegerField(default=1)
    unit_price = models.DecimalField(**MONEY)
    # The catalogue unit price when the line was sold (None for kinds without one, e.g. a
    # top-up of any amount): unit_price below it is a discount or a price override.
    list_price = models.DecimalField(_("catalogue price"), **MONEY, null=True, blank=True)
    discount = models.DecimalField(**MONEY, default=Decimal("0"))
    amount = models.DecimalField(_("net amount"), **MONEY)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["staff", "visit"])]

    def __str__(self) -> str:
        return f"{self.description} × {self.quantity}"


class Payment(models.Model):
    """A payment towards a visit. Methods come from appointments.payments' registry, which
    loyalty extends (stored value, points, package session, gift card, coupon)."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="payments")
    method = models.CharField(max_length=24)
    amount = models.DecimalField(**MONEY)
    reference = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive")]

    def __str__(self) -> str:
        return f"{self.method} {self.amount}"


class WaitlistEntry(models.Model):
    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        BOOKED = "booked", _("Booked")
        CANCELLED = "cancelled", _("Cancelled")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="waitlist_entries")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="waitlist")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    staff = models.ForeignKey(StaffMember, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    date = models.DateField(_("date"))
    earliest = models.TimeField(_("earliest"), null=True, blank=True)
    latest = models.TimeField(_("latest"), null=True, blank=True)
    notes = models.CharField(_("notes"), max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["date", "created_at"]
        indexes = [models.Index(fields=["location", "date", "status"])]

    def __str__(self) -> str:
        return f"{self.customer} wants {self.service} on {self.date}"


class OnlineClientCheck(models.Model):
    """An online booking (or waitlist entry) whose phone is on file for a client whose name does
    not agree with the name typed (appointments.services.online). It was made on a provisional
    client, with no phone (phones are unique), so the client on file shows no trace of it until
    the desk, from the Today page, attaches it to them (customers.services.customer_merge moves
    the booking) or confirms a different person (the provisional client stays)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("To check")
        ATTACHED = "attached", _("Same client")
        SEPARATE = "separate", _("Different person")

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    appointment = models.OneToOneField(
        Appointment, null=True, blank=True, on_delete=models.CASCADE, related_name="online_check"
    )
    waitlist_entry = models.OneToOneField(
        WaitlistEntry, null=True, blank=True, on_delete=models.CASCADE, related_name="online_check"
    )
    typed_name = models.CharField(_("name given online"), max_length=100)
    typed_phone = models.CharField(_("phone given online"), max_length=20)  # E.164
    # The provisional client, as a plain id rather than a key: attaching merges that client away,
    # and the booking's manage link (signed with this id) must keep working afterwards.
    provisional_pk = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("online client check")
        indexes = [
            models.Index(fields=["location", "status", "created_at"]),
            models.Index(fields=["typed_phone", "status"]),
            models.Index(fields=["provisional_pk"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(appointment__isnull=False, waitlist_entry__isnull=True)
                | Q(appointment__isnull=True, waitlist_entry__isnull=False),
                name="online_check_one_subject",
            )
        ]

    def __str__(self) -> str:
        return f"{self.typed_name} {self.typed_phone} ({self.status})"
