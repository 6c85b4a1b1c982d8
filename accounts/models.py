import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
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


RETENTION_YEARS_MAX = 30
ACCESS_ALERT_DEFAULT = 60


class PrivacySettings(models.Model):
    """The chain's privacy rules (one row, pk=1; owners edit it on the privacy settings page).
    `current()` never writes: before the first save the defaults hold (retention off)."""

    retention_years = models.PositiveSmallIntegerField(
        _("erase clients inactive for (years)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(RETENTION_YEARS_MAX)],
        help_text=_(
            "Erase the personal data of clients with no appointment, visit, loyalty entry, survey or "
            "complaint for this many years (1 to 30). Empty: off, files are kept until erased on request."
        ),
    )
    access_alert_threshold = models.PositiveIntegerField(
        _("alert above (client files a day)"),
        default=ACCESS_ALERT_DEFAULT,
        validators=[MinValueValidator(5), MaxValueValidator(10000)],
        help_text=_(
            "Owners are alerted when one person opens more different client files than this in a day."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("privacy settings")
        verbose_name_plural = _("privacy settings")
        permissions = [
            ("manage_privacy", _("Can change data retention and privacy settings")),
            ("review_access_log", _("Can review and export the access log")),
        ]

    def __str__(self) -> str:
        return str(_("Privacy settings"))

    @classmethod
    def current(cls) -> "PrivacySettings":
        return cls.objects.filter(pk=1).first() or cls(pk=1)


class AccessAlert(models.Model):
    """One person opened more different client files in a day than the threshold allowed.
    Raised at most once per (user, day): the unique constraint is what says "once"."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    day = models.DateField(_("day"))
    files = models.PositiveIntegerField(_("client files opened"))
    threshold = models.PositiveIntegerField(_("threshold"))
    raised_at = models.DateTimeField(_("raised at"), default=timezone.now)

    class Meta:
        ordering = ["-day", "-files"]
        verbose_name = _("access alert")
        verbose_name_plural = _("access alerts")
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="access_alert_once_per_user_day")]
        indexes = [models.Index(fields=["-day"], name="access_alert_day")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.day}: {self.files} files"
