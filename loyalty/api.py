"""Loyalty over the API (/api/v1/): a client's balances and history, a manager's points
adjustment and stored-value refund. The same services and rules as the pages; top-ups and
payments by points or stored value go through checkout (POST /api/v1/visits/: a line of kind
"topup", payments of method "points" or "stored_value")."""

from decimal import Decimal

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import staff_of
from customers.selectors import customer_get
from loyalty import selectors, services
from loyalty.models import LoyaltySettings
from loyalty.serializers import LoyaltyOutput, PointsAdjustInput, StoredValueRefundInput

ZERO = Decimal("0")


def _require(request, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied()


def _location(request):
    staff = staff_of(request.user)
    return staff.locations.order_by("pk").first() if staff else None


def loyalty_data(customer) -> dict:
    account = selectors.account_of(customer)
    points = account.points if account else 0
    principal = account.principal if account else ZERO
    bonus = account.bonus if account else ZERO
    lots = account.points_entries.filter(remaining__gt=0).order_by("expires_on", "pk")[:5] if account else []
    per_unit = LoyaltySettings.current().points_per_currency_unit
    return {
        "customer": customer.pk,
        "points": points,
        "points_value": (Decimal(points) / per_unit).quantize(Decimal("0.01")),
        "points_expiring": [{"points": lot.remaining, "expires_on": lot.expires_on} for lot in lots],
        "stored_value": {"principal": principal, "bonus": bonus, "total": principal + bonus},
        "history": [
            {
                "at": row.at,
                "ledger": row.ledger,
                "kind": row.kind,
                "change": row.change,
                "reason": row.reason,
                "visit_id": row.visit_id,
            }
            for row in (selectors.ledger_history(account) if account else [])
        ],
    }


class CustomerLoyaltyApi(APIView):
    """A client's points (with what expires first), stored value (principal and bonus apart)
    and the latest ledger rows. Front desk, managers and owners."""

    @extend_schema(responses=LoyaltyOutput)
    def get(self, request, pk: int):
        _require(request, "loyalty.use_loyalty")
        return Response(LoyaltyOutput(loyalty_data(customer_get(pk=pk))).data)


class PointsAdjustApi(APIView):
    """A manager's points adjustment (+ or -) with a reason; answers the balances after it."""

    @extend_schema(request=PointsAdjustInput, responses={201: LoyaltyOutput})
    def post(self, request, pk: int):
        _require(request, "loyalty.adjust_ledger")
        customer = customer_get(pk=pk)
        data = PointsAdjustInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.points_adjust(
            customer=customer, by=request.user, location=_location(request), **data.validated_data
        )
        return Response(LoyaltyOutput(loyalty_data(customer)).data, status=status.HTTP_201_CREATED)


class StoredValueRefundApi(APIView):
    """A manager pays principal back (the bonus is forfeited in proportion); answers the
    balances after it."""

    @extend_schema(request=StoredValueRefundInput, responses={201: LoyaltyOutput})
    def post(self, request, pk: int):
        _require(request, "loyalty.adjust_ledger")
        customer = customer_get(pk=pk)
        data = StoredValueRefundInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.stored_value_refund(
            customer=customer, by=request.user, location=_location(request), **data.validated_data
        )
        return Response(LoyaltyOutput(loyalty_data(customer)).data, status=status.HTTP_201_CREATED)
