"""The metrics over the API (/api/v1/metrics/...): exactly METRICS.md's definitions, for managers
(their locations) and owners (the chain).

The summary answers from the roll-ups (analytics.rollups.summary, cached until they change; the
tests prove it equal to the raw definitions of analytics.metrics, for any as_of), so it is as
fresh as the last `compute_analytics` (nightly) or `--dirty` run (every few minutes). The
lifecycle answers from the roll-ups' stage changes for the chain, one location or a manager's
set of locations, on any date (analytics.lifecycle); otherwise, and right after an erasure, a
merge or a move of home location, from CustomerMetrics when that gives exactly the definition's
answer (no visit day after as_of), else from the raw visits."""

from datetime import date, datetime

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import locations_for, sees_all_locations
from accounts.models import Location
from analytics import at_risk, churn, metrics, rollups
from customers.selectors import customer_get
from salon_crm.db_router import ReplicaReadsMixin

PERMISSION = "accounts.view_dashboards"


class SummaryOutput(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    as_of = serializers.DateField()
    location = serializers.CharField(
        allow_null=True, help_text="The location's code; null: every location you see"
    )
    visits = serializers.IntegerField()
    revenue = serializers.DecimalField(max_digits=14, decimal_places=2)
    avg_ticket = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    active_customers = serializers.IntegerField()
    new_customers = serializers.IntegerField()
    returning_customers = serializers.IntegerField()
    repurchase_rate = serializers.FloatField(allow_null=True)
    revisit_90d = serializers.FloatField(allow_null=True)
    rebooking_rate = serializers.FloatField(allow_null=True)
    no_show_rate = serializers.FloatField(allow_null=True)
    cancellation_rate = serializers.FloatField(allow_null=True)
    csat = serializers.FloatField(allow_null=True)
    csat_responses = serializers.IntegerField()
    nps = serializers.FloatField(allow_null=True)
    nps_responses = serializers.IntegerField()
    survey_response_rate = serializers.FloatField(allow_null=True)


class LifecycleOutput(serializers.Serializer):
    as_of = serializers.DateField()
    location = serializers.CharField(allow_null=True)
    potential = serializers.IntegerField()
    new = serializers.IntegerField()
    active = serializers.IntegerField()
    dormant = serializers.IntegerField()
    lost = serializers.IntegerField()


def _require(request) -> None:
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied()


def _date(request, name: str, *, required: bool = False, default: date | None = None) -> date | None:
    raw = request.query_params.get(name, "")
    if not raw:
        if required:
            raise ValidationError({name: ["This field is required."]})
        return default
    try:
        return datetime.strptime(raw, "%Y-%m-%d").date()
    except ValueError:
        raise ValidationError({name: ["A date written YYYY-MM-DD."]}) from None


def scope(request) -> tuple[Location | None, list[Location] | None]:
    """(the location asked for, the locations to count): ?location= by id or code; without it
    an owner's whole chain (None) or a manager's own locations."""
    raw = request.query_params.get("location", "").strip()
    if raw:
        found = Location.objects.filter(code=raw).first()
        if found is None and raw.isascii() and raw.isdigit() and len(raw) < 12:
            found = Location.objects.filter(pk=int(raw)).first()
        if found is None:
            raise ValidationError({"location": ["No such location (give its id or its code)."]})
        if not locations_for(request.user).filter(pk=found.pk).exists():
            raise PermissionDenied("Not one of your locations.")
        return found, [found]
    if sees_all_locations(request.user):
        return None, None
    return None, list(locations_for(request.user))


DATE_PARAMS = [
    OpenApiParameter("location", str, description="A location's id or code; none: every location you see"),
    OpenApiParameter("as_of", OpenApiTypes.DATE, description="Default: today"),
]


class MetricsSummaryApi(ReplicaReadsMixin, APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "start", OpenApiTypes.DATE, required=True, description="First local day, included"
            ),
            OpenApiParameter("end", OpenApiTypes.DATE, required=True, description="Last local day, included"),
            *DATE_PARAMS,
        ],
        responses=SummaryOutput,
    )
    def get(self, request):
        """METRICS.md's summary metrics for a window of local days (docs/metrics.md)."""
        _require(request)
        start = _date(request, "start", required=True)
        end = _date(request, "end", required=True)
        as_of = _date(request, "as_of", default=metrics.today())
        if end < start:
            raise ValidationError({"end": ["The last day cannot be before the first."]})
        location, locations = scope(request)
        data = rollups.summary(start=start, end=end, locations=locations, as_of=as_of)
        return Response(SummaryOutput({**data, "location": location.code if location else None}).data)


