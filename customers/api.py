"""Client files over the API (/api/v1/). Same services and role rules as the pages: phones
masked for stylists, health fields only for roles with customers.view_health, health writes
only per customers.privacy.can_write_health. A duplicate phone is a 400 on `phone` (like any
other invalid field; the message names the existing client), not a 409: the request is
correctable input, and forms and API report it the same way."""

from decimal import Decimal

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import staff_of
from accounts.models import Location, StaffMember
from customers import selectors, services
from customers.models import AccessLog, ColourFormula, ConsentChannel, Customer, PatchTest
from customers.privacy import (
    can_read_health,
    can_see_full_phone,
    can_write_health,
    display_phone,
    phone_display_for,
)
from customers.search import SearchRow, customer_search_rows
from customers.services.profiles import MAX_TAGS
from salon_crm.pagination import Pagination
from salon_crm.validators import validate_single_line_text


def _require(request, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied()


class CustomerListOutput(serializers.ModelSerializer):
    phone = serializers.SerializerMethodField()
    tags = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)

    class Meta:
        model = Customer
        fields = ["id", "name", "phone", "email", "tags", "preferred_staff", "created_at"]

    def get_phone(self, obj) -> str:
        return display_phone(self.context["request"].user, obj.phone)


_CREATED_AT = serializers.DateTimeField()  # the same representation as CustomerListOutput's


def search_results_data(user, rows: list[SearchRow]) -> list[dict]:
    """CustomerListOutput's fields for search rows, without a Customer or a serializer per row
    (search as you type: p95 ≤ 10 ms): the phone permission is decided once per request."""
    phone = phone_display_for(user)
    return [
        {
            "id": row.id,
            "name": row.name,
            "phone": phone(row.phone),
            "email": row.email,
            "tags": row.tags,
            "preferred_staff": row.preferred_staff_id,
            "created_at": _CREATED_AT.to_representation(row.created_at),
        }
        for row in rows
    ]


class CustomerDetailOutput(CustomerListOutput):
    """`allergies`, `contraindications`, `medical_notes` are present only for roles that may
    read health; `phone` is masked (138****5678) for roles without view_full_phone."""

    phone_masked = serializers.SerializerMethodField()

    class Meta:
        model = Customer
        # The services' editable profile fields (customers.services.EDITABLE_FIELDS), then
        # what the API shows but never takes in.
        fields = [
            "id",
            *services.EDITABLE_FIELDS,
            "phone_masked",
            "tags",
            "consent_sms",
            "consent_email",
            "consent_wechat",
            "do_not_contact",
            "external_id",
            "created_at",
            "updated_at",
            "erased_at",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and not can_read_health(request.user):
            for field in services.HEALTH_FIELDS:
                self.fields.pop(field)

    def get_phone_masked(self, obj) -> bool:
        return bool(obj.phone) and not can_see_full_phone(self.context["request"].user)


class CustomerWriteInput(serializers.ModelSerializer):
    """The editable profile fields (customers.services.EDITABLE_FIELDS) and `tags`. Every field
    optional on PATCH; `name` required on POST. `tags` are tag names (an unknown name is
    created only for users with customers.add_tag, a 400 on `tags` otherwise); `preferred_staff`
    a staff id, `home_location` a location id; `phone` anything phonenumbers parses (default
    region from settings), stored as E.164."""

    phone = serializers.CharField(
        max_length=32, required=False, allow_blank=True, validators=[validate_single_line_text]
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=40, validators=[validate_single_line_text]),
        max_length=MAX_TAGS,
        required=False,
    )
    preferred_staff = serializers.PrimaryKeyRelatedField(
        queryset=StaffMember.objects.filter(is_active=True), required=False, allow_null=True
    )
    home_location = serializers.PrimaryKeyRelatedField(
        queryset=Location.objects.filter(is_active=True), required=False, allow_null=True
    )

    class Meta:
        model = Customer
        fields = [*services.EDITABLE_FIELDS, "tags"]


def _detail(request, customer: Customer) -> dict:
    customer = selectors.customer_get(pk=customer.pk)  # fresh, with tags and relations
    return CustomerDetailOutput(customer, context={"request": request}).data


class CustomerListApi(APIView):
    """GET: `?q=` searches (name, pinyin, initials, phone fragment, email; best first, at most
    `limit`); without q, all clients newest first, paginated. POST: create a client."""

    class CustomerListPagination(Pagination):
        pass

    pagination_class = CustomerListPagination  # also tells the OpenAPI schema the answer is a page

    @extend_schema(
        parameters=[OpenApiParameter("q", str, description="search text"), OpenApiParameter("limit", int)],
        responses=CustomerListOutput(many=True),
    )
    def get(self, request):
        _require(request, "customers.view_customer")
        q = (request.query_params.get("q") or "").strip()
        paginator = self.CustomerListPagination()
        if q:
            limit = min(max(_int(request.query_params.get("limit"), 20), 1), 100)
            data = search_results_data(request.user, customer_search_rows(q=q, limit=limit))
            return Response({"count": len(data), "next": None, "previous": None, "results": data})
        page = paginator.paginate_queryset(selectors.customer_list_newest(), request, view=self)
        return paginator.get_paginated_response(
            CustomerListOutput(page, many=True, context={"request": request}).data
        )

    @extend_schema(request=CustomerWriteInput, responses={201: CustomerDetailOutput})
    def post(self, request):
        _require(request, "customers.add_customer")
        data = CustomerWriteInput(data=request.data)
        data.is_valid(raise_exception=True)
        customer = services.customer_create(user=request.user, **data.validated_data)
        return Response(_detail(request, customer), status=status.HTTP_201_CREATED)


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


