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
from appointments.models import Payment, Visit, VisitLine
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


class LoyaltyAccount(models.Model):
    """One per client, made on first use. The balances are the sums of the ledgers."""

    customer = models.OneToOneField(Customer, on_delete=models.PROTECT, related_name="loyalty")
    points = models.IntegerField(_("points"), default=0)
    principal = models.DecimalField(_("stored value: principal"), **MONEY, default=ZERO)
    bonus = models.DecimalField(_("stored value: bonus"), **MONEY, default=ZERO)
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
