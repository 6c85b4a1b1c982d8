"""The campaign forms: a draft's audience, offer and message (analytics.campaign_views)."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.access import locations_for, sees_all_locations
from analytics.campaigns import BIRTHDAY_MAX_DAYS, message_kinds
from analytics.models import Campaign
from appointments.models import Service
from customers.models import Tag
from loyalty.models import MembershipTier
from messaging import channels
from salon_crm.forms import TextHygieneMixin

MAX_MONEY = Decimal("9999999.99")


def stage_choices() -> list[tuple[str, str]]:
    return [
        ("new", pgettext_lazy("lifecycle stage", "New")),
        ("active", pgettext_lazy("lifecycle stage", "Active")),
        ("dormant", pgettext_lazy("lifecycle stage", "Dormant")),
        ("lost", pgettext_lazy("lifecycle stage", "Lost")),
    ]


def channel_choices() -> list[tuple[str, str]]:
    labels = {"sms": _("SMS"), "email": _("Email"), "wechat": _("WeChat")}
    return [("", _("The best one for each client"))] + [(c, labels.get(c, c)) for c in channels.configured()]


# the fields that choose the audience (the form page shows them apart from the offer)
AUDIENCE_FIELDS = (
    "name",
    "kind",
    "locations",
    "stages",
    "at_risk",
    "min_clv",
    "min_monetary_score",
    "tags",
    "tiers",
    "last_service",
    "birthday_within_days",
)


class CampaignForm(TextHygieneMixin, forms.ModelForm):
    """Every audience field left empty sets no condition; with none at all, only the clients
    picked by hand (from the at-risk list) are in the audience."""

    stages = forms.MultipleChoiceField(
        label=_("Lifecycle stages"), required=False, widget=forms.CheckboxSelectMultiple
    )
    min_clv = forms.DecimalField(
        label=_("Expected 365-day value at least"),
        required=False,
        min_value=0,
        max_value=MAX_MONEY,
        decimal_places=2,
    )
    min_monetary_score = forms.IntegerField(
        label=_("Spending score at least (1-5)"), required=False, min_value=1, max_value=5
    )
    birthday_within_days = forms.IntegerField(
        label=_("Birthday within (days)"),
        required=False,
        min_value=0,
        max_value=BIRTHDAY_MAX_DAYS,
        help_text=_("0: birthdays today; 7: today and the next seven days."),
    )
    coupon_value = forms.DecimalField(
        label=_("Coupon value"),
        required=False,
        min_value=Decimal("0.01"),
        max_value=MAX_MONEY,
        decimal_places=2,
    )
    coupon_min_spend = forms.DecimalField(
        label=_("Coupon minimum spend"), min_value=0, max_value=MAX_MONEY, decimal_places=2, initial=0
    )
    coupon_valid_days = forms.IntegerField(
        label=_("Coupon valid for (days)"), min_value=1, max_value=365, initial=30
    )
    message_kind = forms.ChoiceField(
        label=_("Message"),
        help_text=_("Its text is edited on the message templates page, per channel and language."),
    )
    channel = forms.ChoiceField(label=_("Channel"), required=False)
    holdout_share = forms.DecimalField(
        label=_("Holdout share (0 to 0.5)"),
        min_value=0,
        max_value=Decimal("0.5"),
        decimal_places=3,
        initial=Decimal("0.1"),
        help_text=_(
            "This share of the reachable clients, drawn at random, gets nothing: the comparison group."
        ),
    )

    class Meta:
        model = Campaign
        fields = [
            *AUDIENCE_FIELDS,
            "coupon_value",
            "coupon_min_spend",
            "coupon_valid_days",
            "message_kind",
            "channel",
            "holdout_share",
        ]
        widgets = {"locations": forms.CheckboxSelectMultiple, "at_risk": forms.CheckboxInput}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        f = self.fields
        f["locations"].queryset = locations_for(user).order_by("name")
        f["locations"].required = not sees_all_locations(user)
        f["locations"].help_text = (
            _("None: the whole chain.") if sees_all_locations(user) else _("One or more of your locations.")
        )
        f["stages"].choices = stage_choices()
        f["tags"].queryset = Tag.objects.order_by("name")
        f["tags"].help_text = _("Any of the tags.")
        f["tiers"].queryset = MembershipTier.objects.filter(active=True).order_by("rank")
        f["last_service"].queryset = Service.objects.filter(is_active=True).order_by("name")
        f["last_service"].help_text = _("The client's most recent visit included this service.")
        f["at_risk"].help_text = _("Clients on the at-risk list (low chance still a client, or dormant).")
        f["message_kind"].choices = [(k.key, k.label) for k in message_kinds()]
        f["channel"].choices = channel_choices()
        for field in f.values():
            widget = field.widget
            if isinstance(widget, (forms.CheckboxInput, forms.CheckboxSelectMultiple)):
                widget.attrs.setdefault("class", "form-check-input")
                continue
            css = (
                "form-select form-select-sm"
                if isinstance(widget, forms.Select)
                else "form-control form-control-sm"
            )
            widget.attrs.setdefault("class", css)

    def clean(self):
        data = super().clean()
        from messaging import kinds

        spec = kinds.get_kind(data.get("message_kind") or "")
        if spec is not None and "code" in spec.context and not data.get("coupon_value"):
            self.add_error("coupon_value", _("This message gives a coupon code: give the coupon a value."))
        return data


class AddClientForm(forms.Form):
    """The at-risk list's "add to campaign": ids only."""

    campaign = forms.IntegerField(min_value=1, max_value=2**62)
    customer = forms.IntegerField(min_value=1, max_value=2**62)
