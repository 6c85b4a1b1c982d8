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
    # derived rows, no FK constraint (no deferred check per row at the rebuild's COMMIT): a
    # location is never deleted while visits point at it (Visit.location is PROTECT); no index of
    # their own either (visitday_unique and the indexes below lead with them)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    location = models.ForeignKey(
        Location, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    day = models.DateField()
    visits = models.PositiveIntegerField()
    revenue = models.DecimalField(**MONEY)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "location", "day"], name="visitday_unique")
        ]
        # with the client: the summary's distinct clients of a window by an index-only scan
        indexes = [
            models.Index(fields=["location", "day", "customer"], name="visitday_location_day_client"),
            models.Index(fields=["day", "customer"], name="visitday_day_client"),
        ]
        verbose_name = _("visit day")
        verbose_name_plural = _("visit days")

    def __str__(self) -> str:
        return f"{self.customer_id}@{self.location_id} {self.day}"


class DailyStats(models.Model):
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+", db_constraint=False)
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
    first_location = models.ForeignKey(
        Location, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    last_day = models.DateField()
    second_day = models.DateField(null=True)  # the second visit day (90-day revisit, cohorts)
    # the median of the gaps in days between consecutive visit days, with 3 visit days or more
    # (METRICS.md's lifecycle `m`); null otherwise
    median_gap = models.FloatField(null=True)
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
        indexes = [
            # new clients of a window, its 90-day cohort and revisits by an index-only scan
            models.Index(
                fields=["first_day", "first_location"], include=["second_day"], name="custmetrics_first_day"
            ),
            models.Index(fields=["last_day"]),
        ]
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


# ---- revenue by service, category and stylist; utilisation (analytics.breakdowns) ----------------


class SalesDay(models.Model):
    """Per location, local day, line kind, service and staff member: how many lines of counted
    visits and their net amount. One more row per location-day, of kind UNALLOCATED, holds what
    the visits' net totals carry beyond their lines (visit discounts, less; imported totals
    without lines, more), so a day's rows add up to its revenue (DailyStats.revenue)."""

    UNALLOCATED = "~unallocated"  # not a line kind (those are identifiers)

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    day = models.DateField()
    kind = models.CharField(max_length=24)
    service = models.ForeignKey(
        "appointments.Service", null=True, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    staff = models.ForeignKey(
        "accounts.StaffMember", null=True, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    lines = models.PositiveIntegerField()
    revenue = models.DecimalField(**MONEY)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["location", "day", "kind", "service", "staff"],
                name="salesday_unique",
                nulls_distinct=False,
            )
        ]
        indexes = [models.Index(fields=["day", "location"], name="salesday_day_location")]
        verbose_name = _("daily sales by line")
        verbose_name_plural = _("daily sales by line")

    def __str__(self) -> str:
        return f"{self.location_id} {self.day} {self.kind} {self.service_id} {self.staff_id}"


class StaffDay(models.Model):
    """Per location, local day and staff member: minutes booked (appointment services assigned
    to them, not cancelled; no-shows count) and minutes available (their weekly hours there that
    weekday, less time off). Utilisation is booked ÷ available, empty when nothing is available."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    day = models.DateField()
    staff = models.ForeignKey(
        "accounts.StaffMember", on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    booked_minutes = models.PositiveIntegerField(default=0)
    available_minutes = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["location", "day", "staff"], name="staffday_unique")]
        indexes = [models.Index(fields=["day", "location"], name="staffday_day_location")]
        verbose_name = _("daily stylist minutes")
        verbose_name_plural = _("daily stylist minutes")

    def __str__(self) -> str:
        return f"{self.location_id} {self.day} {self.staff_id}"


# ---- the lifecycle funnel as of any day (analytics.lifecycle) -------------------------------------


class LifecycleChange(models.Model):
    """How many clients enter (positive) or leave (negative) a lifecycle stage on a day, for the
    chain (no location), one location, or a set of locations a manager has: the count at a stage
    on D is the sum up to D."""

    location = models.ForeignKey(
        Location, null=True, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    # several locations at once (a manager's "all my locations"): their sorted ids, "3,7"; no
    # location then. Empty with no location: the chain.
    locations = models.CharField(max_length=200, blank=True, default="")
    day = models.DateField()
    stage = models.CharField(max_length=10)
    delta = models.IntegerField()

    class Meta:
        indexes = [
            models.Index(
                fields=["location", "locations", "day"],
                include=["stage", "delta"],
                name="lifecyclechange_scope_day",
            )
        ]
        verbose_name = _("lifecycle change")
        verbose_name_plural = _("lifecycle changes")

    def __str__(self) -> str:
        return f"{self.location_id} {self.day} {self.stage} {self.delta:+d}"


class RollupState(models.Model):
    """One row, what the derived roll-ups were computed from: when the lifecycle changes were
    computed, the newest client they saw, and a version that an erasure, a merge or a
    home-location change bumps (the changes answer only when the version they were computed at
    is the current one); whether the clients of each day (DayClients) are built."""

    version = models.PositiveBigIntegerField(default=0)
    computed_version = models.PositiveBigIntegerField(default=0)
    computed_at = models.DateTimeField(null=True)
    max_customer_id = models.BigIntegerField(default=0)
    client_days = models.BooleanField(default=False)
    newcomers = models.BooleanField(default=False)  # FirstVisitDay built
    # the clients marker (rollups.generation) the TierCount rows were counted at
    tiers_marker = models.CharField(max_length=100, blank=True, default="")
    # the managers' location sets the lifecycle changes were kept for ("3,7;2,5")
    lifecycle_sets = models.TextField(blank=True, default="")
    # every rebuild and refresh of the roll-ups adds one (analytics.rollups.generation: the
    # dashboards' cache answers only under the current one)
    generation = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("roll-up state")
        verbose_name_plural = _("roll-up state")

    def __str__(self) -> str:
        return f"v{self.version} computed at v{self.computed_version} {self.computed_at}"


class DayClients(models.Model):
    """The clients with a visit day at a location (or anywhere in the chain: no location) on a
    day, as their ids in order (4-byte big-endian integers): the distinct clients of any window
    are read from a row per day instead of a row per visit day (analytics.client_days)."""

    location = models.ForeignKey(
        Location, null=True, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    day = models.DateField()
    clients = models.BinaryField()
    count = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["location", "day"], name="dayclients_unique", nulls_distinct=False
            )
        ]
        verbose_name = _("clients of a day")
        verbose_name_plural = _("clients of a day")

    def __str__(self) -> str:
        return f"{self.location_id} {self.day} ({self.count})"


class FirstVisitDay(models.Model):
    """The clients whose first visit day was at a location on a day: how many, and the days from
    their first to their second visit day, in order (4-byte big-endian integers, 2^31 - 1 for
    none yet): new clients, 90-day revisits and monthly cohorts of any window from one row per
    day (analytics.snapshots)."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    day = models.DateField()
    gaps = models.BinaryField()
    count = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["location", "day"], name="firstvisitday_unique")]
        verbose_name = _("first visits of a day")
        verbose_name_plural = _("first visits of a day")

    def __str__(self) -> str:
        return f"{self.location_id} {self.day} ({self.count})"


class TierCount(models.Model):
    """Active clients per membership tier (none: no tier) for the chain (no location) or per
    location (home location, or for a client without one the first visit's), at the refresh;
    read while nothing the count depends on has changed since (RollupState.tiers_marker)."""

    location = models.ForeignKey(
        Location, null=True, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    tier = models.ForeignKey(
        "loyalty.MembershipTier", null=True, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    count = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("clients per tier")
        verbose_name_plural = _("clients per tier")

    def __str__(self) -> str:
        return f"{self.location_id} {self.tier_id} ({self.count})"
