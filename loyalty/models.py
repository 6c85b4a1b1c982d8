"""Loyalty (会员): points (积分) and stored value (储值卡), each a ledger that can be audited to
the row (docs/loyalty.md).

A balance is the sum of its ledger's rows, kept in a denormalised column of LoyaltyAccount that
is only ever changed in the same transaction as the row, with the account locked
(select_for_update); CHECK constraints keep every balance at zero or above, so even a race that
slipped past the service's own check could not take one below zero. Ledger rows are never
updated or deleted (PointsEntry.remaining, the unspent part of an earning, is the one column that
moves: it is how points expire first-in-first-out)."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Location
from appointments.models import Appointment, Payment, Service, ServiceCategory, Visit, VisitLine
from customers.models import Customer

MONEY = {"max_digits": 12, "decimal_places": 2}
ZERO = Decimal("0")


class LoyaltySettings(models.Model):
    """The chain's loyalty rules (one row, pk=1; the owner edits it on the loyalty settings page)."""

    points_per_unit = models.DecimalField(
        _("points earned per currency unit"),
        max_digits=6,
        decimal_places=2,
        default=Decimal("1"),
        validators=[MinValueValidator(ZERO), MaxValueValidator(Decimal("100"))],
        help_text=_("Points for each ¥1 paid (whole points, rounded down per visit)."),
    )
    points_per_currency_unit = models.PositiveIntegerField(
        _("points per currency unit redeemed"),
        default=100,
        validators=[MinValueValidator(1), MaxValueValidator(10000)],
        help_text=_("How many points pay ¥1 (100: 100 points = ¥1)."),
    )
    points_expiry_months = models.PositiveSmallIntegerField(
        _("points expire after (months)"),
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
    )
    birthday_coupon_value = models.DecimalField(
        _("birthday coupon value"), **MONEY, default=Decimal("50"), validators=[MinValueValidator(ZERO)]
    )
    birthday_lead_days = models.PositiveSmallIntegerField(
        _("birthday coupon: days before the birthday"),
        default=7,
        validators=[MaxValueValidator(60)],
    )
    no_show_fee = models.DecimalField(
        _("no-show fee"),
        **MONEY,
        default=ZERO,
        validators=[MinValueValidator(ZERO)],
        help_text=_("Offered at the client's next checkout when a no-show held no deposit (0: none)."),
    )
    late_cancel_fee = models.DecimalField(
        _("late-cancellation fee"),
        **MONEY,
        default=ZERO,
        validators=[MinValueValidator(ZERO)],
        help_text=_("Offered at the next checkout after a late cancellation that held no deposit (0: none)."),
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("loyalty settings")
        verbose_name_plural = _("loyalty settings")
        permissions = [
            ("manage_loyalty", "Can change loyalty settings and top-up rules"),
            ("adjust_ledger", "Can adjust points and refund stored value"),
            ("use_loyalty", "Can take points and stored value at checkout"),
        ]

    def __str__(self) -> str:
        return str(_("Loyalty settings"))

    @classmethod
    def current(cls) -> "LoyaltySettings":
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj


class TopUpRule(models.Model):
    """ "Pay 1000, get 100": a top-up of at least `pay_at_least` gets `bonus` (the best rule that
    applies; rules do not add up)."""

    pay_at_least = models.DecimalField(
        _("pay at least"), **MONEY, unique=True, validators=[MinValueValidator(Decimal("0.01"))]
    )
    bonus = models.DecimalField(_("bonus"), **MONEY, validators=[MinValueValidator(ZERO)])
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["pay_at_least"]
        verbose_name = _("top-up rule")
        verbose_name_plural = _("top-up rules")
        constraints = [
            models.CheckConstraint(condition=Q(pay_at_least__gt=0), name="topup_rule_pay_positive"),
            models.CheckConstraint(condition=Q(bonus__gte=0), name="topup_rule_bonus_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.pay_at_least} → +{self.bonus}"


class MembershipTier(models.Model):
    """会员等级: reached by rolling 12-month spend and/or visits. Upgrades happen at once at
    checkout; downgrades only at the nightly review (loyalty.tiers)."""

    name = models.CharField(_("name"), max_length=60)
    rank = models.PositiveSmallIntegerField(_("rank"), unique=True, help_text=_("Higher is better."))
    min_spend = models.DecimalField(
        _("spend in 12 months"), **MONEY, default=ZERO, validators=[MinValueValidator(ZERO)]
    )
    min_visits = models.PositiveSmallIntegerField(_("visits in 12 months"), default=0)
    requires_both = models.BooleanField(
        _("needs both"), default=False, help_text=_("Both thresholds, not either.")
    )
    discount_percent = models.DecimalField(
        _("discount %"),
        max_digits=5,
        decimal_places=2,
        default=ZERO,
        validators=[MinValueValidator(ZERO), MaxValueValidator(Decimal("50"))],
    )
    points_multiplier = models.DecimalField(
        _("points multiplier"),
        max_digits=4,
        decimal_places=2,
        default=Decimal("1"),
        validators=[MinValueValidator(ZERO), MaxValueValidator(Decimal("10"))],
    )
    benefits = models.TextField(_("benefits"), blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["rank"]
        verbose_name = _("membership tier")
        verbose_name_plural = _("membership tiers")
        constraints = [
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0) & Q(discount_percent__lte=50), name="tier_discount_range"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def qualifies(self, spend: Decimal, visits: int) -> bool:
        by_spend = spend >= self.min_spend
        by_visits = visits >= self.min_visits
        if self.requires_both:
            return by_spend and by_visits
        if not self.min_spend and not self.min_visits:
            return True
        return (bool(self.min_spend) and by_spend) or (bool(self.min_visits) and by_visits)


class LoyaltyAccount(models.Model):
    """One per client, made on first use. The balances are the sums of the ledgers."""

    customer = models.OneToOneField(Customer, on_delete=models.PROTECT, related_name="loyalty")
    points = models.IntegerField(_("points"), default=0)
    principal = models.DecimalField(_("stored value: principal"), **MONEY, default=ZERO)
    bonus = models.DecimalField(_("stored value: bonus"), **MONEY, default=ZERO)
    tier = models.ForeignKey(
        MembershipTier,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("tier"),
    )
    tier_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("loyalty account")
        verbose_name_plural = _("loyalty accounts")
        constraints = [
            models.CheckConstraint(condition=Q(points__gte=0), name="loyalty_points_not_negative"),
            models.CheckConstraint(condition=Q(principal__gte=0), name="loyalty_principal_not_negative"),
            models.CheckConstraint(condition=Q(bonus__gte=0), name="loyalty_bonus_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.customer}: {self.points} pts, {self.principal}+{self.bonus}"

    @property
    def stored_value(self) -> Decimal:
        return self.principal + self.bonus


class PointsEntry(models.Model):
    """One movement of points. An earning (or a positive adjustment, or points given back by a
    void) is a lot with an expiry and `remaining`; every debit draws lots oldest-expiry-first and
    records which (PointsDraw), so a void gives back exactly the points it took, with their own
    expiry."""

    class Kind(models.TextChoices):
        EARN = "earn", _("Earned")
        REDEEM = "redeem", _("Redeemed")
        EXPIRE = "expire", _("Expired")
        ADJUST = "adjust", _("Adjusted")
        REVERSE = "reverse", _("Reversed (void)")

    account = models.ForeignKey(LoyaltyAccount, on_delete=models.PROTECT, related_name="points_entries")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    points = models.IntegerField()  # + credit, - debit; never 0
    remaining = models.IntegerField(default=0)  # lots only: what is left to spend or expire
    expires_on = models.DateField(null=True, blank=True)  # lots only
    visit = models.ForeignKey(Visit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=200, blank=True)
    # A write that must happen once (the earning of a visit, its reversal) carries a key.
    key = models.CharField(max_length=100, unique=True, null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("points entry")
        verbose_name_plural = _("points entries")
        indexes = [
            models.Index(fields=["account", "created_at"]),
            # The lots still open, oldest expiry first (draws and the nightly expiry).
            models.Index(
                fields=["account", "expires_on", "id"], condition=Q(remaining__gt=0), name="points_open_lots"
            ),
            models.Index(fields=["expires_on"], condition=Q(remaining__gt=0), name="points_lots_to_expire"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(points=0), name="points_entry_not_zero"),
            models.CheckConstraint(
                condition=Q(remaining__gte=0) & Q(remaining__lte=models.F("points")) | Q(remaining=0),
                name="points_remaining_within_lot",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.points:+d}"


class PointsDraw(models.Model):
    """How many points a debit took from which lot (FIFO by expiry)."""

    debit = models.ForeignKey(PointsEntry, on_delete=models.PROTECT, related_name="draws")
    lot = models.ForeignKey(PointsEntry, on_delete=models.PROTECT, related_name="drawn_by")
    points = models.PositiveIntegerField()

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(points__gt=0), name="points_draw_positive")]

    def __str__(self) -> str:
        return f"{self.points} from lot {self.lot_id}"


class StoredValueEntry(models.Model):
    """One movement of stored value, principal (本金, what the client paid) and bonus (赠送, what
    the salon gave) kept apart: + credit, - debit."""

    class Kind(models.TextChoices):
        TOPUP = "topup", _("Top-up")
        SPEND = "spend", _("Spent")
        REFUND = "refund", _("Refunded")
        ADJUST = "adjust", _("Adjusted")
        REVERSE = "reverse", _("Reversed (void)")

    account = models.ForeignKey(LoyaltyAccount, on_delete=models.PROTECT, related_name="value_entries")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    principal = models.DecimalField(**MONEY)
    bonus = models.DecimalField(**MONEY)
    visit = models.ForeignKey(Visit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    visit_line = models.ForeignKey(
        VisitLine, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=200, blank=True)
    refund_method = models.CharField(_("paid back by"), max_length=24, blank=True)
    key = models.CharField(max_length=100, unique=True, null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("stored-value entry")
        verbose_name_plural = _("stored-value entries")
        indexes = [models.Index(fields=["account", "created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=~(Q(principal=0) & Q(bonus=0)), name="stored_value_entry_not_zero"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.principal:+}/{self.bonus:+}"

    @property
    def amount(self) -> Decimal:
        return self.principal + self.bonus


# ---- package cards (疗程卡 / 次卡) ----------------------------------------------------------------


class PackagePlan(models.Model):
    """What a package sells: N sessions of any of its services, for a price, valid for a time."""

    name = models.CharField(_("name"), max_length=100)
    services = models.ManyToManyField(Service, related_name="package_plans", verbose_name=_("services"))
    sessions = models.PositiveSmallIntegerField(
        _("sessions"), validators=[MinValueValidator(1), MaxValueValidator(500)]
    )
    price = models.DecimalField(_("price"), **MONEY, validators=[MinValueValidator(Decimal("0.01"))])
    validity_days = models.PositiveSmallIntegerField(
        _("valid for (days)"), default=365, validators=[MinValueValidator(1), MaxValueValidator(3650)]
    )
    active = models.BooleanField(_("on sale"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("package plan")
        verbose_name_plural = _("package plans")
        constraints = [
            models.CheckConstraint(condition=Q(sessions__gt=0), name="package_plan_sessions_positive"),
            models.CheckConstraint(condition=Q(price__gt=0), name="package_plan_price_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ×{self.sessions}"


class CustomerPackage(models.Model):
    """One package a client bought. `sessions_left` is the sum of its ledger (PackageEntry);
    `unit_value` (price ÷ sessions, the last session takes the remainder cent) is the revenue
    recognised per session used."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        USED_UP = "used_up", _("Used up")
        EXPIRED = "expired", _("Expired")
        VOIDED = "voided", _("Voided")

    account = models.ForeignKey(LoyaltyAccount, on_delete=models.PROTECT, related_name="packages")
    plan = models.ForeignKey(PackagePlan, on_delete=models.PROTECT, related_name="sold")
    name = models.CharField(max_length=100)  # the plan's name when sold
    sessions_total = models.PositiveSmallIntegerField()
    sessions_left = models.IntegerField()
    price = models.DecimalField(**MONEY)
    expires_on = models.DateField(_("valid until"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    visit_line = models.OneToOneField(
        VisitLine, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["expires_on", "pk"]
        verbose_name = _("client package")
        verbose_name_plural = _("client packages")
        indexes = [models.Index(fields=["status", "expires_on"])]
        constraints = [
            models.CheckConstraint(condition=Q(sessions_left__gte=0), name="package_sessions_not_negative"),
            models.CheckConstraint(
                condition=Q(sessions_left__lte=models.F("sessions_total")),
                name="package_sessions_within_total",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.sessions_left}/{self.sessions_total})"

    def session_value(self, *, last: bool) -> Decimal:
        """The revenue of one session: price ÷ sessions to the cent, the last one the rest."""
        unit = (self.price / self.sessions_total).quantize(Decimal("0.01"), rounding="ROUND_DOWN")
        return self.price - unit * (self.sessions_total - 1) if last else unit


class PackageEntry(models.Model):
    """One movement of a package's sessions: sold (+N), used (−1), expired (−rest), reversed."""

    class Kind(models.TextChoices):
        SOLD = "sold", _("Sold")
        USED = "used", _("Session used")
        EXPIRE = "expire", _("Expired")
        REVERSE = "reverse", _("Reversed (void)")

    package = models.ForeignKey(CustomerPackage, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    sessions = models.IntegerField()
    value = models.DecimalField(**MONEY)  # the revenue it recognises (+ used/expired, − reversed)
    visit = models.ForeignKey(Visit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    key = models.CharField(max_length=100, unique=True, null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("package entry")
        verbose_name_plural = _("package entries")
        constraints = [models.CheckConstraint(condition=~Q(sessions=0), name="package_entry_not_zero")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.sessions:+d}"


# ---- gift cards -----------------------------------------------------------------------------------


class GiftCard(models.Model):
    """A code that carries a balance; anyone holding the code may pay with it."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    initial = models.DecimalField(_("value"), **MONEY)
    balance = models.DecimalField(_("balance"), **MONEY)
    expires_on = models.DateField(_("valid until"), null=True, blank=True)
    voided = models.BooleanField(default=False)
    buyer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    visit_line = models.OneToOneField(
        VisitLine, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-pk"]
        verbose_name = _("gift card")
        verbose_name_plural = _("gift cards")
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="gift_card_balance_not_negative"),
            models.CheckConstraint(
                condition=Q(balance__lte=models.F("initial")), name="gift_card_balance_within_value"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.balance})"


class GiftCardEntry(models.Model):
    class Kind(models.TextChoices):
        SOLD = "sold", _("Sold")
        SPEND = "spend", _("Spent")
        REVERSE = "reverse", _("Reversed (void)")

    card = models.ForeignKey(GiftCard, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount = models.DecimalField(**MONEY)
    visit = models.ForeignKey(Visit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    key = models.CharField(max_length=100, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("gift card entry")
        verbose_name_plural = _("gift card entries")
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="gift_card_entry_not_zero")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount:+}"


# ---- coupons --------------------------------------------------------------------------------------


class Coupon(models.Model):
    """A single-use code worth a fixed amount off a sale: for one client (birthday, win-back,
    manual) or for whoever holds it (`customer` empty). Paid with as payment method "coupon"."""

    class Kind(models.TextChoices):
        BIRTHDAY = "birthday", _("Birthday")
        WINBACK = "winback", _("Win-back")
        MANUAL = "manual", _("Manual")
        COMPLAINT = "complaint", _("Complaint compensation")

    class Status(models.TextChoices):
        ISSUED = "issued", _("Issued")
        USED = "used", _("Used")
        VOIDED = "voided", _("Withdrawn")

    code = models.CharField(_("code"), max_length=20, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="coupons"
    )
    value = models.DecimalField(_("value"), **MONEY, validators=[MinValueValidator(Decimal("0.01"))])
    min_spend = models.DecimalField(
        _("minimum spend"), **MONEY, default=ZERO, validators=[MinValueValidator(ZERO)]
    )
    service = models.ForeignKey(
        Service,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("only for service"),
    )
    category = models.ForeignKey(
        ServiceCategory,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("only for category"),
    )
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ISSUED)
    used_visit = models.ForeignKey(Visit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    used_payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    used_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    key = models.CharField(max_length=100, unique=True, null=True, blank=True)  # birthday:<client>:<year>
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["valid_until", "pk"]
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        indexes = [models.Index(fields=["customer", "status"])]
        constraints = [
            models.CheckConstraint(condition=Q(value__gt=0), name="coupon_value_positive"),
            models.CheckConstraint(
                condition=Q(valid_until__gte=models.F("valid_from")), name="coupon_dates_in_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.value})"


class TierChange(models.Model):
    """The tier history: every upgrade, downgrade and manual change, with the figures behind it."""

    class Reason(models.TextChoices):
        UPGRADE = "upgrade", _("Upgraded at checkout")
        DOWNGRADE = "downgrade", _("Downgraded at the nightly review")
        REVIEW_UP = "review_up", _("Upgraded at the nightly review")

    account = models.ForeignKey(LoyaltyAccount, on_delete=models.CASCADE, related_name="tier_changes")
    from_tier = models.ForeignKey(
        MembershipTier, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_tier = models.ForeignKey(
        MembershipTier, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=10, choices=Reason.choices)
    spend = models.DecimalField(**MONEY)
    visits = models.PositiveIntegerField()
    visit = models.ForeignKey(Visit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")

    def __str__(self) -> str:
        return f"{self.from_tier} → {self.to_tier}"


# ---- deposits and fees (no-show protection) -------------------------------------------------------


class DepositPolicy(models.Model):
    """When a booking needs a deposit: at a location (or every one), for a service (or any), for
    new clients only, online bookings only, or services of at least so many minutes. The
    largest deposit of the policies that apply is asked for."""

    class Kind(models.TextChoices):
        FIXED = "fixed", _("Fixed amount")
        PERCENT = "percent", _("Percent of the booking")

    name = models.CharField(_("name"), max_length=80)
    location = models.ForeignKey(
        Location,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("location"),
    )
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("service")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.FIXED)
    amount = models.DecimalField(
        _("amount or percent"), **MONEY, validators=[MinValueValidator(Decimal("0.01"))]
    )
    new_clients_only = models.BooleanField(_("new clients only"), default=False)
    online_only = models.BooleanField(_("online bookings only"), default=False)
    min_minutes = models.PositiveSmallIntegerField(_("bookings of at least (minutes)"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("deposit policy")
        verbose_name_plural = _("deposit policies")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="deposit_policy_amount_positive"),
            models.CheckConstraint(
                condition=~Q(kind="percent") | Q(amount__lte=100), name="deposit_policy_percent_at_most_100"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Deposit(models.Model):
    """A prepayment for one booking, held as deferred revenue until it is applied at checkout,
    refunded (a cancel before the cut-off, or a manager's waiver) or forfeited (a no-show or a
    late cancel). `held` is the sum of its ledger (DepositEntry)."""

    class Status(models.TextChoices):
        HELD = "held", _("Held")
        APPLIED = "applied", _("Applied at checkout")
        REFUNDED = "refunded", _("Refunded")
        FORFEITED = "forfeited", _("Kept (no-show or late cancel)")

    appointment = models.OneToOneField(Appointment, on_delete=models.PROTECT, related_name="deposit")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="deposits")
    amount = models.DecimalField(**MONEY)
    held = models.DecimalField(**MONEY, default=ZERO)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.HELD)
    method = models.CharField(_("paid by"), max_length=24)
    reference = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=200, blank=True)  # a waiver's
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    taken_at = models.DateTimeField(default=timezone.now)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-taken_at"]
        verbose_name = _("deposit")
        verbose_name_plural = _("deposits")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="deposit_amount_positive"),
            models.CheckConstraint(
                condition=Q(held__gte=0) & Q(held__lte=models.F("amount")), name="deposit_held_within_amount"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} ({self.get_status_display()})"

    @property
    def method_label(self) -> str:
        from appointments.payments import payment_label

        if self.method == "online":  # paid through the online payment provider
            return str(_("Online payment"))
        return payment_label(self.method)


class DepositEntry(models.Model):
    class Kind(models.TextChoices):
        TAKEN = "taken", _("Taken")
        APPLIED = "applied", _("Applied at checkout")
        UNAPPLIED = "unapplied", _("Given back by a void")
        REFUNDED = "refunded", _("Refunded")
        FORFEITED = "forfeited", _("Kept")
        WAIVED = "waived", _("Waived and refunded")

    deposit = models.ForeignKey(Deposit, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount = models.DecimalField(
        **MONEY
    )  # + into the held balance, - out of it (forfeit/waive of a kept one: 0)
    visit = models.ForeignKey(Visit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    key = models.CharField(max_length=100, unique=True, null=True, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("deposit entry")
        verbose_name_plural = _("deposit entries")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount:+}"


class FeeCharge(models.Model):
    """A no-show or late-cancellation fee owed by a client whose booking held no deposit:
    offered as a line at their next checkout, or waived by a manager."""

    class Kind(models.TextChoices):
        NO_SHOW = "no_show", _("No-show fee")
        LATE_CANCEL = "late_cancel", _("Late-cancellation fee")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        PAID = "paid", _("Paid")
        WAIVED = "waived", _("Waived")

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="fees")
    appointment = models.OneToOneField(Appointment, on_delete=models.PROTECT, related_name="fee")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    amount = models.DecimalField(**MONEY)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    visit_line = models.OneToOneField(
        VisitLine, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=200, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("fee")
        verbose_name_plural = _("fees")
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="fee_amount_positive")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"
