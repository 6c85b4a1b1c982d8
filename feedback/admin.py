"""feedback in the admin: read-only lists (every change goes through feedback.services, which
keeps the case's timeline, the ledgers and the messages together), scoped to the user's
locations."""

from django.contrib import admin

from accounts.admin import LocationScopedAdmin
from appointments.admin import ReadOnlyAdmin as BaseReadOnlyAdmin
from feedback.models import Complaint, ComplaintAction, FollowUp, Survey


class ReadOnlyAdmin(LocationScopedAdmin, BaseReadOnlyAdmin):
    pass


@admin.register(Survey)
class SurveyAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "customer",
        "location",
        "staff",
        "send_at",
        "answered_at",
        "csat",
        "nps",
        "stylist_rating",
    ]
    list_filter = ["location", "csat"]
    list_select_related = ["customer", "location", "staff"]
    date_hierarchy = "send_at"
    exclude = ["nonce"]
    raw_id_fields = ["visit", "customer", "message"]


class ComplaintActionInline(admin.TabularInline):
    model = ComplaintAction
    extra = 0
    can_delete = False
    fields = ["at", "kind", "by", "status", "note"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Complaint)
class ComplaintAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "customer", "location", "category", "severity", "status", "owner", "due_at"]
    list_filter = ["status", "category", "severity", "location"]
    list_select_related = ["customer", "location", "owner"]
    date_hierarchy = "opened_at"
    raw_id_fields = ["customer", "visit", "survey"]
    inlines = [ComplaintActionInline]


@admin.register(FollowUp)
class FollowUpAdmin(ReadOnlyAdmin):
    list_display = ["pk", "customer", "location", "assignee", "due_on", "status", "outcome", "attempts"]
    list_filter = ["status", "outcome", "reason", "location"]
    list_select_related = ["customer", "location", "assignee"]
    date_hierarchy = "due_on"
    raw_id_fields = ["customer", "visit", "complaint", "opened_complaint"]
