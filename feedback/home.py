"""feedback on the Today page: the follow-up calls due today (a stylist's own; the desk's and
managers' at the current location) and the complaint cases open there, overdue first. Constant
queries."""

from django.utils import timezone

from accounts.access import current_location
from accounts.home import Panel
from feedback import selectors, services

LIMIT = 20


def today_panel(request):
    user = request.user
    if not (user.has_perm("feedback.view_followup") or user.has_perm("feedback.view_complaint")):
        return None
    location = current_location(request)
    if location is None:
        return None
    now = timezone.now()
    today = services.local_today(location, now)
    calls = []
    if user.has_perm("feedback.view_followup"):
        mine = selectors.is_stylist(user)
        calls = list(selectors.follow_ups_due(user, location=location, day=today, mine=mine)[: LIMIT + 1])
    cases = []
    if user.has_perm("feedback.view_complaint"):
        cases = list(selectors.open_cases(user, location=location)[: LIMIT + 1])
        for c in cases:
            c.sla = services.sla_state(c, now)
    if not calls and not cases:
        return None
    return Panel(
        template="feedback/home_panel.html",
        context={
            "calls": calls[:LIMIT],
            "more_calls": len(calls) > LIMIT,
            "cases": cases[:LIMIT],
            "more_cases": len(cases) > LIMIT,
            "today": today,
            "tz": location.tz,
        },
        order=30,
    )
