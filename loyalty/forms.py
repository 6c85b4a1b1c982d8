from decimal import Decimal

from django import forms
from django.core.validators import MinValueValidator
from django.utils.translation import gettext_lazy as _

from appointments.forms import StyledForm
from loyalty.models import LoyaltySettings, MembershipTier, TopUpRule
from loyalty.services import REFUND_METHODS
from salon_crm.forms import TextHygieneMixin


class PointsAdjustForm(StyledForm):
    points = forms.IntegerField(
        label=_("Points (+ to add, − to take away)"), min_value=-10_000_000, max_value=10_000_000
    )
    reason = forms.CharField(label=_("Reason"), max_length=200)


class StoredValueRefundForm(StyledForm):
    amount = forms.DecimalField(
        label=_("Principal to pay back"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    method = forms.ChoiceField(label=_("Paid back by"), choices=())
    reason = forms.CharField(label=_("Reason"), max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from appointments.payments import payment_label

        self.fields["method"].choices = [(m, payment_label(m)) for m in REFUND_METHODS]


class LoyaltySettingsForm(TextHygieneMixin, forms.ModelForm):
    class Meta:
        model = LoyaltySettings
        fields = [
            "points_per_unit",
            "points_per_currency_unit",
            "points_expiry_months",
            "birthday_coupon_value",
            "birthday_lead_days",
            "no_show_fee",
            "late_cancel_fee",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "form-control")


class TopUpRuleForm(TextHygieneMixin, forms.ModelForm):
    class Meta:
        model = TopUpRule
        fields = ["pay_at_least", "bonus", "active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if name != "active":
                field.widget.attrs.setdefault("class", "form-control form-control-sm")


TopUpRuleFormSet = forms.modelformset_factory(TopUpRule, form=TopUpRuleForm, extra=2, can_delete=True)


class CouponIssueForm(StyledForm):
    value = forms.DecimalField(label=_("Value"), max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    min_spend = forms.DecimalField(
        label=_("Minimum spend"), max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False
    )
    service = forms.ModelChoiceField(label=_("Only for service"), queryset=None, required=False)
    valid_until = forms.DateField(label=_("Valid until"), widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from appointments.models import Service

        self.fields["service"].queryset = Service.objects.filter(is_active=True).order_by("name")


class TierForm(TextHygieneMixin, forms.ModelForm):
    class Meta:
        model = MembershipTier
        fields = [
            "name",
            "rank",
            "min_spend",
            "min_visits",
            "requires_both",
            "discount_percent",
            "points_multiplier",
            "benefits",
            "active",
        ]
        widgets = {"benefits": forms.TextInput()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if name not in ("active", "requires_both"):
                field.widget.attrs.setdefault("class", "form-control form-control-sm")


TierFormSet = forms.modelformset_factory(MembershipTier, form=TierForm, extra=1, can_delete=True)


class DepositTakeForm(StyledForm):
    amount = forms.DecimalField(
        label=_("Deposit"), max_digits=12, decimal_places=2, min_value=Decimal("0.01")
    )
    method = forms.ChoiceField(label=_("Paid by"), choices=())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from appointments.payments import payment_label
        from loyalty.deposits import DESK_METHODS

        self.fields["method"].choices = [(m, payment_label(m)) for m in DESK_METHODS]


class WaiveForm(StyledForm):
    reason = forms.CharField(label=_("Reason"), max_length=200)
