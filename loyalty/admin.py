"""Loyalty in the admin: the settings and top-up rules are editable; the ledgers are read-only
(every change goes through loyalty.services, which keeps balance and rows together)."""

from django.contrib import admin

from loyalty.models import (
    Coupon,
    CustomerPackage,
    Deposit,
    DepositEntry,
    DepositPolicy,
    FeeCharge,
    GiftCard,
    GiftCardEntry,
    LoyaltyAccount,
    LoyaltySettings,
    MembershipTier,
    PackageEntry,
    PackagePlan,
    PointsEntry,
    StoredValueEntry,
    TierChange,
    TopUpRule,
)


@admin.register(LoyaltySettings)
class LoyaltySettingsAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "points_per_unit",
        "points_per_currency_unit",
        "points_expiry_months",
        "updated_at",
    ]
    readonly_fields = ["updated_at", "updated_by"]

    def has_add_permission(self, request):
        return not LoyaltySettings.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TopUpRule)
class TopUpRuleAdmin(admin.ModelAdmin):
    list_display = ["pay_at_least", "bonus", "active"]
    list_editable = ["bonus", "active"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LoyaltyAccount)
class LoyaltyAccountAdmin(ReadOnlyAdmin):
    list_display = ["customer", "points", "principal", "bonus", "updated_at"]
    search_fields = ["customer__name", "customer__phone"]
    list_select_related = ["customer"]
    raw_id_fields = ["customer"]


@admin.register(PointsEntry)
class PointsEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "account", "kind", "points", "remaining", "expires_on", "visit", "reason"]
    list_filter = ["kind"]
    list_select_related = ["account__customer"]
    raw_id_fields = ["account", "visit", "payment"]


@admin.register(StoredValueEntry)
class StoredValueEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "account", "kind", "principal", "bonus", "visit", "reason"]
    list_filter = ["kind"]
    list_select_related = ["account__customer"]
    raw_id_fields = ["account", "visit", "visit_line", "payment"]


@admin.register(PackagePlan)
class PackagePlanAdmin(admin.ModelAdmin):
    list_display = ["name", "sessions", "price", "validity_days", "active"]
    list_filter = ["active"]
    filter_horizontal = ["services"]


@admin.register(CustomerPackage)
class CustomerPackageAdmin(ReadOnlyAdmin):
    list_display = ["name", "account", "sessions_left", "sessions_total", "price", "expires_on", "status"]
    list_filter = ["status"]
    list_select_related = ["account__customer"]
    raw_id_fields = ["account", "plan", "visit_line"]


@admin.register(PackageEntry)
class PackageEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "package", "kind", "sessions", "value", "visit"]
    list_filter = ["kind"]
    raw_id_fields = ["package", "visit", "payment"]


@admin.register(GiftCard)
class GiftCardAdmin(ReadOnlyAdmin):
    list_display = ["code", "initial", "balance", "expires_on", "voided", "created_at"]
    search_fields = ["code"]
    raw_id_fields = ["buyer", "visit_line"]


@admin.register(GiftCardEntry)
class GiftCardEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "card", "kind", "amount", "visit"]
    raw_id_fields = ["card", "visit", "payment"]


@admin.register(Coupon)
class CouponAdmin(ReadOnlyAdmin):
    list_display = ["code", "kind", "customer", "value", "min_spend", "valid_from", "valid_until", "status"]
    list_filter = ["kind", "status"]
    search_fields = ["code", "customer__name"]
    raw_id_fields = ["customer", "service", "category", "used_visit", "used_payment"]


@admin.register(MembershipTier)
class MembershipTierAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "rank",
        "min_spend",
        "min_visits",
        "requires_both",
        "discount_percent",
        "points_multiplier",
        "active",
    ]


@admin.register(TierChange)
class TierChangeAdmin(ReadOnlyAdmin):
    list_display = ["at", "account", "from_tier", "to_tier", "reason", "spend", "visits"]
    list_filter = ["reason"]
    raw_id_fields = ["account", "visit"]


@admin.register(DepositPolicy)
class DepositPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "location",
        "service",
        "kind",
        "amount",
        "new_clients_only",
        "online_only",
        "min_minutes",
        "active",
    ]
    list_filter = ["active", "kind"]


@admin.register(Deposit)
class DepositAdmin(ReadOnlyAdmin):
    list_display = ["appointment", "customer", "amount", "held", "status", "method", "taken_at"]
    list_filter = ["status"]
    raw_id_fields = ["appointment", "customer"]


@admin.register(DepositEntry)
class DepositEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "deposit", "kind", "amount"]
    raw_id_fields = ["deposit", "visit", "payment"]


@admin.register(FeeCharge)
class FeeChargeAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "customer", "kind", "amount", "status"]
    list_filter = ["kind", "status"]
    raw_id_fields = ["customer", "appointment", "visit_line"]
