from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def lockout_response(request, original_response=None, credentials=None):
    """django-axes lockout: JSON 429 for the API, the explanatory page for browsers."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"code": "locked_out", "detail": _("Too many failed log-ins; try again in 15 minutes.")},
            status=429,
        )
    return render(request, "accounts/locked_out.html", status=429)
