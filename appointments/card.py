"""What appointments adds to the client card (customers.card): the Book and Walk-in buttons, the
figures of the last 12 months (visits, spend, no-shows, late cancellations), the last visit, the
preferred stylist, and the upcoming appointments, each opening its dialog over the card."""

from dataclasses import dataclass
from datetime import datetime

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.access import locations_for
from appointments import selectors
from appointments.forms import short_money
from appointments.models import Appointment
from appointments.services import rules
from customers.card import CardAction, CardFact, CardPanel


@dataclass(frozen=True)
class UpcomingRow:
    appointment: Appointment
    start: datetime  # the location's wall clock (naive)
    end: datetime
    services: str
    staff: str
    location: str
    today: bool
    url: str  # the appointment's dialog; "" at a location this user does not act at


def _facts(customer, summary: selectors.CustomerSummary, user, now: datetime) -> list[CardFact]:
    facts = [CardFact("visits", _("Visits, 12 months"), str(summary.visits))]
    if user.has_perm("appointments.view_visit"):
        facts.append(CardFact("spend", _("Spent, 12 months"), short_money(summary.spend)))
    facts += [
        CardFact(
            "no_shows",
            _("No-shows, 12 months"),
            str(summary.no_shows),
            tone="warning" if summary.no_shows else "",
        ),
        CardFact(
            "late_cancels",
            _("Late cancellations, 12 months"),
            str(summary.late_cancels),
            tone="warning" if summary.late_cancels else "",
        ),
    ]
    last = summary.last_visit
    if last is None:
        facts.append(CardFact("last_visit", _("Last visit"), "—"))
    else:
        day = rules.local_date(last.location, last.started_at)
        days = (rules.local_date(last.location, now) - day).days
        ago = _("today") if days <= 0 else ngettext("%(n)s day ago", "%(n)s days ago", days) % {"n": days}
        facts.append(
            CardFact("last_visit", _("Last visit"), day.isoformat(), f"{ago} · {last.location.name}")
        )
    on_file = customer.preferred_staff.display_name if customer.preferred_staff_id else ""
    top, n = summary.top_stylist, summary.top_stylist_visits
    if on_file:
        detail = _("on file")
        if top and top != on_file:
            detail += " · " + _("most visits: %(name)s (%(n)s)") % {"name": top, "n": n}
        facts.append(CardFact("preferred_stylist", _("Preferred stylist"), on_file, detail))
    elif top:
        detail = ngettext("%(n)s visit in 12 months", "%(n)s visits in 12 months", n) % {"n": n}
        facts.append(CardFact("preferred_stylist", _("Preferred stylist"), top, detail))
    else:
        facts.append(CardFact("preferred_stylist", _("Preferred stylist"), "—"))
    return facts


def _actions(customer, user) -> list[CardAction]:
    if customer.erased_at is not None or not user.has_perm("appointments.add_appointment"):
        return []
    return [
        CardAction(
            "book",
            _("Book"),
            f"{reverse('appointments:day')}?customer={customer.pk}",
            primary=True,
        ),
        CardAction(
            "walk_in",
            _("Walk-in now"),
            f"{reverse('appointments:walk_in')}?customer={customer.pk}",
            dialog=True,
        ),
    ]


def _rows(summary: selectors.CustomerSummary, user, now: datetime) -> list[UpcomingRow]:
    if not summary.upcoming:
        return []
    acting = set(locations_for(user).values_list("pk", flat=True))
    rows = []
    for appointment in summary.upcoming:
        location = appointment.location
        items = list(appointment.items.all())
        rows.append(
            UpcomingRow(
                appointment=appointment,
                # Naive wall-clock times of the location: the template's date filters would
                # otherwise turn an aware time into the request's zone.
                start=appointment.start.astimezone(location.tz).replace(tzinfo=None),
                end=appointment.end.astimezone(location.tz).replace(tzinfo=None),
                services=", ".join(i.service.name for i in items),
                staff=", ".join(dict.fromkeys(i.staff.display_name for i in items)),
                location=location.name,
                today=rules.local_date(location, appointment.start) == rules.local_date(location, now),
                url=reverse("appointments:detail", args=[appointment.pk]) if location.pk in acting else "",
            )
        )
    return rows


def card_panel(*, customer, user) -> CardPanel | None:
    """The appointments panel of the card: six queries for the summary (selectors.
    customer_summary), one more for the user's locations when there are upcoming appointments."""
    if not user.has_perm("appointments.view_appointment"):
        return None
    now = timezone.now()
    summary = selectors.customer_summary(customer=customer, now=now)
    return CardPanel(
        key="appointments",
        title=_("Upcoming appointments"),
        facts=tuple(_facts(customer, summary, user, now)),
        actions=tuple(_actions(customer, user)),
        template="appointments/card_panel.html",
        data=_rows(summary, user, now),
        order=10,
    )


def register() -> None:
    """Called from AppointmentsConfig.ready()."""
    from customers import card

    card.register("appointments", card_panel)
