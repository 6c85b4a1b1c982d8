"""A campaign's results over the API (GET /api/v1/analytics/campaigns/{id}/results/): the same
figures as the campaign page (analytics.campaigns.results), for managers (their locations'
campaigns) and owners. Another's campaign, or a missing one, is a 404."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics import campaigns
from analytics.models import Campaign

PERMISSION = "accounts.view_dashboards"


class CampaignIntervalOutput(serializers.Serializer):
    estimate = serializers.FloatField(allow_null=True)
    low = serializers.FloatField(allow_null=True, help_text="95% confidence interval, lower end")
    high = serializers.FloatField(allow_null=True)


class CampaignGroupOutput(serializers.Serializer):
    members = serializers.IntegerField()
    returned30 = serializers.IntegerField(help_text="Came back within 30 days of the launch")
    returned60 = serializers.IntegerField()
    rate30 = serializers.FloatField(allow_null=True)
    rate60 = serializers.FloatField(allow_null=True)
    redeemed = serializers.IntegerField(help_text="Campaign coupons used")
    revenue = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Paid in 60 days")
    revenue_per_member = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)


class CampaignWindowOutput(serializers.Serializer):
    days = serializers.IntegerField(help_text="Days of the window run so far")
    complete = serializers.BooleanField()


class CampaignLiftOutput(serializers.Serializer):
    rate30 = CampaignIntervalOutput(help_text="Sent rate − holdout rate (Newcombe's hybrid score interval)")
    rate60 = CampaignIntervalOutput()
    revenue_per_member = CampaignIntervalOutput(help_text="Difference of means (Welch's t interval)")


class CampaignResultsOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=Campaign.Status.choices)
    launched_at = serializers.DateTimeField(allow_null=True)
    excluded = serializers.DictField(
        child=serializers.IntegerField(), help_text="At the launch: reason → clients"
    )
    launch_day = serializers.DateField(allow_null=True)
    as_of = serializers.DateField(allow_null=True)
    window30 = CampaignWindowOutput(allow_null=True)
    window60 = CampaignWindowOutput(allow_null=True)
    sent = CampaignGroupOutput(allow_null=True)
    holdout = CampaignGroupOutput(allow_null=True)
    lift = CampaignLiftOutput(allow_null=True)


def _interval(i) -> dict:
    return {"estimate": i.estimate, "low": i.low, "high": i.high}


class CampaignResultsApi(APIView):
    @extend_schema(responses=CampaignResultsOutput)
    def get(self, request, pk: int):
        """The sent group against the holdout: returns within 30 and 60 days, coupons redeemed,
        revenue, and the lift with its 95% interval; empty (null) before the launch."""
        if not request.user.has_perm(PERMISSION):
            raise PermissionDenied()
        try:
            campaign = campaigns.campaign_get_for_user(user=request.user, pk=pk)
        except Http404:
            raise NotFound() from None
        r = campaigns.results(campaign)
        data = {
            "id": campaign.pk,
            "name": campaign.name,
            "status": campaign.status,
            "launched_at": campaign.launched_at,
            "excluded": campaign.excluded or {},
            "launch_day": None,
            "as_of": None,
            "window30": None,
            "window60": None,
            "sent": None,
            "holdout": None,
            "lift": None,
        }
        if r is not None:
            data.update(
                launch_day=r["launch_day"],
                as_of=r["as_of"],
                window30=r["windows"][30],
                window60=r["windows"][60],
                sent=r["groups"]["sent"],
                holdout=r["groups"]["holdout"],
                lift={k: _interval(v) for k, v in r["lift"].items()},
            )
        return Response(CampaignResultsOutput(data).data)
