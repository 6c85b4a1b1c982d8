from django.shortcuts import redirect
from django.templatetags.static import static

# /healthz, /healthz/live and /healthz/ready: salon_crm/health.py; /metrics: salon_crm/metrics.py.


def favicon(request):
    """/favicon.ico, which browsers (and bots) ask for whatever a page links: the static icon
    (static/img/favicon.ico, its hashed URL in production; pages link it and favicon.svg in
    templates/base.html). Not permanent, so a new icon is picked up."""
    return redirect(static("img/favicon.ico"))