class CustomerDetailApi(APIView):
    """GET: the full client file (logged in the access log). PATCH: change some fields."""

    @extend_schema(responses=CustomerDetailOutput)
    def get(self, request, pk: int):
        _require(request, "customers.view_customer")
        customer = selectors.customer_get(pk=pk)
        services.access_log_record(
            user=request.user,
            customer=customer,
            action=AccessLog.Action.API_VIEW,
            detail="api detail",
            ip=services.client_ip(request),
        )
        return Response(CustomerDetailOutput(customer, context={"request": request}).data)

    @extend_schema(request=CustomerWriteInput, responses=CustomerDetailOutput)
    def patch(self, request, pk: int):
        """Needs change_customer; a stylist (change_health only) may change the hair, skin and
        health fields of their own clients."""
        customer = selectors.customer_get(pk=pk)
        data = CustomerWriteInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        if not request.user.has_perm("customers.change_customer"):
            _require(request, "customers.change_health")
            if not set(data.validated_data) <= set(services.HEALTH_CARD_FIELDS):
                raise PermissionDenied()
            if not can_write_health(request.user, customer):
                raise PermissionDenied()
        services.customer_update(user=request.user, customer=customer, data=data.validated_data)
        return Response(_detail(request, customer))


class ShadeIO(serializers.Serializer):
    shade = serializers.CharField(max_length=30, validators=[validate_single_line_text])
    grams = serializers.DecimalField(max_digits=6, decimal_places=1, min_value=Decimal("0.1"))


