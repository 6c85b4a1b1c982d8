"""Roll-ups the dashboards read instead of scanning visits (built by `manage.py
compute_analytics`, nightly, and refreshed for a day when one of its visits changes):

- VisitDay: one row per client, location and local day with a visit (a visit day);
- DailyStats: per location and local day, the counters every summary figure adds up;
- CustomerMetrics: per client, the first and last visit, visit days, 12-month figures and RFM;
- ChurnModel and ChurnScore: every nightly fit of the churn and value model, and each client's
  scores under the newest good one (analytics.churn);
- Campaign and CampaignMember: win-back and birthday campaigns with their holdout
  (analytics.campaigns).

Every figure read from them equals the raw definition of METRICS.md (tests/analytics)."""

from decimal import Decimal

from django.conf import settings
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


# ---- the churn and value model (analytics.churn, analytics.clv) ---------------------------------


class ChurnModel(models.Model):
    """One fit of METRICS.md's churn and value model (BG/NBD and Gamma-Gamma) as of a day. Every
    fit is kept: the clients are scored with the newest one that converged (a fit that fails
    keeps the last good model, and the dashboard says so), and the calibration section compares
    what the model fitted a quarter ago predicted with what happened since."""

    as_of = models.DateField(_("as of"), db_index=True)
    fitted_at = models.DateTimeField(_("fitted"))
    r = models.FloatField()
    alpha = models.FloatField()  # per day
    a = models.FloatField()
    b = models.FloatField()
    p = models.FloatField(null=True)  # Gamma-Gamma: null when there was no paid repeat visit
    q = models.FloatField(null=True)
    v = models.FloatField(null=True)
    converged = models.BooleanField(_("converged"))
    spend_converged = models.BooleanField(default=False)
    n_customers = models.PositiveIntegerField(_("clients"))
    log_likelihood = models.FloatField(null=True)
    seconds = models.FloatField(default=0)  # the fit's wall time
    note = models.CharField(max_length=300, blank=True)  # why it did not converge
    # what the model fitted a quarter before predicted, against what happened (analytics.churn.calibrate)
    calibration = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-as_of", "-pk"]
        verbose_name = _("churn model")
        verbose_name_plural = _("churn models")

    def __str__(self) -> str:
        return f"{self.as_of} r={self.r:.4g} alpha={self.alpha:.4g} a={self.a:.4g} b={self.b:.4g}"


class ChurnScore(models.Model):
    """Per client with a visit day, the scores of the current churn model as of its day:
    P(alive), expected visit days in 90 days, expected spend per visit day, the expected value of
    the next 365 days, and the value at risk (the 365-day value of the client if still a client,
    times the chance they are not): the at-risk list sorts by it."""

    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, primary_key=True, related_name="churn", db_constraint=False
    )
    p_alive = models.FloatField()
    expected_visits_90d = models.FloatField()
    expected_spend = models.FloatField(null=True)  # per visit day; null where the model has no finite mean
    clv_365d = models.FloatField(null=True)
    value_at_risk = models.FloatField(null=True)
    as_of = models.DateField()

    class Meta:
        indexes = [
            models.Index(fields=["p_alive"], name="churnscore_p_alive"),
        ]
        verbose_name = _("churn score")
        verbose_name_plural = _("churn scores")

    def __str__(self) -> str:
        return f"{self.customer_id} {self.p_alive:.3f}"


# ---- win-back and birthday campaigns (analytics.campaigns) ---------------------------------------


class Campaign(models.Model):
    """A manager's win-back (沉睡唤醒) or birthday campaign: an audience, a coupon, a message kind
    and channel. At launch a random holdout (default 10%) of the clients who can be reached is
    drawn and gets nothing; the others get the coupon and the message through the outbox, keyed
    by (campaign, client). The campaign page compares the two groups' returns and revenue."""

    class Kind(models.TextChoices):
        WINBACK = "winback", _("Win-back")
        BIRTHDAY = "birthday", _("Birthday")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        LAUNCHING = "launching", _("Launching")
        LAUNCHED = "launched", _("Launched")

    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.WINBACK)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    # the audience: every filter given must hold (empty: no condition)
    locations = models.ManyToManyField(Location, blank=True, related_name="+", verbose_name=_("locations"))
    stages = models.JSONField(_("lifecycle stages"), default=list, blank=True)
    at_risk = models.BooleanField(_("at risk only"), default=False)
    min_clv = models.DecimalField(_("expected 365-day value at least"), **MONEY, null=True, blank=True)
    min_monetary_score = models.PositiveSmallIntegerField(
        _("spending score at least (1-5)"), null=True, blank=True
    )
    tags = models.ManyToManyField("customers.Tag", blank=True, related_name="+", verbose_name=_("tags"))
    tiers = models.ManyToManyField(
        "loyalty.MembershipTier", blank=True, related_name="+", verbose_name=_("membership tiers")
    )
    last_service = models.ForeignKey(
        "appointments.Service",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("last service"),
    )
    birthday_within_days = models.PositiveSmallIntegerField(
        _("birthday within (days)"), null=True, blank=True
    )
    # the offer and the message
    coupon_value = models.DecimalField(_("coupon value"), **MONEY, null=True, blank=True)
    coupon_min_spend = models.DecimalField(_("coupon minimum spend"), **MONEY, default=0)
    coupon_valid_days = models.PositiveSmallIntegerField(_("coupon valid for (days)"), default=30)
    message_kind = models.CharField(_("message"), max_length=40)
    channel = models.CharField(_("channel"), max_length=8, blank=True)  # empty: the best one per client
    holdout_share = models.DecimalField(
        _("holdout share"), max_digits=4, decimal_places=3, default=Decimal("0.100")
    )
    seed = models.BigIntegerField(default=0)  # the holdout draw's
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"))
    launched_at = models.DateTimeField(_("launched"), null=True, blank=True)
    launched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    excluded = models.JSONField(default=dict, blank=True)  # at launch: {reason: count}

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(holdout_share__gte=0) & models.Q(holdout_share__lt=1),
                name="campaign_holdout_share_range",
            )
        ]

    def __str__(self) -> str:
        return self.name


class CampaignMember(models.Model):
    """A client of a campaign: picked by hand into a draft (from the at-risk list), then at
    launch in the group that gets the offer or in the holdout."""

    class Group(models.TextChoices):
        PICKED = "picked", _("Picked")
        SENT = "sent", _("Sent")
        HOLDOUT = "holdout", _("Holdout")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="members")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    group = models.CharField(max_length=8, choices=Group.choices)
    coupon = models.ForeignKey(
        "loyalty.Coupon", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.ForeignKey(
        "messaging.OutboundMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "customer"], name="campaignmember_unique")]
        indexes = [models.Index(fields=["campaign", "group"])]
        verbose_name = _("campaign client")
        verbose_name_plural = _("campaign clients")

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.customer_id} {self.group}"
