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


class LoyaltyOutput(serializers.Serializer):
    customer = serializers.IntegerField()
    points = serializers.IntegerField()
    points_value = serializers.DecimalField(**MONEY, help_text="what the points pay, at the current rate")
    points_expiring = PointsLotOutput(many=True, help_text="open lots, soonest expiry first (at most 5)")
    stored_value = StoredValueOutput()
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
