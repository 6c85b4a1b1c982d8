"""Roll-ups the dashboards read instead of scanning visits (built by `manage.py
compute_analytics`, nightly, and refreshed for a day when one of its visits changes):

- VisitDay: one row per client, location and local day with a visit (a visit day);
- DailyStats: per location and local day, the counters every summary figure adds up;
- CustomerMetrics: per client, the first and last visit, visit days, 12-month figures and RFM.

Every figure read from them equals the raw definition of METRICS.md (tests/analytics)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Location
from customers.models import Customer

MONEY = {"max_digits": 14, "decimal_places": 2}


class VisitDay(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    visits = models.PositiveIntegerField()
    revenue = models.DecimalField(**MONEY)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "location", "day"], name="visitday_unique")
        ]
        indexes = [models.Index(fields=["location", "day"]), models.Index(fields=["day"])]
        verbose_name = _("visit day")
        verbose_name_plural = _("visit days")

    def __str__(self) -> str:
        return f"{self.customer_id}@{self.location_id} {self.day}"


class DailyStats(models.Model):
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    visits = models.PositiveIntegerField(default=0)
    revenue = models.DecimalField(**MONEY, default=0)
    rebooked_visits = models.PositiveIntegerField(default=0)
    appointments = models.PositiveIntegerField(default=0)  # starting that day
    completed = models.PositiveIntegerField(default=0)
    no_shows = models.PositiveIntegerField(default=0)
    cancelled = models.PositiveIntegerField(default=0)
    surveys_sent = models.PositiveIntegerField(default=0)
    surveys_answered = models.PositiveIntegerField(default=0)
    csat_responses = models.PositiveIntegerField(default=0)
    csat_good = models.PositiveIntegerField(default=0)
    nps_responses = models.PositiveIntegerField(default=0)
    promoters = models.PositiveIntegerField(default=0)
    detractors = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["location", "day"], name="dailystats_unique")]
        indexes = [models.Index(fields=["day"])]
        verbose_name = _("daily figures")
        verbose_name_plural = _("daily figures")

    def __str__(self) -> str:
        return f"{self.location_id} {self.day}"


class CustomerMetrics(models.Model):
    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, primary_key=True, related_name="metrics", db_constraint=False
    )
    first_day = models.DateField()
    first_location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    last_day = models.DateField()
    second_day = models.DateField(null=True)  # the second visit day (90-day revisit, cohorts)
    visit_days = models.PositiveIntegerField()
    visits = models.PositiveIntegerField()
    revenue = models.DecimalField(**MONEY)
    visits_12m = models.PositiveIntegerField(default=0)
    revenue_12m = models.DecimalField(**MONEY, default=0)
    recency_score = models.PositiveSmallIntegerField(default=0, db_default=0)  # 1–5, 5 = most recent
    frequency_score = models.PositiveSmallIntegerField(default=0, db_default=0)
    monetary_score = models.PositiveSmallIntegerField(default=0, db_default=0)
    as_of = models.DateField()

    class Meta:
        indexes = [models.Index(fields=["first_day", "first_location"]), models.Index(fields=["last_day"])]
        verbose_name = _("client figures")
        verbose_name_plural = _("client figures")

    def __str__(self) -> str:
        return f"{self.customer_id}"


class DirtyDay(models.Model):
    """A (location, day) whose roll-ups must be recomputed: a visit there was checked out or
    voided after it was rolled up. compute_analytics --dirty (every few minutes) takes them."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["location", "day"], name="dirtyday_unique")]

    def __str__(self) -> str:
        return f"{self.location_id} {self.day}"
