"""The appointments API: one APIView per action, each calling the same services as the pages.
Location rule everywhere: a location given in the request that the user may not act at is 403;
an appointment or visit at such a location is 404 (missing and forbidden look the same)."""

from datetime import timedelta

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import require_location
from accounts.models import Location, StaffMember
from appointments import selectors, services
from appointments.models import Appointment, Service, WaitlistEntry
from appointments.serializers import (
    AppointmentBookInput,
    AppointmentCancelInput,
    AppointmentCheckInInput,
    AppointmentMoveInput,
    AppointmentOutput,
    AppointmentStartInput,
    AvailabilitySlotOutput,
    AvailabilityTimeOutput,
    CalendarDateField,
    CatalogueServiceOutput,
    VisitCheckoutInput,
    VisitOutput,
    VisitVoidInput,
    WaitlistEntryInput,
    WaitlistEntryOutput,
    WaitlistMatchOutput,
    WaitlistStatusInput,
)
from appointments.services import SafetyWarningsError
from salon_crm.api import FIELD_ERRORS, ApiConflictOutput

MAX_AVAILABILITY_DAYS = 31


class AppointmentsApiView(APIView):
    """Safety warnings are a 400 with their own shape, so a client can show them and ask for
    an override reason."""

    def handle_exception(self, exc):
        if isinstance(exc, SafetyWarningsError):
            return Response(
                {
                    "code": "safety_warnings",
                    "warnings": [
                        {"code": w.code, "message": w.message, "service": w.service} for w in exc.warnings
                    ],
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        return super().handle_exception(exc)


def _int_param(request, name: str, *, required: bool = False) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        if required:
            raise serializers.ValidationError({name: [_("This parameter is required.")]})
        return None
    if not _is_id(raw):
        raise serializers.ValidationError({name: [_("Give a number.")]})
    return int(raw)


def _is_id(raw: str) -> bool:
    # ASCII digits only: str.isdigit() also takes "²" and other digits int() refuses.
    return raw.isascii() and raw.isdigit()


def _location_param(request, *, required: bool = True) -> Location | None:
    pk = _int_param(request, "location", required=required)
    if pk is None:
        return None
    location = Location.objects.filter(pk=pk, is_active=True).first()
    if location is None:
        raise serializers.ValidationError({"location": [_("Unknown location.")]})
    require_location(request.user, location)
    return location


def _date_param(request):
    field = CalendarDateField()
    raw = request.query_params.get("date")
    if not raw:
        raise serializers.ValidationError({"date": [_("This parameter is required.")]})
    try:
        return field.to_internal_value(raw)
    except serializers.ValidationError as exc:
        raise serializers.ValidationError({"date": exc.detail}) from exc


def slots_as_json(slots: list) -> list[dict]:
    """Plain dicts, not a serializer per slot: a 14-day answer holds thousands of slots, and
    the stylists share the same times, so each time is formatted once."""
    # Keyed by the object, not its value: availability_find hands out one datetime per
    # instant, so this formats each instant once without hashing or timestamping a datetime
    # per slot (equal wall-clock times across the autumn fold are different objects, and must
    # not share a string). The slots keep every key alive while the dict exists.
    moments = {}
    for s in slots:
        moments[id(s.start)] = s.start
        moments[id(s.end)] = s.end
    iso = {key: moment.isoformat() for key, moment in moments.items()}
    return [{"staff": s.staff.pk, "start": iso[id(s.start)], "end": iso[id(s.end)]} for s in slots]


def _appointment_out(pk: int) -> dict:
    return AppointmentOutput(selectors.appointment_get(pk=pk)).data


# ---- catalogue and availability ----------------------------------------------------------------


class ServiceListApi(AppointmentsApiView):
    """Bookable (active) services; `?location=` narrows to those offered there."""

    @extend_schema(
        parameters=[OpenApiParameter("location", int, description="Location id")],
        responses=CatalogueServiceOutput(many=True),
    )
    def get(self, request):
        location = _location_param(request, required=False)
        qs = selectors.services_offered(location=location).prefetch_related("locations")
        return Response(CatalogueServiceOutput(qs, many=True).data)


def _availability_args(request) -> dict:
    """The query of both availability endpoints, checked: location, services, date, staff, days."""
    location = _location_param(request)
    day = _date_param(request)
    raw_services = request.query_params.getlist("service")
    if not raw_services or not all(_is_id(s) for s in raw_services):
        raise serializers.ValidationError({"service": [_("Give one or more service ids.")]})
    found = Service.objects.in_bulk([int(s) for s in raw_services])
    if len(found) != len(set(raw_services)):
        raise serializers.ValidationError({"service": [_("Unknown service.")]})
    chosen = [found[int(s)] for s in raw_services]
    staff = None
    staff_id = _int_param(request, "staff")
    if staff_id is not None:
        staff = StaffMember.objects.filter(pk=staff_id).first()
        if staff is None:
            raise serializers.ValidationError({"staff": [_("Unknown staff member.")]})
    days = _int_param(request, "days") or 1
    if days > MAX_AVAILABILITY_DAYS:
        raise serializers.ValidationError({"days": [_("At most %(n)s days.") % {"n": MAX_AVAILABILITY_DAYS}]})
    return {
        "location": location,
        "services": chosen,
        "start_date": day,
        "end_date": day + timedelta(days=days - 1),
        "staff": staff,
    }


_AVAILABILITY_PARAMETERS = [
    OpenApiParameter("location", int, required=True),
    OpenApiParameter("service", int, required=True, many=True),
    OpenApiParameter("date", OpenApiTypes.DATE, required=True, description="Local date, YYYY-MM-DD"),
    OpenApiParameter("staff", int),
    OpenApiParameter("days", int),
]


class AvailabilityApi(AppointmentsApiView):
    """Free starts: `service` may repeat (services done one after another by the same
    stylist); `days` (default 1, at most 31) counts from `date`. One row per stylist and start;
    /availability/times/ answers the same grouped by start."""

    @extend_schema(parameters=_AVAILABILITY_PARAMETERS, responses=AvailabilitySlotOutput(many=True))
    def get(self, request):
        return Response(slots_as_json(services.availability_find(**_availability_args(request))))


class AvailabilityTimesApi(AppointmentsApiView):
    """The same search as /availability/, one row per free start with every stylist free at it
    (`staff`: their ids, in the calendar's order): what a booking page for any stylist shows
    first. 80 stylists over 28 days are about 1,200 rows instead of 79,000."""

    @extend_schema(parameters=_AVAILABILITY_PARAMETERS, responses=AvailabilityTimeOutput(many=True))
    def get(self, request):
        times = services.availability_times(**_availability_args(request))
        return Response(
            [{"start": t.start.isoformat(), "end": t.end.isoformat(), "staff": t.staff} for t in times]
        )


# ---- appointments -----------------------------------------------------------------------------


class AppointmentListCreateApi(AppointmentsApiView):
    @extend_schema(
        parameters=[
            OpenApiParameter("location", int, required=True),
            OpenApiParameter("date", OpenApiTypes.DATE, required=True, description="Local date, YYYY-MM-DD"),
        ],
        responses=AppointmentOutput(many=True),
    )
    def get(self, request):
        location = _location_param(request)
        day = _date_param(request)
        return Response(
            AppointmentOutput(selectors.appointments_for_day(location=location, date=day), many=True).data
        )

    @extend_schema(
        request=AppointmentBookInput,
        responses={
            201: AppointmentOutput,
            400: OpenApiResponse(
                FIELD_ERRORS,
                description='Field errors, or safety warnings: {"code": "safety_warnings", "warnings": '
                '[{"code", "message", "service"}]} (book again with an `override_reason`)',
            ),
            409: OpenApiResponse(
                ApiConflictOutput, description='{"code": "slot_taken", "detail", "staff", "start", "end"}'
            ),
        },
    )
    def post(self, request):
        data = AppointmentBookInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        require_location(request.user, v["location"])
        appointment = services.appointment_book(
            customer=v["customer"],
            location=v["location"],
            items=[
                services.BookingItem(service=i["service"], staff=i["staff"], start=i.get("start"))
                for i in v["items"]
            ],
            source=v["source"],
            booked_by=request.user,
            notes=v["notes"],
            override_reason=v["override_reason"],
            record_past=v["record_past"],
        )
        return Response(_appointment_out(appointment.pk), status=status.HTTP_201_CREATED)


class AppointmentDetailApi(AppointmentsApiView):
    @extend_schema(responses=AppointmentOutput)
    def get(self, request, pk: int):
        selectors.appointment_get_for_user(user=request.user, pk=pk)
        return Response(_appointment_out(pk))


class _TransitionApi(AppointmentsApiView):
    """POST /appointments/{id}/<action>/ → the appointment after the change."""

    input_class: type[serializers.Serializer] | None = None

    def act(self, appointment: Appointment, user, data: dict) -> None:
        raise NotImplementedError

    def post(self, request, pk: int):
        appointment = selectors.appointment_get_for_user(user=request.user, pk=pk)
        data = {}
        if self.input_class is not None:
            form = self.input_class(data=request.data)
            form.is_valid(raise_exception=True)
            data = form.validated_data
        self.act(appointment, request.user, data)
        return Response(_appointment_out(pk))


class AppointmentConfirmApi(_TransitionApi):
    @extend_schema(request=None, responses=AppointmentOutput)
    def post(self, request, pk: int):
        return super().post(request, pk)

    def act(self, appointment, user, data):
        services.appointment_confirm(appointment=appointment, by=user)


class AppointmentCheckInApi(_TransitionApi):
    input_class = AppointmentCheckInInput

    @extend_schema(request=AppointmentCheckInInput, responses=AppointmentOutput)
    def post(self, request, pk: int):
        return super().post(request, pk)

    def act(self, appointment, user, data):
        services.appointment_check_in(
            appointment=appointment, by=user, override_reason=data["override_reason"]
        )


class AppointmentStartApi(_TransitionApi):
    input_class = AppointmentStartInput

    @extend_schema(
        request=AppointmentStartInput,
        responses={
            200: AppointmentOutput,
            400: OpenApiResponse(
                FIELD_ERRORS,
                description='Field errors (another day), or safety warnings: {"code": "safety_warnings", '
                '"warnings": [...]} (start again with an `override_reason`)',
            ),
        },
    )
    def post(self, request, pk: int):
        return super().post(request, pk)

    def act(self, appointment, user, data):
        services.appointment_start(appointment=appointment, by=user, override_reason=data["override_reason"])


class AppointmentCancelApi(_TransitionApi):
    input_class = AppointmentCancelInput

    @extend_schema(request=AppointmentCancelInput, responses=AppointmentOutput)
    def post(self, request, pk: int):
        return super().post(request, pk)

    def act(self, appointment, user, data):
        services.appointment_cancel(appointment=appointment, by=user, reason=data["reason"])


class AppointmentNoShowApi(_TransitionApi):
    @extend_schema(request=None, responses=AppointmentOutput)
    def post(self, request, pk: int):
        return super().post(request, pk)

    def act(self, appointment, user, data):
        services.appointment_no_show(appointment=appointment, by=user)


class AppointmentMoveApi(_TransitionApi):
    input_class = AppointmentMoveInput

    @extend_schema(request=AppointmentMoveInput, responses=AppointmentOutput)
    def post(self, request, pk: int):
        return super().post(request, pk)

    def act(self, appointment, user, data):
        services.appointment_move(
            appointment=appointment, new_start=data["start"], by=user, staff=data.get("staff")
        )


# ---- visits -----------------------------------------------------------------------------------


class VisitCheckoutApi(AppointmentsApiView):
    """Check out: lines default to the appointment's items; payments must add up to the total."""

    @extend_schema(request=VisitCheckoutInput, responses={201: VisitOutput})
    def post(self, request):
        data = VisitCheckoutInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        require_location(request.user, v["location"])
        appointment = None
        if v.get("appointment") is not None:
            appointment = Appointment.objects.filter(pk=v["appointment"], location=v["location"]).first()
            if appointment is None:
                raise serializers.ValidationError(
                    {"appointment": [_("Unknown appointment at this location.")]}
                )
        lines = None
        if v.get("lines") is not None:
            lines = [services.CheckoutLine(**line) for line in v["lines"]]
        visit = services.visit_checkout(
            location=v["location"],
            customer=v["customer"],
            by=request.user,
            appointment=appointment,
            lines=lines,
            discount=v["discount"],
            payments=[services.PaymentIn(**p) for p in v["payments"]],
            override_reason=v["override_reason"],
            price_reason=v["price_reason"],
        )
        # The visit as saved: its lines and payments come back with it, nothing to read again.
        return Response(VisitOutput(visit).data, status=status.HTTP_201_CREATED)


class VisitDetailApi(AppointmentsApiView):
    @extend_schema(responses=VisitOutput)
    def get(self, request, pk: int):
        return Response(VisitOutput(selectors.visit_get_for_user(user=request.user, pk=pk)).data)


class VisitVoidApi(AppointmentsApiView):
    @extend_schema(request=VisitVoidInput, responses=VisitOutput)
    def post(self, request, pk: int):
        visit = selectors.visit_get_for_user(user=request.user, pk=pk)
        data = VisitVoidInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.visit_void(visit=visit, by=request.user, reason=data.validated_data["reason"])
        return Response(VisitOutput(selectors.visit_get(pk=pk)).data)


# ---- waitlist ---------------------------------------------------------------------------------


class WaitlistApi(AppointmentsApiView):
    @extend_schema(
        parameters=[
            OpenApiParameter("location", int, required=True),
            OpenApiParameter("date", OpenApiTypes.DATE, required=True, description="Local date, YYYY-MM-DD"),
        ],
        responses=WaitlistEntryOutput(many=True),
    )
    def get(self, request):
        location = _location_param(request)
        day = _date_param(request)
        qs = (
            WaitlistEntry.objects.filter(location=location, date=day)
            .select_related("customer")
            .order_by("created_at")
        )
        return Response(WaitlistEntryOutput(qs, many=True).data)

    @extend_schema(request=WaitlistEntryInput, responses={201: WaitlistEntryOutput})
    def post(self, request):
        data = WaitlistEntryInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        require_location(request.user, v["location"])
        entry = services.waitlist_add(by=request.user, **v)
        return Response(WaitlistEntryOutput(entry).data, status=status.HTTP_201_CREATED)


class WaitlistMatchesApi(AppointmentsApiView):
    """Waiting entries of the day that now have a free slot."""

    @extend_schema(
        parameters=[
            OpenApiParameter("location", int, required=True),
            OpenApiParameter("date", OpenApiTypes.DATE, required=True, description="Local date, YYYY-MM-DD"),
        ],
        responses=WaitlistMatchOutput(many=True),
    )
    def get(self, request):
        location = _location_param(request)
        day = _date_param(request)
        matches = services.waitlist_matches(location=location, date=day)
        return Response(
            [
                {
                    "entry": WaitlistEntryOutput(entry).data,
                    "slots": slots_as_json(slots),
                }
                for entry, slots in matches
            ]
        )


class WaitlistStatusApi(AppointmentsApiView):
    @extend_schema(request=WaitlistStatusInput, responses=WaitlistEntryOutput)
    def post(self, request, pk: int):
        entry = selectors.waitlist_entry_get_for_user(user=request.user, pk=pk)
        data = WaitlistStatusInput(data=request.data)
        data.is_valid(raise_exception=True)
        entry = services.waitlist_set_status(
            entry=entry, status=data.validated_data["status"], by=request.user
        )
        return Response(WaitlistEntryOutput(entry).data)
