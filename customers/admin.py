"""Admin for client files. Health fields are never in list views (they would show every
client's allergies on one screen) and are only on the change form."""

from django.contrib import admin
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from customers.models import (
    AccessLog,
    ColourFormula,
    ConsentRecord,
    Customer,
    FormulaShade,
    MergeRecord,
    PatchTest,
    SafetyOverride,
    Tag,
)
from customers.safety import safety_override_messages


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "colour"]
    search_fields = ["name"]


class ConsentInline(admin.TabularInline):
    model = ConsentRecord
    extra = 0
    readonly_fields = ["channel", "granted", "method", "recorded_by", "recorded_at", "note"]
    can_delete = False


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    # Writes go through the services (phone normalisation, search columns, health rule):
    # the admin is for looking things up and fixing tags, so the profile is read-only here.
    list_display = ["name", "phone", "preferred_staff", "home_location", "created_at", "erased_at"]
    list_filter = ["source", "home_location", "do_not_contact", "tags"]
    search_fields = ["name", "name_pinyin", "email", "external_id"]
    list_select_related = ["preferred_staff", "home_location"]
    readonly_fields = [f.name for f in Customer._meta.concrete_fields if f.name not in ("id",)]
    filter_horizontal = ["tags"]
    inlines = [ConsentInline]
    show_full_result_count = False  # a million rows: no COUNT(*) on every page

    def has_add_permission(self, request) -> bool:
        return False


class ShadeInline(admin.TabularInline):
    model = FormulaShade
    extra = 0


@admin.register(ColourFormula)
class ColourFormulaAdmin(admin.ModelAdmin):
    list_display = ["customer", "brand", "line", "version", "stylist", "created_at"]
    list_filter = ["brand"]
    search_fields = ["brand", "line", "shades__shade"]
    list_select_related = ["customer", "stylist"]
    raw_id_fields = ["customer", "supersedes"]
    inlines = [ShadeInline]


@admin.register(PatchTest)
class PatchTestAdmin(admin.ModelAdmin):
    list_display = ["customer", "product", "tested_on", "result", "valid_until"]
    list_filter = ["result"]
    list_select_related = ["customer"]
    raw_id_fields = ["customer"]


@admin.register(ConsentRecord)
class ConsentRecordAdmin(admin.ModelAdmin):
    list_display = ["customer", "channel", "granted", "method", "recorded_by", "recorded_at"]
    list_filter = ["channel", "granted"]
    list_select_related = ["customer", "recorded_by"]
    raw_id_fields = ["customer"]


@admin.register(SafetyOverride)
class SafetyOverrideAdmin(admin.ModelAdmin):
    """Read-only: a record of going ahead. The warnings are shown rebuilt from their codes
    (customers.safety.safety_override_messages); the row never held their health text."""

    list_display = ["customer", "context", "user", "created_at"]
    list_select_related = ["customer", "user"]
    fields = ["customer", "context", "warnings_shown", "reason", "user", "created_at"]
    readonly_fields = fields

    @admin.display(description=_("warnings"))
    def warnings_shown(self, obj: SafetyOverride) -> str:
        return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in safety_override_messages(obj)))

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AccessLog)
class AccessLogAdmin(admin.ModelAdmin):
    """Read-only: an access log that can be edited proves nothing."""

    list_display = ["at", "user", "action", "customer", "ip_address", "detail"]
    list_filter = ["action"]
    list_select_related = ["user", "customer"]
    date_hierarchy = "at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(MergeRecord)
class MergeRecordAdmin(admin.ModelAdmin):
    list_display = ["kept", "merged_pk", "merged_name", "merged_by", "merged_at"]
    list_select_related = ["kept", "merged_by"]
    readonly_fields = ["kept", "merged_name", "merged_pk", "moved", "merged_by", "merged_at"]
