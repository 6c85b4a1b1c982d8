import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


def reminder_hours_list(value: str) -> list[int]:
    """'24, 2' → [24, 2]; ValueError on anything else."""
    hours = [int(part) for part in (value or "").replace("，", ",").split(",") if part.strip()]
    if any(h < 1 or h > 24 * 14 for h in hours):
        raise ValueError("out of range")
    return sorted(set(hours), reverse=True)


def validate_reminder_hours(value: str) -> None:
    try:
        reminder_hours_list(value)
    except ValueError:
        raise ValidationError(
            _("Give whole hours between 1 and 336, separated by commas, e.g. 24,2.")
        ) from None


class Location(models.Model):
    """A salon (门店). Its own time zone: the calendar and every message show its local time."""

    code = models.SlugField(
        _("code"), max_length=32, unique=True, help_text=_("Short code used in URLs, e.g. jingan.")
    )
    name = models.CharField(_("name"), max_length=100)
    address = models.CharField(_("address"), max_length=255, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Asia/Shanghai", validators=[validate_time_zone]
    )
    is_active = models.BooleanField(_("active"), default=True)
    # When reminders go out before an appointment here (hours, comma-separated; messaging).
    reminder_hours = models.CharField(
        _("reminders (hours before)"),
        max_length=40,
        default="24,2",
        blank=True,
        validators=[validate_reminder_hours],
        help_text=_("Comma-separated, e.g. 24,2. Empty: no reminders."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("location")
        verbose_name_plural = _("locations")

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class OpeningHours(models.Model):
    """One opening period of a weekday. Several rows per day allow a lunch break; no row means closed."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"))

    class Meta:
        ordering = ["location", "weekday", "opens"]
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closes__gt=models.F("opens")), name="opening_hours_closes_after_opens"
            ),
            models.UniqueConstraint(
                fields=["location", "weekday", "opens"], name="opening_hours_unique_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.location} {self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    MANAGER = "manager", _("Manager")
    RECEPTIONIST = "receptionist", _("Receptionist")
    STYLIST = "stylist", _("Stylist")


class StaffMemberQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True, user__is_active=True)

    def bookable(self):
        return self.active().filter(is_bookable=True)

    def at_location(self, location):
        return self.filter(locations=location)


class StaffMember(models.Model):
    """A person who works in the chain. The role decides the Django group (and so the permissions)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff")
    display_name = models.CharField(_("display name"), max_length=100)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    locations = models.ManyToManyField(
        Location, related_name="staff", blank=True, verbose_name=_("locations")
    )
    is_bookable = models.BooleanField(
        _("bookable"), default=False, help_text=_("Clients can book services with them.")
    )
    calendar_colour = models.CharField(
        _("calendar colour"),
        max_length=7,
        default="#6c757d",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Use a colour like #1a2b3c."))],
    )
    is_active = models.BooleanField(_("active"), default=True)

    objects = StaffMemberQuerySet.as_manager()

    class Meta:
        ordering = ["display_name"]
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")
        permissions = [
            ("view_all_locations", _("Can act at every location")),
            ("manage_staff", _("Can manage staff, prices and settings")),
            ("view_dashboards", _("Can see manager dashboards")),
        ]

    def __str__(self) -> str:
        return self.display_name
