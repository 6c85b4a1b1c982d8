from django.contrib.auth import authenticate
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import otp
from accounts.access import locations_for, role_of, staff_of
from accounts.models import Location, StaffMember
from accounts.services import api_token_for
from salon_crm.ratelimit import public_rate_limit


class LocationOutput(serializers.ModelSerializer):
    class Meta:
        model = Location
        fields = ["id", "code", "name", "address", "phone", "time_zone"]


class StaffOutput(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")
    locations = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = StaffMember
        fields = ["id", "username", "display_name", "role", "locations", "is_bookable", "calendar_colour"]


@method_decorator(public_rate_limit("api_token"), name="dispatch")
class TokenApi(APIView):
    """Exchange a username and password for an API token (`Authorization: Token <t>`).

    Roles that log in with two factors (OTP_REQUIRED_ROLES: owners and managers) also send
    `otp`, a current code from their authenticator app or a backup code, so a token never
    carries less than a verified session; they enrol their phone at their first web login.
    Posts are rate limited per client address (429)."""

    permission_classes = [AllowAny]
    authentication_classes = []

    class TokenInput(serializers.Serializer):
        username = serializers.CharField()
        password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
        otp = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=32,
            help_text="Owners and managers: the code from the authenticator app, or a backup code.",
        )

    class TokenOutput(serializers.Serializer):
        token = serializers.CharField()

    class ErrorOutput(serializers.Serializer):
        code = serializers.CharField()
        detail = serializers.CharField()

    @extend_schema(
        request=TokenInput,
        responses={200: TokenOutput, 403: ErrorOutput, 429: ErrorOutput},
        auth=[],
    )
    def post(self, request):
        data = self.TokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        code = data.validated_data.pop("otp", "")
        # django-axes counts failures and raises PermissionDenied (403) once locked out.
        user = authenticate(request._request, **data.validated_data)
        if user is None or not user.is_active:
            raise serializers.ValidationError({"non_field_errors": [_("Wrong username or password.")]})
        if otp.otp_required(user):
            if otp.confirmed_phone(user) is None:
                detail = _("Set up two-factor login at your first web login, then ask for a token.")
                return Response({"code": "otp_enrolment_required", "detail": detail}, status=403)
            if not code or otp.otp_check(user=user, code=code) is None:
                raise serializers.ValidationError(
                    {"otp": [_("Enter the current code from your authenticator app.")]}
                )
        return Response(self.TokenOutput({"token": api_token_for(user=user).key}).data)


class MeApi(APIView):
    class MeOutput(serializers.Serializer):
        id = serializers.IntegerField()
        username = serializers.CharField()
        display_name = serializers.CharField(allow_null=True)
        role = serializers.CharField(allow_null=True)
        locations = LocationOutput(many=True)
        permissions = serializers.ListField(child=serializers.CharField())

    @extend_schema(responses=MeOutput)
    def get(self, request):
        user = request.user
        staff = staff_of(user)
        payload = {
            "id": user.pk,
            "username": user.get_username(),
            "display_name": staff.display_name if staff else None,
            "role": role_of(user),
            "locations": list(locations_for(user)),
            "permissions": sorted(user.get_all_permissions()),
        }
        return Response(self.MeOutput(payload).data)


class LocationListApi(APIView):
    @extend_schema(responses=LocationOutput(many=True))
    def get(self, request):
        return Response(LocationOutput(locations_for(request.user), many=True).data)


class StaffListApi(APIView):
    """Active staff at the locations the user may act at; `?location=` narrows to one,
    `?bookable=1` to those clients can book."""

    @extend_schema(
        parameters=[
            OpenApiParameter("location", int, description="Location id"),
            OpenApiParameter("bookable", bool, description="Only staff clients can book"),
        ],
        responses=StaffOutput(many=True),
    )
    def get(self, request):
        allowed = locations_for(request.user)
        qs = StaffMember.objects.active().filter(locations__in=allowed)
        location = request.query_params.get("location")
        if location:
            if not location.isdigit():
                raise serializers.ValidationError({"location": [_("A location id is a number.")]})
            qs = qs.filter(locations=int(location))
        if request.query_params.get("bookable") in ("1", "true", "True"):
            qs = qs.filter(is_bookable=True)
        qs = qs.distinct().select_related("user").prefetch_related("locations").order_by("display_name")
        return Response(StaffOutput(qs, many=True).data)