class FormulaOutput(serializers.ModelSerializer):
    shades = ShadeIO(many=True, read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    locked = serializers.SerializerMethodField()

    class Meta:
        model = ColourFormula
        fields = [
            "id",
            "customer",
            "customer_name",
            "stylist",
            "brand",
            "line",
            "developer",
            "mix_ratio",
            "zones",
            "processing_minutes",
            "result_notes",
            "shades",
            "version",
            "supersedes",
            "locked",
            "created_at",
        ]

    def get_locked(self, obj) -> bool:
        return obj.is_locked()


class FormulaCreateInput(serializers.Serializer):
    stylist = serializers.PrimaryKeyRelatedField(
        queryset=StaffMember.objects.filter(is_active=True),
        required=False,
        help_text="defaults to the caller",
    )
    brand = serializers.CharField(max_length=60)
    line = serializers.CharField(max_length=60, required=False, allow_blank=True)
    developer = serializers.CharField(max_length=30, required=False, allow_blank=True)
    mix_ratio = serializers.CharField(max_length=20, required=False, allow_blank=True)
    zones = serializers.CharField(max_length=120, required=False, allow_blank=True)
    processing_minutes = serializers.IntegerField(min_value=0, max_value=600, required=False, allow_null=True)
    result_notes = serializers.CharField(required=False, allow_blank=True)
    shades = ShadeIO(many=True, allow_empty=False)


def _health_customer(request, pk: int) -> Customer:
    _require(request, "customers.view_health")
    return selectors.customer_get(pk=pk)


class CustomerFormulaListApi(APIView):
    """A client's colour formulas, newest first (every version); POST records a new one."""

    @extend_schema(responses=FormulaOutput(many=True))
    def get(self, request, pk: int):
        customer = _health_customer(request, pk)
        rows = (
            ColourFormula.objects.filter(customer=customer)
            .select_related("customer")
            .prefetch_related("shades")
        )
        return Response(FormulaOutput(rows.order_by("-created_at", "-pk"), many=True).data)

    @extend_schema(request=FormulaCreateInput, responses={201: FormulaOutput})
    def post(self, request, pk: int):
        customer = _health_customer(request, pk)
        _require(request, "customers.add_colourformula")
        data = FormulaCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        stylist = values.pop("stylist", None) or staff_of(request.user)
        if stylist is None:
            raise serializers.ValidationError({"stylist": [_("Give the stylist's id.")]})
        formula = services.formula_create(customer=customer, user=request.user, stylist=stylist, **values)
        return Response(FormulaOutput(formula).data, status=status.HTTP_201_CREATED)


class FormulaCorrectInput(FormulaCreateInput):
    """Every field optional; `shades`, when given, replaces the list."""

    brand = serializers.CharField(max_length=60, required=False)
    shades = ShadeIO(many=True, allow_empty=False, required=False)


class FormulaCorrectApi(APIView):
    """Correct a formula: within 24 hours of creation it changes in place (200); after that it
    is locked and the correction is a new version that supersedes it (201, the old one kept).
    Only the newest version can be corrected (400)."""

    @extend_schema(request=FormulaCorrectInput, responses={200: FormulaOutput, 201: FormulaOutput})
    def patch(self, request, pk: int):
        _require(request, "customers.view_health")
        _require(request, "customers.add_colourformula")
        formula = get_object_or_404(ColourFormula, pk=pk)
        data = FormulaCorrectInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        saved = services.formula_correct(formula=formula, user=request.user, **data.validated_data)
        code = status.HTTP_200_OK if saved.pk == formula.pk else status.HTTP_201_CREATED
        return Response(FormulaOutput(saved).data, status=code)


class FormulaSearchApi(APIView):
    """Which clients used shade X of brand Y: `?brand=Wella&shade=7/1` (both exact,
    case-insensitive; at least one required)."""

    pagination_class = Pagination  # also tells the OpenAPI schema the answer is a page

    @extend_schema(
        parameters=[OpenApiParameter("brand", str), OpenApiParameter("shade", str)],
        responses=FormulaOutput(many=True),
    )
    def get(self, request):
        _require(request, "customers.view_health")
        brand = (request.query_params.get("brand") or "").strip()
        shade = (request.query_params.get("shade") or "").strip()
        if not brand and not shade:
            raise serializers.ValidationError({"brand": [_("Give a brand, a shade or both.")]})
        paginator = Pagination()
        page = paginator.paginate_queryset(
            selectors.formula_search(brand=brand, shade=shade), request, view=self
        )
        return paginator.get_paginated_response(FormulaOutput(page, many=True).data)


class PatchTestOutput(serializers.ModelSerializer):
    class Meta:
        model = PatchTest
        fields = ["id", "customer", "product", "tested_on", "result", "valid_until", "performed_by", "notes"]


class PatchTestCreateInput(serializers.Serializer):
    product = serializers.CharField(max_length=100)
    tested_on = serializers.DateField()
    result = serializers.ChoiceField(choices=PatchTest.Result.choices, default=PatchTest.Result.PENDING)
    valid_until = serializers.DateField(required=False, allow_null=True)
    notes = serializers.CharField(max_length=200, required=False, allow_blank=True)


class PatchTestResultInput(serializers.Serializer):
    result = serializers.ChoiceField(choices=PatchTest.Result.choices)
    notes = serializers.CharField(max_length=200, required=False)


class PatchTestResultApi(APIView):
    """Enter the result of a patch test (read 48 hours after it was done)."""

    @extend_schema(request=PatchTestResultInput, responses=PatchTestOutput)
    def patch(self, request, pk: int):
        _require(request, "customers.change_patchtest")
        test = get_object_or_404(PatchTest.objects.select_related("customer"), pk=pk)
        data = PatchTestResultInput(data=request.data)
        data.is_valid(raise_exception=True)
        test = services.patch_test_set_result(patch_test=test, user=request.user, **data.validated_data)
        return Response(PatchTestOutput(test).data)


class CustomerPatchTestListApi(APIView):
    @extend_schema(responses=PatchTestOutput(many=True))
    def get(self, request, pk: int):
        customer = _health_customer(request, pk)
        return Response(PatchTestOutput(PatchTest.objects.filter(customer=customer), many=True).data)

    @extend_schema(request=PatchTestCreateInput, responses={201: PatchTestOutput})
    def post(self, request, pk: int):
        customer = _health_customer(request, pk)
        _require(request, "customers.add_patchtest")
        data = PatchTestCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        test = services.patch_test_record(
            customer=customer, user=request.user, performed_by=staff_of(request.user), **data.validated_data
        )
        return Response(PatchTestOutput(test).data, status=status.HTTP_201_CREATED)


class ConsentInput(serializers.Serializer):
    channel = serializers.ChoiceField(choices=ConsentChannel.choices)
    granted = serializers.BooleanField()
    method = serializers.CharField(max_length=32)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


class ConsentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    channel = serializers.CharField()
    granted = serializers.BooleanField()
    method = serializers.CharField()
    recorded_at = serializers.DateTimeField()
    consent_sms = serializers.BooleanField(source="customer.consent_sms")
    consent_email = serializers.BooleanField(source="customer.consent_email")
    consent_wechat = serializers.BooleanField(source="customer.consent_wechat")
    do_not_contact = serializers.BooleanField(source="customer.do_not_contact")


class CustomerConsentApi(APIView):
    """Record a consent decision; answers with the record and the client's flags after it."""

    @extend_schema(request=ConsentInput, responses={201: ConsentOutput})
    def post(self, request, pk: int):
        _require(request, "customers.add_consentrecord")
        customer = get_object_or_404(Customer, pk=pk)
        data = ConsentInput(data=request.data)
        data.is_valid(raise_exception=True)
        record = services.consent_set(customer=customer, user=request.user, **data.validated_data)
        return Response(ConsentOutput(record).data, status=status.HTTP_201_CREATED)
