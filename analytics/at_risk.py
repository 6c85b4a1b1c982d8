"""Who is drifting away (流失预警), and why: the at-risk list and the reasons behind one client's
risk (GET /api/v1/customers/{id}/metrics/, the client card).

A client is at risk when the churn model's P(alive) (ChurnScore, nightly) is below
ANALYTICS_AT_RISK_P_ALIVE, or when their lifecycle stage today is dormant (METRICS.md, from
CustomerMetrics: kept current by every dirty refresh). The list sorts by the value at risk: the
client's expected 365-day spend if still a client, times the chance they are not.

The reasons are worked out for a page of clients at once (a fixed number of queries, however
many rows): visits spreading out, overdue against their own rhythm, fewer kinds of service, a low
survey score, an open complaint, a package left unused, and the model's low P(alive)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import median

from django.conf import settings
from django.db.models import (
    Case,
    Exists,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Greatest
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from analytics.metrics import _thresholds, counted_visits
from analytics.models import ChurnScore, CustomerMetrics
from analytics.sql import DaysSince, LocalDate

STAGE_CHOICES = ("new", "active", "dormant", "lost")  # a client with visits; "potential" has none


def threshold() -> float:
    return settings.ANALYTICS_AT_RISK_P_ALIVE


def with_stage(qs: QuerySet[CustomerMetrics], as_of: date) -> QuerySet[CustomerMetrics]:
    """CustomerMetrics rows with `stage` as of `as_of` (METRICS.md's rule on the row's first and
    last visit day and median gap, in SQL). Exact when no visit day is after as_of (today)."""
    t = _thresholds()
    rhythm = Case(
        When(visit_days__gte=3, then=F("median_gap")), default=Value(None), output_field=FloatField()
    )
    # Coalesce: SQLite's max() of a null is null (PostgreSQL's GREATEST skips it)
    lost_after = Greatest(
        Value(float(t["lost_days"])), Coalesce(rhythm * t["lost_factor"], 0.0), output_field=FloatField()
    )
    dormant_after = Greatest(
        Value(float(t["dormant_days"])),
        Coalesce(rhythm * t["dormant_factor"], 0.0),
        output_field=FloatField(),
    )
    gap = Cast(DaysSince(as_of, F("last_day")), FloatField())
    return qs.alias(gap=gap, since_first=DaysSince(as_of, F("first_day"))).annotate(
        stage=Case(
            When(gap__gt=lost_after, then=Value("lost")),
            When(gap__gt=dormant_after, then=Value("dormant")),
            When(since_first__lte=t["new_days"], then=Value("new")),
            default=Value("active"),
        )
    )


def at_risk(*, customers, as_of: date, p_below: float | None = None) -> QuerySet[CustomerMetrics]:
    """The CustomerMetrics rows of `customers` (a Customer queryset: the user's bulk scope) at
    risk as of `as_of`, with `stage` and the churn scores, by value at risk (largest first, the
    clients without a score last)."""
    p_below = threshold() if p_below is None else p_below
    rows = CustomerMetrics.objects.filter(customer__in=customers)
    if ChurnScore.objects.exists():
        # every client with a visit is scored nightly (one scored since is not dormant yet): an
        # inner join lets PostgreSQL walk the value-at-risk index and stop at the page's end
        rows = rows.filter(customer__churn__isnull=False)
    return (
        with_stage(rows, as_of)
        # dormant needs at least ANALYTICS_DORMANT_DAYS since the last visit: the last_day index
        # narrows that side before the stage rule is worked out
        .filter(
            Q(customer__churn__p_alive__lt=p_below)
            | Q(last_day__lt=_days_before(as_of, _thresholds()["dormant_days"]), stage="dormant")
        )
        .select_related("customer", "customer__churn")
        .order_by(F("customer__churn__value_at_risk").desc(nulls_last=True), "customer_id")
    )


# ---- reasons ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    code: str
    text: str


SPREADING, OVERDUE, FEWER_KINDS, LOW_SCORE, COMPLAINT, PACKAGE, LOW_P_ALIVE = (
    "visits_spreading_out",
    "overdue",
    "fewer_kinds_of_service",
    "low_score",
    "open_complaint",
    "package_unused",
    "low_p_alive",
)
LOOK_BACK_DAYS = 365 * 2  # visits, surveys and lines older than this say nothing about today
PACKAGE_IDLE_DAYS = 60


def _days_before(day: date, days: int) -> date:
    """`days` before `day`, or the first day of the calendar (an as_of near year 1)."""
    return day - timedelta(days=days) if day.toordinal() > days else date.min


def _rhythm_reasons(days: list[date], as_of: date) -> list[Reason]:
    out = []
    gaps = [(b - a).days for a, b in zip(days, days[1:], strict=False)]
    if len(gaps) >= 3:
        usual = median(gaps[:-2])
        recent = gaps[-2:]
        if usual > 0 and min(recent) > 1.5 * usual:
            out.append(
                Reason(
                    SPREADING,
                    _(
                        "Visits are spreading out: the last two gaps were %(a)s and %(b)s days, against a usual %(usual)s."
                    )
                    % {"a": recent[0], "b": recent[1], "usual": round(usual)},
                )
            )
    if len(gaps) >= 2 and days:
        usual = median(gaps)
        since = (as_of - days[-1]).days
        if usual > 0 and since > 1.5 * usual:
            out.append(
                Reason(
                    OVERDUE,
                    _("%(since)s days since the last visit, against a usual gap of %(usual)s days.")
                    % {"since": since, "usual": round(usual)},
                )
            )
    return out


def reasons_for(customer_ids, *, as_of: date, scores: dict | None = None) -> dict[int, list[Reason]]:
    """{client: reasons}, for any number of clients in six queries. `scores`: {client: p_alive}
    (the page has them; else none is said about the model)."""
    from appointments.models import Visit, VisitLine
    from feedback.models import Complaint, Survey
    from loyalty.models import CustomerPackage, PackageEntry

    ids = list(customer_ids)
    out: dict[int, list[Reason]] = {pk: [] for pk in ids}
    if not ids:
        return out
    since = _days_before(as_of, LOOK_BACK_DAYS)
    # 1. the rhythm of visit days
    days: dict[int, set[date]] = defaultdict(set)
    for pk, day in (
        counted_visits(start=since, end=as_of).filter(customer_id__in=ids).values_list("customer_id", "day")
    ):
        days[pk].add(day)
    for pk in ids:
        out[pk] += _rhythm_reasons(sorted(days[pk]), as_of)
    # 2. kinds of service: categories of the last three visit days against the three before
    kinds: dict[int, dict[date, set[int]]] = defaultdict(lambda: defaultdict(set))
    lines = VisitLine.objects.filter(
        visit__status=Visit.Status.COMPLETED,
        visit__customer_id__in=ids,
        visit__started_at__date__gte=_days_before(since, 1),
        service__isnull=False,
    ).values_list(
        "visit__customer_id",
        LocalDate(F("visit__started_at"), F("visit__location__time_zone")),
        "service__category_id",
    )
    for pk, day, category in lines:
        kinds[pk][day].add(category)
    for pk, by_day in kinds.items():
        ordered = [by_day[d] for d in sorted(by_day)]
        if len(ordered) >= 6:
            before = set().union(*ordered[-6:-3])
            recent = set().union(*ordered[-3:])
            if len(recent) < len(before):
                out[pk].append(
                    Reason(
                        FEWER_KINDS,
                        _(
                            "Fewer kinds of service: %(recent)s in the last three visits, %(before)s in the three before."
                        )
                        % {"recent": len(recent), "before": len(before)},
                    )
                )
    # 3. the latest answered survey
    latest: dict[int, tuple] = {}
    for pk, csat, nps in (
        Survey.objects.filter(customer_id__in=ids, answered_at__isnull=False, answered_at__date__gte=since)
        .order_by("customer_id", "-answered_at")
        .values_list("customer_id", "csat", "nps")
    ):
        latest.setdefault(pk, (csat, nps))
    for pk, (csat, nps) in latest.items():
        if (csat is not None and csat <= 3) or (nps is not None and nps <= 6):
            score = (
                _("satisfaction %(n)s of 5") % {"n": csat}
                if csat is not None
                else _("%(n)s of 10") % {"n": nps}
            )
            out[pk].append(Reason(LOW_SCORE, _("The last survey scored low (%(score)s).") % {"score": score}))
    # 4. open complaints
    open_statuses = [Complaint.Status.OPEN, Complaint.Status.IN_PROGRESS]
    complaints: dict[int, int] = defaultdict(int)
    for pk in Complaint.objects.filter(customer_id__in=ids, status__in=open_statuses).values_list(
        "customer_id", flat=True
    ):
        complaints[pk] += 1
    for pk, n in complaints.items():
        out[pk].append(
            Reason(
                COMPLAINT,
                ngettext("%(n)s complaint is still open.", "%(n)s complaints are still open.", n) % {"n": n},
            )
        )
    # 5. packages with sessions left and none used lately
    idle_since = _days_before(as_of, PACKAGE_IDLE_DAYS)
    used_lately = PackageEntry.objects.filter(
        package=OuterRef("pk"), kind=PackageEntry.Kind.USED, visit__started_at__date__gte=idle_since
    )
    packages = CustomerPackage.objects.filter(
        ~Exists(used_lately),
        account__customer_id__in=ids,
        status=CustomerPackage.Status.ACTIVE,
        sessions_left__gt=0,
        expires_on__gte=as_of,
        created_at__date__lt=idle_since,
    )
    for pk, name, left in packages.values_list("account__customer_id", "name", "sessions_left"):
        out[pk].append(
            Reason(
                PACKAGE,
                ngettext(
                    "%(name)s: %(n)s session left, none used in %(days)s days.",
                    "%(name)s: %(n)s sessions left, none used in %(days)s days.",
                    left,
                )
                % {"name": name, "n": left, "days": PACKAGE_IDLE_DAYS},
            )
        )
    # 6. the model
    for pk, alive in (scores or {}).items():
        if pk in out and alive is not None and alive < threshold():
            out[pk].append(
                Reason(
                    LOW_P_ALIVE,
                    _("The model gives a %(p)s%% chance they are still a client.")
                    % {"p": round(alive * 100)},
                )
            )
    return out


# ---- one client's figures (the API, the client card) ------------------------------------------------


def client_figures(customer, *, as_of: date) -> dict:
    """One client's lifecycle stage, RFM, and the current churn model's scores as of `as_of`
    (from the client's visit days in the roll-ups, so a visit checked out since the nightly run
    counts once the dirty refresh has run), with the reasons behind the risk."""
    import numpy as np

    from analytics import churn
    from analytics.clv import Summary
    from analytics.metrics import stage_of
    from analytics.models import VisitDay
    from analytics.segments import classify

    per_day: dict[date, float] = defaultdict(float)
    for day, revenue in VisitDay.objects.filter(customer=customer, day__lte=as_of).values_list(
        "day", "revenue"
    ):
        per_day[day] += float(revenue)
    days = sorted(per_day)
    metrics_row = CustomerMetrics.objects.filter(customer=customer).first()
    found = classify(metrics_row)
    out = {
        "customer": customer.pk,
        "as_of": as_of,
        "stage": stage_of(days=days, as_of=as_of),
        "visit_days": len(days),
        "last_visit": days[-1] if days else None,
        "rfm": (
            {
                "recency": found.scores[0],
                "frequency": found.scores[1],
                "monetary": found.scores[2],
                "segment": found.segment,
                "segment_label": found.segment_label,
            }
            if found
            else None
        ),
        "p_alive": None,
        "expected_visits_90d": None,
        "expected_spend_per_visit": None,
        "clv_365d": None,
        "value_at_risk": None,
        "model_as_of": None,
    }
    model = churn.current_model()
    if days and model is not None:
        x = len(days) - 1
        repeat = sum(per_day[d] for d in days[1:])
        summary = Summary(
            x=np.array([float(x)]),
            t_x=np.array([float((days[-1] - days[0]).days)]),
            T=np.array([float((as_of - days[0]).days)]),
            monetary=np.array([repeat / x if x else 0.0]),
        )
        s = churn.score(model, summary)

        def finite(values):
            v = float(values[0])
            return round(v, 4) if np.isfinite(v) else None

        out.update(
            p_alive=finite(s.p_alive),
            expected_visits_90d=finite(s.expected_visits_90d),
            expected_spend_per_visit=finite(s.expected_spend),
            clv_365d=finite(s.clv_365d),
            value_at_risk=finite(s.value_at_risk),
            model_as_of=model.as_of,
        )
    out["at_risk"] = bool(
        out["stage"] == "dormant" or (out["p_alive"] is not None and out["p_alive"] < threshold())
    )
    out["reasons"] = reasons_for([customer.pk], as_of=as_of, scores={customer.pk: out["p_alive"]})[
        customer.pk
    ]
    return out
