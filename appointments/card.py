"""What appointments adds to the client card (customers.card): the Book and Walk-in buttons, the
figures of the last 12 months (visits, spend, no-shows, late cancellations), the last visit, the
preferred stylist, and the upcoming appointments, each opening its dialog over the card."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.access import locations_for
from appointments import selectors
from appointments.forms import short_money
from appointments.models import Appointment, AppointmentItem, AppointmentStatus, Visit, VisitLine
from appointments.services import rules
from customers.card import CardAction, CardFact, CardPanel
from salon_crm.rows import build, build_all, obj, row, rows

UPCOMING = 5  # the soonest appointments still on
CENT = Decimal("0.01")


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


def _rows(upcoming: list[Appointment], now: datetime) -> list[UpcomingRow]:
    rows = []
    for appointment in upcoming:
        location = appointment.location
        rows.append(
            UpcomingRow(
                appointment=appointment,
                # Naive wall-clock times of the location: the template's date filters would
                # otherwise turn an aware time into the request's zone.
                start=appointment.start.astimezone(location.tz).replace(tzinfo=None),
                end=appointment.end.astimezone(location.tz).replace(tzinfo=None),
                services=", ".join(i["service"] for i in appointment.item_list),
                staff=", ".join(dict.fromkeys(i["staff"] for i in appointment.item_list)),
                location=location.name,
                today=rules.local_date(location, appointment.start) == rules.local_date(location, now),
                url=reverse("appointments:detail", args=[appointment.pk]) if appointment.acting else "",
            )
        )
    return rows


LOCATION = {"id": "location_id", "name": "location__name", "time_zone": "location__time_zone"}


def card_reads(*, user, now: datetime) -> dict:
    """The figures of customer_summary (the last 12 months, chain-wide; visits through
    visits_counted()) and the upcoming appointments, as subqueries of the card's statement;
    whether this user acts at each upcoming appointment's location (a dialog, or just the name)."""
    if not user.has_perm("appointments.view_appointment"):
        return {}
    since = now - timedelta(days=selectors.SUMMARY_DAYS)
    counted = selectors.visits_counted().filter(customer=OuterRef("pk"))
    recent = counted.filter(started_at__gte=since, started_at__lte=now)
    recent_of_client = selectors.visits_counted().filter(
        customer=OuterRef(OuterRef("pk")), started_at__gte=since, started_at__lte=now
    )
    S = AppointmentStatus
    return {
        "visits": row(
            recent.values("customer").annotate(n=Count("pk"), spend=Sum("total")), n="n", spend="spend"
        ),
        "behaviour": row(
            Appointment.objects.filter(customer=OuterRef("pk"), start__gte=since, start__lte=now)
            .values("customer")
            .annotate(
                no_shows=Count("pk", filter=Q(status=S.NO_SHOW)),
                late_cancels=Count("pk", filter=Q(status=S.CANCELLED, late_cancel=True)),
            ),
            no_shows="no_shows",
            late_cancels="late_cancels",
        ),
        "last_visit": row(
            counted.order_by("-started_at", "-pk"),
            id="pk",
            started_at="started_at",
            location=obj(**LOCATION),
        ),
        "top_stylist": row(
            VisitLine.objects.filter(visit__in=recent_of_client.values("pk"), staff__isnull=False)
            .values("staff_id", "staff__display_name")
            .annotate(n=Count("visit", distinct=True))
            .order_by("-n", "staff__display_name"),
            name="staff__display_name",
            n="n",
        ),
        "upcoming": rows(
            Appointment.objects.filter(
                customer=OuterRef("pk"), status__in=selectors.UPCOMING_STATUSES, end__gt=now
            ).order_by("start", "pk")[:UPCOMING],
            id="pk",
            status="status",
            start="start",
            end="end",
            location=obj(**LOCATION),
            acting=Exists(locations_for(user).filter(pk=OuterRef("location_id"))),
            item_list=rows(
                AppointmentItem.objects.filter(appointment=OuterRef("pk")).order_by("start", "pk"),
                service="service__name",
                staff="staff__display_name",
            ),
        ),
    }


def card_panel(*, customer, user, now: datetime, data: dict) -> CardPanel | None:
    """The appointments panel of the card, from card_reads."""
    if not user.has_perm("appointments.view_appointment"):
        return None
    visits = data["visits"] or {}
    behaviour = data["behaviour"] or {}
    top = data["top_stylist"] or {}
    summary = selectors.CustomerSummary(
        since=now - timedelta(days=selectors.SUMMARY_DAYS),
        visits=visits.get("n", 0),
        spend=Decimal(visits.get("spend") or 0).quantize(CENT),
        no_shows=behaviour.get("no_shows", 0),
        late_cancels=behaviour.get("late_cancels", 0),
        last_visit=build(Visit, data["last_visit"]),
        top_stylist=top.get("name", ""),
        top_stylist_visits=top.get("n", 0),
        upcoming=build_all(Appointment, data["upcoming"]),
    )
    return CardPanel(
        key="appointments",
        title=_("Upcoming appointments"),
        facts=tuple(_facts(customer, summary, user, now)),
        actions=tuple(_actions(customer, user)),
        template="appointments/card_panel.html",
        data=_rows(summary.upcoming, now),
        order=10,
    )


def register() -> None:
    """Called from AppointmentsConfig.ready()."""
    from customers import card

    card.register("appointments", card_panel, reads=card_reads)
