"""feedback over the API (/api/v1/): surveys and their results (staff side), complaint cases
(/api/v1/complaints/) with their steps, and follow-up calls. The same services and scoping as
the pages: a stylist sees only their own cases, surveys and calls."""

from datetime import datetime, time, timedelta

from django.conf import settings
from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import locations_for, require_location, staff_of
from accounts.models import Location
from feedback import selectors, services
from feedback.models import Complaint, FollowUp
from feedback.serializers import (
    CompensationInput,
    ComplaintInput,
    ComplaintNoteInput,
    ComplaintOutput,
    ComplaintOwnerInput,
    ComplaintStatusInput,
    FollowUpInput,
    FollowUpOutcomeInput,
    FollowUpOutput,
    ResultsOutput,
    SurveyOutput,
)
from salon_crm.pagination import Pagination

# The error answers (400 field errors, 401/403 and 404 `{"detail"}`, 409 `{"code", "detail"}`
# on writes) are added to every operation by salon_crm.api.AutoSchema, with their bodies.


def _require(request, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied()


def _int_param(request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 12:
        raise ValidationError({name: ["A whole number."]})
    return int(raw)


def _date_param(request, name: str):
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        return datetime.strptime(raw, "%Y-%m-%d").date()
    except ValueError:
        raise ValidationError({name: ["A date YYYY-MM-DD."]}) from None


def _location_param(request, *, required: bool = False) -> Location | None:
    pk = _int_param(request, "location")
    if pk is None:
        if required:
            raise ValidationError({"location": ["This field is required."]})
        return None
    location = locations_for(request.user).filter(pk=pk).first()
    if location is None:
        raise ValidationError({"location": ["Not one of your locations."]})
    return location


def _bool_param(request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    if raw.lower() in ("1", "true", "yes"):
        return True
    if raw.lower() in ("0", "false", "no"):
        return False
    raise ValidationError({name: ["true or false."]})


class Page(Pagination):
    """At most 200 rows a page (salon_crm.pagination)."""


def _page(request, qs, serializer, view):
    paginator = Page()
    rows = paginator.paginate_queryset(qs, request, view=view)
    return paginator.get_paginated_response(serializer(rows, many=True).data)


# ---- surveys ------------------------------------------------------------------------------------


class SurveyListApi(APIView):
    pagination_class = Page  # tells the schema the answer is a page

    @extend_schema(
        parameters=[
            OpenApiParameter("location", int),
            OpenApiParameter("answered", bool),
            OpenApiParameter("low", bool, description="Only the low scores (those that open a case)"),
        ],
        responses={200: SurveyOutput(many=True)},
    )
    def get(self, request):
        _require(request, "feedback.view_survey")
        qs = selectors.surveys_for(request.user).order_by("-send_at", "-pk")
        location = _location_param(request)
        if location is not None:
            qs = qs.filter(location=location)
        answered = _bool_param(request, "answered")
        if answered is not None:
            qs = qs.filter(answered_at__isnull=not answered)
        if _bool_param(request, "low"):
            qs = qs.filter(answered_at__isnull=False).filter(
                Q(csat__lte=settings.FEEDBACK_LOW_CSAT) | Q(nps__lte=settings.FEEDBACK_LOW_NPS)
            )
        return _page(request, qs, SurveyOutput, self)


class SurveyDetailApi(APIView):
    @extend_schema(responses={200: SurveyOutput})
    def get(self, request, pk: int):
        _require(request, "feedback.view_survey")
        survey = selectors.surveys_for(request.user).filter(pk=pk).first()
        if survey is None:
            raise NotFound()
        return Response(SurveyOutput(survey).data)


class SurveyResultsApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("location", int, required=True),
            OpenApiParameter(
                "start", OpenApiTypes.DATE, description="First local day (default: 29 days ago)"
            ),
            OpenApiParameter("end", OpenApiTypes.DATE, description="Last local day (default: today)"),
        ],
        responses={200: ResultsOutput},
    )
    def get(self, request):
        """METRICS.md's csat, nps and response rate for the surveys of visits completed in the
        period, for the whole location, by stylist and by service."""
        _require(request, "feedback.view_survey_results")
        location = _location_param(request, required=True)
        today = services.local_today(location)
        start = _date_param(request, "start") or today - timedelta(days=29)
        end = _date_param(request, "end") or today
        if end < start:
            raise ValidationError({"end": ["The last day cannot be before the first."]})
        since = datetime.combine(start, time.min, location.tz)
        qs = selectors.surveys_for(request.user).filter(location=location, visit__completed_at__gte=since)
        if end.year < 9999:
            qs = qs.filter(
                visit__completed_at__lt=datetime.combine(end + timedelta(days=1), time.min, location.tz)
            )
        data = {
            "start": start,
            "end": end,
            "summary": selectors.score_summary(qs),
            "by_stylist": selectors.results_by_stylist(qs),
            "by_service": selectors.results_by_service(qs),
        }
        return Response(ResultsOutput(data).data)


# ---- complaints ---------------------------------------------------------------------------------


def _complaint(request, pk: int) -> Complaint:
    _require(request, "feedback.view_complaint")
    complaint = selectors.complaints_for(request.user).filter(pk=pk).first()
    if complaint is None:
        raise NotFound()
    return complaint


def _complaint_out(pk: int) -> dict:
    complaint = Complaint.objects.prefetch_related("staff_involved", "actions").get(pk=pk)
    return ComplaintOutput(complaint).data


class ComplaintListCreateApi(APIView):
    pagination_class = Page

    @extend_schema(
        parameters=[
            OpenApiParameter("location", int),
            OpenApiParameter("status", str, enum=Complaint.Status.values),
            OpenApiParameter("customer", int),
            OpenApiParameter("mine", bool, description="Only the cases I own"),
            OpenApiParameter("overdue", bool),
        ],
        responses={200: ComplaintOutput(many=True)},
    )
    def get(self, request):
        _require(request, "feedback.view_complaint")
        qs = (
            selectors.complaints_for(request.user)
            .prefetch_related("staff_involved", "actions")
            .order_by("due_at", "pk")
        )
        location = _location_param(request)
        if location is not None:
            qs = qs.filter(location=location)
        wanted = request.query_params.get("status")
        if wanted:
            if wanted not in Complaint.Status.values:
                raise ValidationError({"status": ["Not a status."]})
            qs = qs.filter(status=wanted)
        customer = _int_param(request, "customer")
        if customer is not None:
            qs = qs.filter(customer_id=customer)
        if _bool_param(request, "mine"):
            qs = qs.filter(owner=request.user)
        if _bool_param(request, "overdue"):
            from django.utils import timezone

            qs = qs.filter(status__in=services.ACTIVE, due_at__lte=timezone.now())
        return _page(request, qs, ComplaintOutput, self)

    @extend_schema(request=ComplaintInput, responses={201: ComplaintOutput})
    def post(self, request):
        _require(request, "feedback.add_complaint")
        form = ComplaintInput(data=request.data)
        form.is_valid(raise_exception=True)
        v = form.validated_data
        require_location(request.user, v["location"])
        complaint = services.complaint_open(
            customer=v["customer"],
            location=v["location"],
            category=v["category"],
            severity=v["severity"],
            source=v["source"],
            description=v["description"],
            visit=v.get("visit"),
            staff_involved=v.get("staff_involved") or [],
            due_at=v.get("due_at"),
            by=request.user,
        )
        return Response(_complaint_out(complaint.pk), status=status.HTTP_201_CREATED)


class ComplaintDetailApi(APIView):
    @extend_schema(responses={200: ComplaintOutput})
    def get(self, request, pk: int):
        return Response(_complaint_out(_complaint(request, pk).pk))


class _ComplaintActionApi(APIView):
    input_class: type[serializers.Serializer]

    def act(self, complaint, user, data) -> None:
        raise NotImplementedError

    def post(self, request, pk: int):
        complaint = _complaint(request, pk)
        form = self.input_class(data=request.data)
        form.is_valid(raise_exception=True)
        self.act(complaint, request.user, form.validated_data)
        return Response(_complaint_out(pk))


class ComplaintNoteApi(_ComplaintActionApi):
    input_class = ComplaintNoteInput

    @extend_schema(request=ComplaintNoteInput, responses={200: ComplaintOutput})
    def post(self, request, pk: int):
        return super().post(request, pk)

    def act(self, complaint, user, data):
        services.complaint_note(complaint=complaint, by=user, note=data["note"])


class ComplaintStatusApi(_ComplaintActionApi):
    input_class = ComplaintStatusInput

    @extend_schema(request=ComplaintStatusInput, responses={200: ComplaintOutput})
    def post(self, request, pk: int):
        """open → in_progress → resolved (with a resolution) → closed; resolved or closed → in_progress reopens."""
        return super().post(request, pk)

    def act(self, complaint, user, data):
        services.complaint_set_status(
            complaint=complaint,
            status=data["status"],
            by=user,
            note=data["note"],
            resolution=data["resolution"],
        )


class ComplaintOwnerApi(_ComplaintActionApi):
    input_class = ComplaintOwnerInput

    @extend_schema(request=ComplaintOwnerInput, responses={200: ComplaintOutput})
    def post(self, request, pk: int):
        return super().post(request, pk)

    def act(self, complaint, user, data):
        services.complaint_assign(
            complaint=complaint, owner=data["owner"], by=user, due_at=data.get("due_at")
        )


class ComplaintCompensationApi(_ComplaintActionApi):
    input_class = CompensationInput

    @extend_schema(request=CompensationInput, responses={200: ComplaintOutput})
    def post(self, request, pk: int):
        """A coupon or points through loyalty's ledgers, once per case (a second answers 409)."""
        return super().post(request, pk)

    def act(self, complaint, user, data):
        if not user.has_perm("loyalty.adjust_ledger"):
            raise PermissionDenied()
        value = data["value"]
        services.complaint_compensate(
            complaint=complaint,
            by=user,
            kind=data["kind"],
            value=int(value) if data["kind"] == Complaint.Compensation.POINTS else value,
            valid_days=data["valid_days"],
        )


# ---- follow-up calls ----------------------------------------------------------------------------


class FollowUpListCreateApi(APIView):
    pagination_class = Page

    @extend_schema(
        parameters=[
            OpenApiParameter("location", int),
            OpenApiParameter("status", str, enum=FollowUp.Status.values),
            OpenApiParameter("due_before", OpenApiTypes.DATE, description="Due on or before this day"),
            OpenApiParameter("mine", bool),
        ],
        responses={200: FollowUpOutput(many=True)},
    )
    def get(self, request):
        _require(request, "feedback.view_followup")
        qs = selectors.follow_ups_for(request.user).order_by("due_on", "pk")
        location = _location_param(request)
        if location is not None:
            qs = qs.filter(location=location)
        wanted = request.query_params.get("status")
        if wanted:
            if wanted not in FollowUp.Status.values:
                raise ValidationError({"status": ["Not a status."]})
            qs = qs.filter(status=wanted)
        due = _date_param(request, "due_before")
        if due is not None:
            qs = qs.filter(due_on__lte=due)
        if _bool_param(request, "mine"):
            qs = qs.filter(assignee=staff_of(request.user))
        return _page(request, qs, FollowUpOutput, self)

    @extend_schema(request=FollowUpInput, responses={201: FollowUpOutput})
    def post(self, request):
        _require(request, "feedback.add_followup")
        form = FollowUpInput(data=request.data)
        form.is_valid(raise_exception=True)
        v = form.validated_data
        require_location(request.user, v["location"])
        assignee = v.get("assignee")
        if selectors.is_stylist(request.user) and assignee != staff_of(request.user):
            raise ValidationError({"assignee": ["A stylist plans calls for themselves."]})
        follow_up = services.follow_up_create(
            customer=v["customer"],
            location=v["location"],
            due_on=v["due_on"],
            assignee=assignee,
            purpose=v["purpose"],
            visit=v.get("visit"),
            by=request.user,
        )
        return Response(FollowUpOutput(follow_up).data, status=status.HTTP_201_CREATED)


class FollowUpOutcomeApi(APIView):
    @extend_schema(request=FollowUpOutcomeInput, responses={200: FollowUpOutput})
    def post(self, request, pk: int):
        """The call's outcome; "problem" opens a complaint case (its id in `opened_complaint`)."""
        _require(request, "feedback.change_followup")
        follow_up = selectors.follow_ups_for(request.user).filter(pk=pk).first()
        if follow_up is None:
            raise NotFound()
        form = FollowUpOutcomeInput(data=request.data)
        form.is_valid(raise_exception=True)
        v = form.validated_data
        saved = services.follow_up_record(
            follow_up=follow_up, outcome=v["outcome"], note=v["note"], category=v["category"], by=request.user
        )
        return Response(FollowUpOutput(saved).data)
