"""Admin for locations and staff. Owners and managers both use it for set-up, so every list,
every object page, every choice and every save follows accounts.access: a manager sees the
staff and locations of their own locations, changes only staff they may manage, and can never
give a role above their own or a location they do not hold. Saves go through accounts.services
(the same rule guards the pages and the API)."""

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError

from accounts import access, services
from accounts.models import Location, OpeningHours, Role, StaffMember


def _add_errors(form: forms.Form, exc: ValidationError) -> None:
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


class LocationScopedAdmin(admin.ModelAdmin):
    """Rows that belong to a location (`location_lookup`, e.g. "location" or "staff__locations"):
    owners see every row, others only the rows of locations they act at; another location's row
    looks missing (the admin's "does not exist" page), so it can be neither read nor changed."""

    location_lookup = "location"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if access.sees_all_locations(request.user):
            return qs
        held = access.locations_held(request.user)
        return qs.filter(**{f"{self.location_lookup}__in": held}).distinct()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # A new or changed row can only be put at one of the user's locations, for their staff.
        if db_field.related_model is Location:
            kwargs["queryset"] = access.locations_held(request.user)
        elif db_field.related_model is StaffMember:
            kwargs["queryset"] = access.staff_visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class OpeningHoursInline(admin.TabularInline):
    """Opening hours are part of their location: whoever may change the location may change its
    hours (there is no separate opening-hours permission to grant)."""

    model = OpeningHours
    extra = 0

    def _may_change(self, request, obj) -> bool:
        if obj is None:
            return request.user.has_perm("accounts.change_location")
        return access.can_manage_location(request.user, obj)

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("accounts.view_location") or self._may_change(request, obj)

    def has_add_permission(self, request, obj=None) -> bool:
        return self._may_change(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._may_change(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._may_change(request, obj)


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "time_zone", "phone", "is_active"]
    search_fields = ["code", "name"]
    inlines = [OpeningHoursInline]

    def get_queryset(self, request):
        # Owners see every location; a manager only those they hold (another one looks missing).
        return super().get_queryset(request).filter(pk__in=access.locations_held(request.user))

    def has_change_permission(self, request, obj=None) -> bool:
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or access.can_manage_location(request.user, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        if not super().has_delete_permission(request, obj):
            return False
        return obj is None or access.can_manage_location(request.user, obj)

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data[f] for f in services.LOCATION_FIELDS if f in form.cleaned_data}
        if change:
            saved = services.location_update(location=obj, by=request.user, **data)
        else:
            extra = {f: data[f] for f in ("address", "phone", "time_zone") if f in data}
            saved = services.location_create(code=data["code"], name=data["name"], by=request.user, **extra)
            if data.get("is_active") is False:
                saved = services.location_update(location=saved, by=request.user, is_active=False)
        obj.pk = saved.pk
        obj._state.adding = False

    def save_formset(self, request, form, formset, change):
        if not access.can_manage_location(request.user, form.instance):
            raise PermissionDenied
        super().save_formset(request, form, formset, change)


class StaffMemberAdminForm(forms.ModelForm):
    """The admin form, checked with services.staff_check_grant before anything is saved (so a
    refused role or location is a field error, and the service's own check never fires a 500)."""

    acting_user = None  # set per request by StaffMemberAdmin.get_form

    class Meta:
        model = StaffMember
        fields = ["user", "display_name", "role", "locations", "is_bookable", "calendar_colour", "is_active"]

    def clean(self):
        data = super().clean()
        instance = self.instance if self.instance.pk else None
        locations = data.get("locations")
        try:
            services.staff_check_grant(
                by=self.acting_user,
                staff=instance,
                role=data.get("role"),
                locations=list(locations) if locations is not None else None,
            )
        except ValidationError as exc:
            _add_errors(self, exc)
        except PermissionDenied as exc:
            raise ValidationError(str(exc)) from None
        return data


@admin.register(StaffMember)
class StaffMemberAdmin(admin.ModelAdmin):
    form = StaffMemberAdminForm
    list_display = ["display_name", "user", "role", "is_bookable", "is_active"]
    list_filter = ["role", "is_bookable", "is_active", "locations"]
    search_fields = ["display_name", "user__username"]
    filter_horizontal = ["locations"]
    list_select_related = ["user"]

    def get_queryset(self, request):
        # Owners see every staff member; a manager those of their own locations.
        return super().get_queryset(request).filter(pk__in=access.staff_visible_to(request.user))

    def has_change_permission(self, request, obj=None) -> bool:
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or access.can_manage_staff(request.user, obj)

    def get_readonly_fields(self, request, obj=None):
        # The login a staff record belongs to is chosen once, when the record is added.
        return ["user"] if obj is not None else []

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"acting_user": request.user})

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "role":
            grantable = access.roles_grantable_by(request.user)
            kwargs["choices"] = [(value, label) for value, label in Role.choices if value in grantable]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "locations":
            kwargs["queryset"] = access.locations_held(request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            # A staff record for a login that has none yet; never for a superuser's login.
            kwargs["queryset"] = get_user_model().objects.filter(staff__isnull=True, is_superuser=False)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data[f] for f in services.STAFF_FIELDS if f in form.cleaned_data}
        data["locations"] = list(data.get("locations") or [])
        if change:
            saved = services.staff_update(staff=obj, by=request.user, **data)
        else:
            saved = services.staff_record_create(user=form.cleaned_data["user"], by=request.user, **data)
        obj.pk = saved.pk
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        # The locations were set by the service in save_model; only inlines (none today) here.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)
