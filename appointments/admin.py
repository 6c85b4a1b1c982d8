"""Admin for inspection and rare fixes. Bookings, checkouts and voids go through the pages or
the API (the services); appointment and visit rows are read-only here so the admin cannot
bypass the double-booking checks or the payment rules."""

from django.contrib import admin

from accounts.admin import LocationScopedAdmin
from appointments.models import (
    Appointment,
    AppointmentItem,
    Payment,
    Product,
    Resource,
    Service,
    ServiceCategory,
    TimeOff,
    Visit,
    VisitLine,
    WaitlistEntry,
    WorkingHours,
)


@admin.register(ServiceCategory)
class ServiceCategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "position"]


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "duration_minutes", "buffer_after_minutes", "price", "is_active"]
    list_filter = ["category", "is_active", "locations"]
    search_fields = ["name"]
    filter_horizontal = ["locations"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "sku", "kind", "price", "is_active"]
    search_fields = ["name", "sku"]


@admin.register(Resource)
class ResourceAdmin(LocationScopedAdmin):
    list_display = ["name", "type", "location", "is_active"]
    list_filter = ["location", "type"]


@admin.register(WorkingHours)
class WorkingHoursAdmin(LocationScopedAdmin):
    list_display = ["staff", "location", "weekday", "start", "end"]
    list_filter = ["location", "weekday"]
    list_select_related = ["staff", "location"]


@admin.register(TimeOff)
class TimeOffAdmin(LocationScopedAdmin):
    location_lookup = "staff__locations"
    list_display = ["staff", "start", "end", "reason"]
    list_select_related = ["staff"]


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ItemInline(ReadOnlyInline):
    model = AppointmentItem


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Appointment)
class AppointmentAdmin(LocationScopedAdmin, ReadOnlyAdmin):
    list_display = ["pk", "customer", "location", "start", "status", "source"]
    list_filter = ["status", "source", "location"]
    date_hierarchy = "start"
    list_select_related = ["customer", "location"]
    inlines = [ItemInline]


class LineInline(ReadOnlyInline):
    model = VisitLine


class PaymentInline(ReadOnlyInline):
    model = Payment


@admin.register(Visit)
class VisitAdmin(LocationScopedAdmin, ReadOnlyAdmin):
    list_display = ["pk", "customer", "location", "started_at", "total", "status"]
    list_filter = ["status", "location"]
    date_hierarchy = "started_at"
    list_select_related = ["customer", "location"]
    inlines = [LineInline, PaymentInline]


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(LocationScopedAdmin, ReadOnlyAdmin):
    list_display = ["customer", "service", "date", "status", "location"]
    list_filter = ["status", "location"]
    list_select_related = ["customer", "service", "location"]
