"""Loyalty over the API (/api/v1/): a client's balances and history, a manager's points
adjustment and stored-value refund. The same services and rules as the pages; top-ups and
payments by points or stored value go through checkout (POST /api/v1/visits/: a line of kind
"topup", payments of method "points" or "stored_value")."""

from decimal import Decimal

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import staff_of
from customers.selectors import customer_get
from loyalty import cards, selectors, services, tiers
from loyalty.models import LoyaltySettings
from loyalty.serializers import (
    CouponIssueInput,
    CouponOutput,
    GiftCardOutput,
    LoyaltyOutput,
    PointsAdjustInput,
    StoredValueRefundInput,
)

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
    progress = tiers.progress(customer)
    tier = progress.tier
    return {
        "customer": customer.pk,
        "tier": {
            "name": tier.name,
            "rank": tier.rank,
            "discount_percent": tier.discount_percent,
            "points_multiplier": tier.points_multiplier,
            "since": account.tier_since if account else None,
        }
        if tier
        else None,
        "tier_progress": {
            "spend_12m": progress.spend,
            "visits_12m": progress.visits,
            "next_tier": progress.next_tier.name if progress.next_tier else None,
            "spend_needed": progress.spend_needed,
            "visits_needed": progress.visits_needed,
        },
        "points": points,
        "points_value": (Decimal(points) / per_unit).quantize(Decimal("0.01")),
        "points_expiring": [{"points": lot.remaining, "expires_on": lot.expires_on} for lot in lots],
        "stored_value": {"principal": principal, "bonus": bonus, "total": principal + bonus},
        "packages": [
            {
                "id": p.pk,
                "name": p.name,
                "sessions_left": p.sessions_left,
                "sessions_total": p.sessions_total,
                "expires_on": p.expires_on,
                "services": sorted(s.pk for s in p.plan.services.all()),
            }
            for p in (selectors.active_packages(customer) if account else [])
        ],
        "coupons": [
            {
                "code": c.code,
                "kind": c.kind,
                "value": c.value,
                "min_spend": c.min_spend,
                "service": c.service_id,
                "category": c.category_id,
                "valid_from": c.valid_from,
                "valid_until": c.valid_until,
                "status": c.status,
            }
            for c in selectors.open_coupons(customer)
        ],
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


class CouponIssueApi(APIView):
    """A manager gives the client a single-use coupon; answers the coupon (its code)."""

    @extend_schema(request=CouponIssueInput, responses={201: CouponOutput})
    def post(self, request, pk: int):
        _require(request, "loyalty.adjust_ledger")
        customer = customer_get(pk=pk)
        data = CouponIssueInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        service_id = values.pop("service")
        service = None
        if service_id is not None:
            from appointments.models import Service

            service = Service.objects.filter(pk=service_id).first()
            if service is None:
                raise serializers.ValidationError({"service": ["No such service."]})
        coupon = cards.coupon_issue(
            customer=customer, kind="manual", by=request.user, service=service, **values
        )
        body = CouponOutput(
            {
                "code": coupon.code,
                "kind": coupon.kind,
                "value": coupon.value,
                "min_spend": coupon.min_spend,
                "service": coupon.service_id,
                "category": coupon.category_id,
                "valid_from": coupon.valid_from,
                "valid_until": coupon.valid_until,
                "status": coupon.status,
            }
        ).data
        return Response(body, status=status.HTTP_201_CREATED)


class GiftCardApi(APIView):
    """A gift card's balance by its code (anyone holding it may pay with it): the desk checks
    it before taking it as payment."""

    @extend_schema(responses=GiftCardOutput)
    def get(self, request, code: str):
        _require(request, "loyalty.use_loyalty")
        card = cards.gift_card_lookup(code)
        if card is None:
            raise NotFound()
        return Response(
            GiftCardOutput(
                {
                    "code": card.code,
                    "value": card.initial,
                    "balance": card.balance,
                    "expires_on": card.expires_on,
                }
            ).data
        )
