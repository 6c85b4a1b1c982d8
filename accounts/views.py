from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts import home, otp
from accounts.access import (
    current_location,
    locations_for,
    locations_manageable_by,
    role_of,
    set_current_location,
    staff_of,
)
from accounts.forms import LocationSwitchForm, LoginForm, WeekForm, opening_periods, week_rows
from accounts.nav import settings_links_for
from accounts.selectors import location_today, locations_with_staff, staff_list_for_location
from accounts.services import opening_hours_set
from salon_crm.ratelimit import public_rate_limit


@method_decorator(public_rate_limit("login"), name="dispatch")
class LoginView(auth_views.LoginView):
    """Password login (django-axes locks a username at an address after repeated failures;
    posts are rate limited per address). Owners and managers go on to the code page."""

    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get_success_url(self):
        url = super().get_success_url()
        if otp.needs_code(self.request.user):
            return otp.next_step_url(self.request.user, url)
        return url


def _safe_next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return resolve_url(settings.LOGIN_REDIRECT_URL)
    return target


def _otp_page(request, template: str, context: dict, status: int = 200):
    return render(request, template, {"next": _safe_next(request), **context}, status=status)


@login_required
def otp_verify(request):
    """Second step of the login: a code from the authenticator app, or a backup code."""
    if not otp.otp_required(request.user) or otp.is_verified(request.user):
        return redirect(_safe_next(request))
    phone = otp.confirmed_phone(request.user)
    if phone is None:
        return redirect(otp.next_step_url(request.user, _safe_next(request)))
    form = otp.CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        wait = otp.otp_wait_seconds(phone)
        device = None if wait else otp.otp_check(user=request.user, code=form.cleaned_data["code"])
        if device is not None:
            otp.session_verify(request, device)
            return redirect(_safe_next(request))
        if wait:
            message = _("Too many wrong codes. Wait %(seconds)s seconds and try again.") % {"seconds": wait}
        else:
            message = _("That code is not right. Enter the current code from your app, or a backup code.")
        form.add_error("code", message)
    status = 400 if form.errors else 200
    return _otp_page(request, "accounts/otp_verify.html", {"form": form}, status=status)


@login_required
def otp_enrol(request):
    """First login of an owner or manager: scan the QR code, confirm one code, note the backup
    codes (shown once, on the answer to that confirmation)."""
    if not otp.otp_required(request.user) or otp.is_verified(request.user):
        return redirect(_safe_next(request))
    if otp.confirmed_phone(request.user) is not None:
        return redirect(otp.next_step_url(request.user, _safe_next(request)))
    device = otp.otp_enrol_start(user=request.user)
    form = otp.CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        enrolled = otp.otp_enrol_confirm(user=request.user, device=device, code=form.cleaned_data["code"])
        if enrolled is not None:
            otp.session_verify(request, enrolled.device)
            return _otp_page(request, "accounts/otp_backup_codes.html", {"codes": enrolled.backup_codes})
        form.add_error(
            "code", _("That code is not right. Check the phone's clock and enter the current code.")
        )
    context = {
        "form": form,
        "qr_svg": otp.qr_svg(device),
        "secret": otp.secret_for_typing(device),
        "issuer": settings.OTP_TOTP_ISSUER,
    }
    return _otp_page(request, "accounts/otp_enrol.html", context, status=400 if form.errors else 200)


@login_required
def home_page(request):
    """ "/": the home page of the user's role (accounts.home.register_home: managers and owners,
    the dashboard), otherwise Today."""
    target = home.home_url_for(request.user)
    if target is not None:
        return redirect(target)
    return today_page(request)


@login_required
def today_page(request):
    """Today: where I work, what day it is there, who is on the team, plus panels from other apps."""
    location = current_location(request)
    context = {
        "staff_member": staff_of(request.user),
        "role": role_of(request.user),
        "my_locations": list(locations_for(request.user)),
        "today": location_today(location=location) if location else None,
        "team": list(staff_list_for_location(location=location)) if location else [],
        "panels": home.panels_for(request),
    }
    # Times on Today are the location's wall clock, whatever the server's zone.
    with timezone.override(location.tz if location else timezone.get_current_timezone()):
        return render(request, "accounts/home.html", context)


@login_required
@require_POST
def switch_location(request):
    form = LocationSwitchForm(request.POST)
    if form.is_valid():
        location = get_object_or_404(locations_for(request.user), pk=form.cleaned_data["location"])
        set_current_location(request, location)
        messages.success(request, _("Now working at %(name)s.") % {"name": location.name})
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return redirect(target)


@require_GET
@login_required
@permission_required("accounts.manage_staff", raise_exception=True)
def settings_page(request):
    """Locations (with their week of opening hours) and their staff, for the locations this user
    holds, with the editors this user may use: opening hours (managers of the location), a
    stylist's working hours and time off (appointments' schedule pages). Staff records and
    location details are changed in the admin, under accounts.access's rule."""
    locations = list(locations_with_staff(locations=locations_for(request.user)))
    manageable = set(locations_manageable_by(request.user).values_list("pk", flat=True))
    cards = [
        {
            "location": loc,
            "week": week_rows(opening_periods(loc.opening_hours.all())),
            "can_edit_hours": loc.pk in manageable,
        }
        for loc in locations
    ]
    links = settings_links_for(request.user)
    context = {
        "cards": cards,
        "settings_links": links,
        # The staff schedules page, when an app registered one (appointments: working hours).
        "hours_link": next((link for link in links if link["key"] == "catalogue_hours"), None),
    }
    return render(request, "accounts/settings.html", context)


@login_required
@permission_required("accounts.change_location", raise_exception=True)
def opening_hours_edit(request, pk: int):
    """A location's week of opening hours as a grid (several periods a day for a lunch break;
    none: closed). Managers of the location only: another location's looks missing."""
    location = get_object_or_404(locations_manageable_by(request.user), pk=pk)
    current = opening_periods(location.opening_hours.all())
    week = WeekForm(request.POST if request.method == "POST" else None, initial=current)
    if request.method == "POST" and week.is_valid():
        try:
            opening_hours_set(location=location, by=request.user, periods=week.periods())
        except (ValidationError, PermissionDenied) as exc:
            week.add_error(exc)
        else:
            messages.success(request, _("Opening hours of %(name)s saved.") % {"name": location.name})
            return redirect("accounts:settings")
    status = 400 if request.method == "POST" else 200
    return render(
        request, "accounts/settings_hours.html", {"location": location, "week": week}, status=status
    )
