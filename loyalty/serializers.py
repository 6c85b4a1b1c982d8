from rest_framework import serializers

from loyalty.services import REFUND_METHODS
from salon_crm.validators import validate_single_line_text

MONEY = {"max_digits": 12, "decimal_places": 2}


class StoredValueOutput(serializers.Serializer):
    principal = serializers.DecimalField(**MONEY, help_text="paid by the client: refundable")
    bonus = serializers.DecimalField(**MONEY, help_text="given by the salon: never refunded")
    total = serializers.DecimalField(**MONEY)


class PointsLotOutput(serializers.Serializer):
    points = serializers.IntegerField()
    expires_on = serializers.DateField(help_text="the last day they can be used")


class LedgerRowOutput(serializers.Serializer):
    at = serializers.DateTimeField()
    ledger = serializers.ChoiceField(choices=["points", "stored_value"])
    kind = serializers.CharField()
    change = serializers.CharField(help_text='points: "+200"; stored value: "principal / bonus"')
    reason = serializers.CharField()
    visit_id = serializers.IntegerField(allow_null=True)


class PackageOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    sessions_left = serializers.IntegerField()
    sessions_total = serializers.IntegerField()
    expires_on = serializers.DateField(help_text="the last day a session can be used")
    services = serializers.ListField(child=serializers.IntegerField(), help_text="service ids it covers")


class CouponOutput(serializers.Serializer):
    code = serializers.CharField()
    kind = serializers.CharField()
    value = serializers.DecimalField(**MONEY)
    min_spend = serializers.DecimalField(**MONEY)
    service = serializers.IntegerField(allow_null=True)
    category = serializers.IntegerField(allow_null=True)
    valid_from = serializers.DateField()
    valid_until = serializers.DateField()
    status = serializers.CharField()


class TierOutput(serializers.Serializer):
    name = serializers.CharField()
    rank = serializers.IntegerField()
    discount_percent = serializers.DecimalField(max_digits=5, decimal_places=2)
    points_multiplier = serializers.DecimalField(max_digits=4, decimal_places=2)
    since = serializers.DateTimeField(allow_null=True)


class TierProgressOutput(serializers.Serializer):
    spend_12m = serializers.DecimalField(**MONEY)
    visits_12m = serializers.IntegerField()
    next_tier = serializers.CharField(allow_null=True)
    spend_needed = serializers.DecimalField(**MONEY)
    visits_needed = serializers.IntegerField()


class LoyaltyOutput(serializers.Serializer):
    customer = serializers.IntegerField()
    tier = TierOutput(allow_null=True, help_text="null: no tier reached")
    tier_progress = TierProgressOutput()
    points = serializers.IntegerField()
    points_value = serializers.DecimalField(**MONEY, help_text="what the points pay, at the current rate")
    points_expiring = PointsLotOutput(many=True, help_text="open lots, soonest expiry first (at most 5)")
    stored_value = StoredValueOutput()
    packages = PackageOutput(many=True, help_text="packages with sessions left, soonest expiry first")
    coupons = CouponOutput(many=True, help_text="the client's coupons still to use, soonest expiry first")
    history = LedgerRowOutput(many=True, help_text="the latest 20 rows of both ledgers, newest first")


class PointsAdjustInput(serializers.Serializer):
    points = serializers.IntegerField(
        min_value=-10_000_000, max_value=10_000_000, help_text="+ adds, - takes away; not 0"
    )
    reason = serializers.CharField(max_length=200, validators=[validate_single_line_text])


class StoredValueRefundInput(serializers.Serializer):
    amount = serializers.DecimalField(**MONEY, min_value=0, help_text="principal paid back")
    method = serializers.ChoiceField(choices=list(REFUND_METHODS))
    reason = serializers.CharField(max_length=200, validators=[validate_single_line_text])


class CouponIssueInput(serializers.Serializer):
    value = serializers.DecimalField(**MONEY, min_value=0)
    min_spend = serializers.DecimalField(**MONEY, min_value=0, required=False, default=0)
    service = serializers.IntegerField(required=False, allow_null=True, default=None)
    valid_until = serializers.DateField()
    note = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="", validators=[validate_single_line_text]
    )


class GiftCardOutput(serializers.Serializer):
    code = serializers.CharField()
    value = serializers.DecimalField(**MONEY)
    balance = serializers.DecimalField(**MONEY)
    expires_on = serializers.DateField(allow_null=True)
