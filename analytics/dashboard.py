"""The manager dashboard's reads (/dashboard/ and /dashboard/clients/): the KPI tiles of
analytics.metrics.summary for a period and the one before it, the trend of revenue and visits,
the lifecycle funnel and the clients behind a tile. Every function here costs a fixed number of
queries, whatever the number of locations, days or clients (the page's query count is tested).

The numbers are METRICS.md's, read through analytics.metrics (never re-defined here): a tile's
drill-down list is built from the same counted-visits window as the tile, so the two agree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Sum
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from analytics import cohorts, metrics, rollups
from analytics.models import DailyStats

# ---- the period ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    as_of: date

    @property
    def last(self) -> date:
        """The last day that counts (nothing after as_of): metrics.Window.last."""
        return min(self.end, self.as_of)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period | None:
        """The period of the same length just before; None when it would fall before year 1."""
        try:
            start = self.start - timedelta(days=self.days)
            end = self.start - timedelta(days=1)
        except OverflowError:
            return None
        return Period(start, end, self.as_of)


# ---- the tiles ----------------------------------------------------------------------------------

MONEY, COUNT, RATE, SCORE = "money", "count", "rate", "score"


@dataclass(frozen=True)
class TileSpec:
    key: str  # the summary's key
    label: str  # lazy translation
    kind: str
    drill: str | None = None  # the clients list's metric
    visits: str | None = None  # else the visits list's kind (/dashboard/visits/, analytics.breakdowns)
    higher_is_better: bool = True
    responses: str | None = None  # the summary's key of the answers behind a score


TILES = (
    TileSpec("visits", gettext_lazy("Visits"), COUNT, visits="visits"),
    TileSpec("revenue", gettext_lazy("Revenue"), MONEY, visits="visits"),
    TileSpec("avg_ticket", gettext_lazy("Average ticket"), MONEY, visits="visits"),
    TileSpec("active_customers", gettext_lazy("Active clients"), COUNT, drill="active"),
    TileSpec("new_customers", gettext_lazy("New clients"), COUNT, drill="new"),
    TileSpec("repurchase_rate", gettext_lazy("Repurchase rate"), RATE, drill="repurchase"),
    TileSpec("revisit_90d", gettext_lazy("90-day revisit"), RATE, drill="revisit"),
    TileSpec("rebooking_rate", gettext_lazy("Rebooking rate"), RATE, visits="rebooked"),
    TileSpec("no_show_rate", gettext_lazy("No-show rate"), RATE, higher_is_better=False, visits="no_show"),
    TileSpec(
        "cancellation_rate",
        gettext_lazy("Cancellation rate"),
        RATE,
        higher_is_better=False,
        visits="cancelled",
    ),
    TileSpec(
        "csat", gettext_lazy("Satisfaction (4–5 of 5)"), RATE, visits="csat", responses="csat_responses"
    ),
    TileSpec("nps", gettext_lazy("NPS (−100 to 100)"), SCORE, visits="nps", responses="nps_responses"),
    TileSpec("survey_response_rate", gettext_lazy("Survey response rate"), RATE, visits="surveyed"),
)


def show(value, kind: str) -> str:
    """A figure as people read it; None (an empty denominator) as "—"."""
    if value is None:
        return "—"
    if kind == MONEY:
        return number_format(Decimal(value), 2, force_grouping=True)
    if kind == COUNT:
        return number_format(value, 0, force_grouping=True)
    if kind == RATE:
        return f"{number_format(round(float(value) * 100, 1), 1)}%"
    return number_format(round(float(value), 1), 1)


def change(now, before, spec: TileSpec) -> dict | None:
    """The change from the previous period: direction (up, down, same), its text and whether it
    is good news (colour is only a second cue: the arrow and the sign say it too). None when
    either side is empty."""
    if now is None or before is None:
        return None
    delta = (Decimal(str(now)) - Decimal(str(before))) if spec.kind == MONEY else (now - before)
    direction = "up" if delta > 0 else ("down" if delta < 0 else "same")
    sign = "+" if delta > 0 else ("−" if delta < 0 else "±")
    size = abs(delta)
    if spec.kind == RATE:
        text = _("%(delta)s pts") % {"delta": sign + number_format(round(float(size) * 100, 1), 1)}
    elif spec.kind == SCORE:
        text = sign + number_format(round(float(size), 1), 1)
    else:
        text = sign + show(size, spec.kind)
        if before:
            share = round(float(delta) / float(before) * 100, 1)
            text += f" ({'+' if share > 0 else ('−' if share < 0 else '±')}{number_format(abs(share), 1)}%)"
    good = None if direction == "same" else ((direction == "up") == spec.higher_is_better)
    return {"direction": direction, "text": text, "good": good}


def tiles(now: dict, before: dict | None, *, repeaters: int | None = None) -> list[dict]:
    result = []
    for spec in TILES:
        value = now[spec.key]
        previous = before[spec.key] if before is not None else None
        tile = {
            "key": spec.key,
            "label": spec.label,
            "value": value,
            "text": show(value, spec.kind),
            "previous": previous,
            "previous_text": show(previous, spec.kind),
            "change": change(value, previous, spec),
            "drill": spec.drill,
            "visits": spec.visits,
            "responses": now[spec.responses] if spec.responses else None,
            "previous_responses": (before[spec.responses] if spec.responses and before is not None else None),
        }
        if spec.key == "repurchase_rate":
            tile["part"] = repeaters
            tile["whole"] = now["active_customers"]
        result.append(tile)
    return result


# ---- trend and funnel ---------------------------------------------------------------------------

DAILY_UP_TO = 92  # longer periods are drawn per month
DEFAULT_DAYS = 30  # the default period: the last 30 days to today (views._filters)


def trend(locations, period: Period) -> dict:
    """Revenue and visits per day of the period (per month when it is longer than
    DAILY_UP_TO days), from the daily roll-up in one query. Days without a visit are zeros; a
    long period is drawn from its first to its last month with a visit."""
    rows = []
    if period.last >= period.start:
        # the daily roll-up (analytics.models.DailyStats), never the visits themselves
        days = DailyStats.objects.filter(day__gte=period.start, day__lte=period.last)
        if locations is not None:
            days = days.filter(location__in=list(locations))
        rows = list(days.values("day").annotate(visits=Sum("visits"), revenue=Sum("revenue")).order_by("day"))
    by_day = {r["day"]: (r["visits"], r["revenue"] or Decimal("0")) for r in rows}
    points: list[dict] = []
    if period.last >= period.start and (period.last - period.start).days < DAILY_UP_TO:
        day = period.start
        while day <= period.last:
            visits, revenue = by_day.get(day, (0, Decimal("0")))
            points.append({"label": day.isoformat(), "visits": visits, "revenue": revenue})
            day += timedelta(days=1)
        return {"unit": "day", "points": points}
    months: dict[tuple[int, int], list] = {}
    for day, (visits, revenue) in by_day.items():
        bucket = months.setdefault((day.year, day.month), [0, Decimal("0")])
        bucket[0] += visits
        bucket[1] += revenue
    if months:
        (y, m), last = min(months), max(months)
        while (y, m) <= last:
            visits, revenue = months.get((y, m), (0, Decimal("0")))
            points.append({"label": f"{y:04d}-{m:02d}", "visits": visits, "revenue": revenue})
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return {"unit": "month", "points": points}


STAGE_LABELS = {
    "potential": pgettext_lazy("lifecycle stage", "Potential"),
    "new": pgettext_lazy("lifecycle stage", "New"),
    "active": pgettext_lazy("lifecycle stage", "Active"),
    "dormant": pgettext_lazy("lifecycle stage", "Dormant"),
    "lost": pgettext_lazy("lifecycle stage", "Lost"),
}


def _lifecycle(locations, as_of: date) -> dict:
    counts = rollups.lifecycle(as_of=as_of, locations=locations)
    if counts is None:
        counts = metrics.lifecycle(as_of=as_of, locations=locations)
    return counts


def funnel(locations, as_of: date, *, gen=None, clients: str = "") -> list[dict]:
    """The lifecycle from the client figures where they answer exactly (rollups.lifecycle),
    otherwise (a past day, SQLite) from the raw definition. With `gen` the counts are cached
    (rollups.cached) under the generation and `clients` (rollups.generation's clients marker: a
    new client is a "potential" one at once); the labels are never cached (the page's language)."""
    if gen is None:
        counts = _lifecycle(locations, as_of)
    else:
        counts = rollups.cached(
            "lifecycle",
            (as_of, rollups.where_key(locations), clients),
            lambda: _lifecycle(locations, as_of),
            gen=gen,
        )
    return [{"stage": s, "label": str(STAGE_LABELS[s]), "count": counts[s]} for s in metrics.STAGES]


def sections(locations, period: Period, *, query: str, gen=None, clients: str = "") -> dict:
    """Every section of the dashboard for `locations` and `period`: the numbers read through the
    cache (rollups.cached, under `gen`; None: not cached) and the labels in the active language.
    `clients`: rollups.generation(clients=True)'s marker, for the funnel and the tiers. The page
    (views.dashboard_page) and the pre-warm after a refresh (prewarm) call this."""
    from analytics.breakdowns import Scope, section

    now = rollups.summary(
        start=period.start, end=period.end, locations=locations, as_of=period.as_of, gen=gen
    )
    previous = period.previous()
    before = (
        rollups.summary(
            start=previous.start, end=previous.end, locations=locations, as_of=previous.as_of, gen=gen
        )
        if previous is not None
        else None
    )
    where = rollups.where_key(locations) if gen is not None else ""
    if gen is None:
        n_repeaters = repeaters(locations, period)
        trend_data = trend(locations, period)
    else:
        key = (period.start, period.end, period.as_of, where)
        n_repeaters = repeaters(locations, period, gen=gen)  # cached with the summary's window
        trend_data = rollups.cached("trend", key, lambda: trend(locations, period), gen=gen)
    return {
        "now": now,
        "before": before,
        "previous": previous,
        "repeaters": n_repeaters,
        "trend": trend_data,
        "funnel": funnel(locations, period.last, gen=gen, clients=clients),
        # revenue by service, category and stylist; utilisation (_breakdowns.html)
        "breakdowns": section(Scope(locations, period.start, period.last, query), gen=gen),
        # monthly cohorts and tiers (_cohorts.html)
        "cohorts": cohorts.section(locations, period, gen=gen, clients=clients),
    }


def prewarm(*, locations=None) -> dict:
    """After a roll-up refresh (analytics.tasks): the default dashboard (the last DEFAULT_DAYS
    days to today, in the location's time zone; the chain in the default one) computed into the
    cache for the chain and each active location (or `locations`), so the first manager after
    the refresh gets a warm page. Bounded: the number of locations + 1 or 2 dashboards. Returns
    {"dashboards", "seconds"}."""
    import time

    from django.utils import timezone

    from accounts.models import Location

    started = time.monotonic()
    gen, clients = rollups.generation(clients=True)
    if gen is None:  # nothing to fill (no cache, or no roll-ups yet)
        return {"dashboards": 0, "seconds": 0.0}
    if locations is None:
        locations = list(Location.objects.filter(is_active=True).order_by("pk"))
    now = timezone.now()
    # the chain's "today" is that of the viewer's header location (or the default zone): one
    # chain dashboard per distinct date among them (one or two)
    chain_days = {
        now.astimezone(z).date() for z in [timezone.get_default_timezone(), *(x.tz for x in locations)]
    }
    scopes = [
        *((None, day) for day in sorted(chain_days)),
        *(([x], now.astimezone(x.tz).date()) for x in locations),
    ]
    for scope, day in scopes:
        period = Period(day - timedelta(days=DEFAULT_DAYS - 1), day, day)
        choice = "all" if scope is None else str(scope[0].pk)
        query = f"location={choice}&start={period.start.isoformat()}&end={period.end.isoformat()}"
        sections(scope, period, query=query, gen=gen, clients=clients)
    return {"dashboards": len(scopes), "seconds": round(time.monotonic() - started, 3)}


# ---- the clients behind a tile ------------------------------------------------------------------

PERIOD_DRILLS = ("active", "new", "repurchase", "revisit")  # the period's clients (the tabs)
DRILLS = (*PERIOD_DRILLS, *cohorts.DRILLS)  # and those behind the cohorts, tiers and funnel
DRILL_LABELS = {
    "active": gettext_lazy("Active clients"),
    "new": gettext_lazy("New clients"),
    "repurchase": gettext_lazy("Clients who came back (two visit days or more)"),
    "revisit": gettext_lazy("New clients who came back within 90 days"),
    **cohorts.LABELS,
}


def clients_behind(metric: str, *, locations, period: Period):
    """Per client behind the tile (values: customer_id, visits, revenue, days), most revenue
    first: `active` every client with a visit in the period, `new` those whose first visit ever
    falls in it (metrics.new_customers_qs), `repurchase` those with two visit days or more (the
    numerator of the repurchase rate). One query; its count() is the tile's number."""
    window = metrics.counted_visits(locations, start=period.start, end=period.last)
    rows = (
        window.order_by()
        .values("customer_id")
        .annotate(visits=Count("pk"), revenue=Sum("total"), days=Count("day", distinct=True))
    )
    if metric == "repurchase":
        rows = rows.filter(days__gte=2)
    elif metric == "new":
        new = metrics.new_customers_qs(
            start=period.start, end=period.last, locations=locations, window=window
        )
        rows = rows.filter(customer_id__in=new.values("pk"))
    elif metric == "revisit":
        # the 90-day revisit's numerator as the tile counts it (rollups.summary): new clients of
        # the period, first seen 90 days or more before as_of, back 1 to 90 days after
        rows = rows.filter(customer_id__in=cohorts.revisited_90d(locations, period).values("customer_id"))
    return rows.order_by("-revenue", "customer_id")


def repeaters(locations, period: Period, *, gen=None) -> int:
    """How many clients the repurchase tile's rate counts on top (two visit days or more): from the
    roll-ups' visit days like the rate itself (rollups.summary), one scan of the window's visit
    days instead of the visits (the same number as the list behind the tile once rolled up)."""
    if period.last < period.start:
        return 0
    return rollups.window_clients(start=period.start, last=period.last, locations=locations, gen=gen)[1]
