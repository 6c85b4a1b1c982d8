from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import home
from accounts.access import current_location, locations_for, role_of, set_current_location, staff_of
from accounts.forms import LocationSwitchForm, LoginForm
from accounts.nav import settings_links_for
from accounts.selectors import location_today, locations_with_staff, staff_list_for_location


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


@login_required
def home_page(request):
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


@login_required
@permission_required("accounts.manage_staff", raise_exception=True)
def settings_page(request):
    """Locations (with opening hours) and staff the manager may manage."""
    locations = locations_with_staff(locations=locations_for(request.user))
    context = {"locations": locations, "settings_links": settings_links_for(request.user)}
    return render(request, "accounts/settings.html", context)
