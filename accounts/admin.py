from django.contrib import admin

from accounts.models import Location, OpeningHours, StaffMember
from accounts.services import staff_set_role


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "time_zone", "phone", "is_active"]
    search_fields = ["code", "name"]
    inlines = [OpeningHoursInline]


@admin.register(StaffMember)
class StaffMemberAdmin(admin.ModelAdmin):
    list_display = ["display_name", "user", "role", "is_bookable", "is_active"]
    list_filter = ["role", "is_bookable", "is_active", "locations"]
    search_fields = ["display_name", "user__username"]
    filter_horizontal = ["locations"]
    list_select_related = ["user"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # Keep the user's group in step with the role chosen here.
        staff_set_role(staff=obj, role=obj.role)