class MetricsLifecycleApi(ReplicaReadsMixin, APIView):
    @extend_schema(parameters=DATE_PARAMS, responses=LifecycleOutput)
    def get(self, request):
        """How many clients are potential, new, active, dormant and lost as of a day."""
        _require(request)
        as_of = _date(request, "as_of", default=metrics.today())
        location, locations = scope(request)
        data = rollups.lifecycle(as_of=as_of, locations=locations) or metrics.lifecycle(
            as_of=as_of, locations=locations
        )
        return Response(LifecycleOutput({**data, "location": location.code if location else None}).data)


# ---- the churn and value model ------------------------------------------------------------------


class LatestFitOutput(serializers.Serializer):
    as_of = serializers.DateField()
    converged = serializers.BooleanField()
    note = serializers.CharField()


class ModelOutput(serializers.Serializer):
    r = serializers.FloatField()
    alpha = serializers.FloatField(help_text="Per day")
    a = serializers.FloatField()
    b = serializers.FloatField()
    p = serializers.FloatField(allow_null=True)
    q = serializers.FloatField(allow_null=True)
    v = serializers.FloatField(allow_null=True)
    time_unit = serializers.CharField()
    as_of = serializers.DateField()
    n_customers = serializers.IntegerField()
    fitted_at = serializers.DateTimeField()
    latest_fit = LatestFitOutput(
        allow_null=True,
        help_text="The newest fit when it did not converge (the model above is the last good one)",
    )


class ChurnModelApi(ReplicaReadsMixin, APIView):
    @extend_schema(responses=ModelOutput)
    def get(self, request):
        """The churn and value model the clients are scored with (METRICS.md: BG/NBD and
        Gamma-Gamma, in days): the newest fit that converged. 404 before the first fit."""
        _require(request)
        model = churn.current_model()
        if model is None:
            raise NotFound("No model has been fitted yet (compute_analytics fits it nightly).")
        latest = churn.latest_fit()
        failed = latest if latest is not None and latest.pk != model.pk and not latest.converged else None
        data = {
            **{k: getattr(model, k) for k in ("r", "alpha", "a", "b", "p", "q", "v", "as_of", "n_customers")},
            "time_unit": "day",
            "fitted_at": model.fitted_at,
            "latest_fit": (
                {"as_of": failed.as_of, "converged": False, "note": failed.note}
                if failed is not None
                else None
            ),
        }
        return Response(ModelOutput(data).data)


class RfmOutput(serializers.Serializer):
    recency = serializers.IntegerField()
    frequency = serializers.IntegerField()
    monetary = serializers.IntegerField()
    segment = serializers.CharField()
    segment_label = serializers.CharField()


class ReasonOutput(serializers.Serializer):
    code = serializers.CharField()
    text = serializers.CharField()


class CustomerMetricsOutput(serializers.Serializer):
    customer = serializers.IntegerField()
    as_of = serializers.DateField()
    stage = serializers.ChoiceField(choices=metrics.STAGES)
    visit_days = serializers.IntegerField()
    last_visit = serializers.DateField(allow_null=True)
    rfm = RfmOutput(allow_null=True, help_text="As of the last nightly run; null before the first visit")
    p_alive = serializers.FloatField(allow_null=True)
    expected_visits_90d = serializers.FloatField(allow_null=True)
    expected_spend_per_visit = serializers.FloatField(allow_null=True)
    clv_365d = serializers.FloatField(allow_null=True)
    value_at_risk = serializers.FloatField(
        allow_null=True, help_text="The 365-day value if still a client, times P(not a client)"
    )
    model_as_of = serializers.DateField(allow_null=True)
    at_risk = serializers.BooleanField()
    reasons = ReasonOutput(many=True)


class CustomerMetricsApi(ReplicaReadsMixin, APIView):
    @extend_schema(
        parameters=[OpenApiParameter("as_of", OpenApiTypes.DATE, description="Default: today")],
        responses=CustomerMetricsOutput,
    )
    def get(self, request, pk: int):
        """One client's lifecycle stage, RFM, P(alive), expected visits in 90 days, expected spend
        per visit, 365-day value and the reasons behind the risk (staff who see client files)."""
        if not request.user.has_perm("customers.view_customer"):
            raise PermissionDenied()
        as_of = _date(request, "as_of", default=metrics.today())
        customer = customer_get(pk=pk)
        data = at_risk.client_figures(customer, as_of=as_of)
        data["reasons"] = [{"code": r.code, "text": r.text} for r in data["reasons"]]
        return Response(CustomerMetricsOutput(data).data)
