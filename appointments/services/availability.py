"""Free slots. A constant number of queries (services, staff, opening hours, working hours,
time off, busy items, and resources when a service needs one) however many days, stylists and
bookings; the search itself runs in memory on integer minutes."""

from bisect import bisect_right
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import BigIntegerField, Func
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Location, OpeningHours, StaffMember
from appointments.models import AppointmentItem, Resource, Service, TimeOff, WorkingHours
from appointments.services import rules

MAX_DAYS = 62
ORDER_BITS = 12
ORDERS = 1 << ORDER_BITS  # run()'s ints: start minute × ORDERS + the stylist's order (fewer stylists)


class Slot(NamedTuple):
    """A bookable start: `staff` is free from `start` until the last service ends (and its
    buffer after). With several services they follow one another with the same staff.
    Immutable like the frozen dataclass it was, three times cheaper to build (a 14-day answer
    builds thousands)."""

    staff: StaffMember
    start: datetime
    end: datetime


def _minutes(moment: datetime) -> int:
    return int(moment.timestamp()) // 60


class TimeSlot(NamedTuple):
    """A bookable start and every stylist free at it (their pks, in the calendar's order): the
    answer grouped by time, as a booking page asks it ("which times, then who")."""

    start: datetime
    end: datetime
    staff: list[int]


class EpochMinutes(Func):
    """Minutes since 1970 UTC, computed by the database (rounded down, or up with ceil=True
    for the end of a busy interval): parsing thousands of zoned timestamps in Python costs more
    than the whole search."""

    output_field = BigIntegerField()

    def __init__(self, expression, *, ceil: bool = False):
        self.ceil = ceil
        super().__init__(expression)

    def as_postgresql(self, compiler, connection, **extra):
        # date_part gives a double (exact for microsecond timestamps of this era, so floor and
        # ceil of /60 are exact too); EXTRACT gives a numeric, ~1 µs more per value in Postgres.
        rounding = "CEIL" if self.ceil else "FLOOR"
        template = f"{rounding}(date_part('epoch', %(expressions)s) / 60)::bigint"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler, connection, **extra):
        add = 59 if self.ceil else 0
        template = f"((CAST(strftime('%%%%s', %(expressions)s) AS INTEGER) + {add}) / 60)"
        return self.as_sql(compiler, connection, template=template, **extra)


def _rows(qs) -> list[tuple]:
    """The rows of a values_list queryset without Django's per-row converters (the columns are
    plain integers here; thousands of rows make the converters a visible cost), unsorted: the
    intervals are sorted in memory (_merge), so the models' default ordering would only add a
    sort of every row to the statement."""
    sql, params = qs.order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _merge(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, non-overlapping: then starts *and* ends increase, which the scans rely on."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _free(busy: list[tuple[int, int]], ends: list[int], start: int, end: int) -> bool:
    i = bisect_right(ends, start)
    return i == len(busy) or busy[i][0] >= end


class _Search:
    """The in-memory search of one availability_find call, in integer minutes since 1970 UTC.
    Built from a constant number of queries; run() walks each stylist's free gaps."""

    def __init__(self, *, location: Location, services: list[Service], people: list, days: list[date]):
        self.location = location
        self.people = people
        self.days = days
        spans = rules.chain(services, 0)  # the chaining rule booking uses too
        self.last_end, self.total_busy = spans[-1][1], spans[-1][2]
        self.spans = spans
        self.services = services
        self.grid = rules.grid_minutes()
        self.range_start = rules.day_bounds(location, days[0])[0]
        self.range_end = rules.day_bounds(location, days[-1])[1]
        self.horizon = self.range_end + timedelta(minutes=self.total_busy)
        # Wall-clock times become instants once per (day, time), not once per stylist.
        self._instants: dict[tuple[date, object], int] = {}
        # Whether the resources are free depends on the start only: once per minute.
        self._resource_ok: dict[int, bool] = {}

    # ---- loading (one query each) ----

    def load(self) -> bool:
        """Hours, busy intervals and resources; False when a needed resource type has none."""
        ids = [p.pk for p in self.people]
        self.opening: dict[int, list] = defaultdict(list)
        for weekday, opens, closes in OpeningHours.objects.filter(location=self.location).values_list(
            "weekday", "opens", "closes"
        ):
            self.opening[weekday].append((opens, closes))
        self.working: dict[tuple[int, int], list] = defaultdict(list)
        for staff_id, weekday, start, end in WorkingHours.objects.filter(
            location=self.location, staff_id__in=ids
        ).values_list("staff_id", "weekday", "start", "end"):
            self.working[(staff_id, weekday)].append((start, end))
        self.staff_busy = self._staff_busy(ids)
        return self._load_resources()

    def _staff_busy(self, ids: list[int]) -> dict[int, list[tuple[int, int]]]:
        busy: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for staff_id, start, end in _rows(
            TimeOff.objects.filter(
                staff_id__in=ids, start__lt=self.range_end, end__gt=self.range_start
            ).values_list("staff_id", EpochMinutes("start"), EpochMinutes("end", ceil=True))
        ):
            busy[staff_id].append((start, end))
        for staff_id, start, end in _rows(
            AppointmentItem.objects.filter(
                staff_id__in=ids, is_active=True, start__lt=self.horizon, busy_until__gt=self.range_start
            ).values_list("staff_id", EpochMinutes("start"), EpochMinutes("busy_until", ceil=True))
        ):
            busy[staff_id].append((start, end))
        return {sid: _merge(v) for sid, v in busy.items()}

    def _load_resources(self) -> bool:
        """For each service that needs a resource: the busy lists of every resource of its type."""
        self.resource_checks: list = []
        needed_types = {s.resource_type for s in self.services if s.resource_type}
        if not needed_types:
            return True
        resources = dict(
            Resource.objects.filter(
                location=self.location, is_active=True, type__in=needed_types
            ).values_list("pk", "type")
        )
        res_busy: dict[int, list] = {pk: [] for pk in resources}
        for resource_id, start, end in _rows(
            AppointmentItem.objects.filter(
                resource_id__in=list(resources),
                is_active=True,
                start__lt=self.horizon,
                busy_until__gt=self.range_start,
            ).values_list("resource_id", EpochMinutes("start"), EpochMinutes("busy_until", ceil=True))
        ):
            res_busy[resource_id].append((start, end))
        by_type: dict[str, list[tuple[list, list]]] = {}
        for resource_id, kind in resources.items():
            merged = _merge(res_busy[resource_id])
            by_type.setdefault(kind, []).append((merged, [e for _s, e in merged]))
        if any(t not in by_type for t in needed_types):
            return False
        self.resource_checks = [
            (a, b, by_type[s.resource_type])
            for s, (a, _e, b) in zip(self.services, self.spans, strict=True)
            if s.resource_type
        ]
        return True

    # ---- the walk ----

    def _at(self, day: date, wall) -> int:
        key = (day, wall)
        if key not in self._instants:
            self._instants[key] = _minutes(rules.local_dt(self.location, day, wall))
        return self._instants[key]

    def _resources_free(self, start: int) -> bool:
        ok = self._resource_ok.get(start)
        if ok is None:
            ok = self._resource_ok[start] = all(
                any(_free(rb, re, start + a, start + b) for rb, re in pool)
                for a, b, pool in self.resource_checks
            )
        return ok

    def run(self, now: datetime) -> list[int]:
        """Every free start as one int, start minute × ORDERS + stylist order, sorted (by start,
        then stylist). One int per (stylist, start) instead of a tuple: a range of them is
        appended in C and ints sort several times faster than tuples (80 stylists over 28 days
        are 79,000 of them)."""
        now_min = _minutes(now) + (1 if now.second or now.microsecond else 0)
        found: list[int] = []
        midnights = {day: self._at(day, time(0)) for day in self.days}
        opening_by_day = {
            day: [
                (self._at(day, a), self._at(day, b)) for a, b in sorted(self.opening.get(day.weekday(), []))
            ]
            for day in self.days
        }
        # Stylists mostly share their working hours: the open windows once per (day, shifts).
        windows_by_shifts: dict[tuple, list[tuple[int, int]]] = {}
        day_weekdays = [(day, day.weekday()) for day in self.days]
        for order, person in enumerate(self.people):
            mine = self.staff_busy.get(person.pk, [])
            ends = [e for _s, e in mine]
            for day, weekday in day_weekdays:
                shifts = self.working.get((person.pk, weekday))
                if not shifts:
                    continue
                key = (day, *shifts)
                windows = windows_by_shifts.get(key)
                if windows is None:
                    windows = windows_by_shifts[key] = rules.intersect(
                        opening_by_day[day], sorted((self._at(day, a), self._at(day, b)) for a, b in shifts)
                    )
                for window in windows:
                    self._walk(found, order, mine, ends, window, max(window[0], now_min), midnights[day])
        found.sort()  # by start, then stylist order (each pair is unique)
        return found

    def _walk(self, found, order, mine, ends, window, free_from, base) -> None:
        """The free gaps between one stylist's busy intervals inside one window: a start s is
        free when [s, s + total_busy) misses every busy interval and the last service ends
        (s + last_end) inside the window. Starts are on the grid aligned on local midnight."""
        window_end = window[1]
        last_end, total_busy, grid = self.last_end, self.total_busy, self.grid
        n_busy = len(mine)
        i = bisect_right(ends, free_from)
        while free_from + last_end <= window_end:
            next_busy = mine[i][0] if i < n_busy else None
            limit = window_end - last_end
            if next_busy is not None and next_busy - total_busy < limit:
                limit = next_busy - total_busy
            starts = range(base + -(-(free_from - base) // grid) * grid, limit + 1, grid)
            if self.resource_checks:
                found.extend(s * ORDERS + order for s in starts if self._resources_free(s))
            elif starts:
                found.extend(range(starts.start * ORDERS + order, starts.stop * ORDERS, grid * ORDERS))
            if next_busy is None or next_busy >= window_end:
                break
            if mine[i][1] > free_from:
                free_from = mine[i][1]
            i += 1

    def slots(self, found: list[int]) -> list[Slot]:
        # Forty stylists share the same grid times: one datetime per minute value, not per slot.
        tz, last_end, people = self.location.tz, self.last_end, self.people
        moments: dict[int, datetime] = {}
        out = []
        mask = ORDERS - 1
        for v in found:
            s, order = v >> ORDER_BITS, v & mask
            start = moments.get(s)
            if start is None:
                start = moments[s] = datetime.fromtimestamp(s * 60, tz)
            end = moments.get(s + last_end)
            if end is None:
                end = moments[s + last_end] = datetime.fromtimestamp((s + last_end) * 60, tz)
            out.append(Slot(people[order], start, end))
        return out

    def times(self, found: list[int]) -> list[TimeSlot]:
        tz, last_end = self.location.tz, self.last_end
        pks = [p.pk for p in self.people]
        out: list[TimeSlot] = []
        current, staff, mask = None, [], ORDERS - 1
        for v in found:
            s = v >> ORDER_BITS
            if s != current:
                staff = []
                out.append(
                    TimeSlot(
                        datetime.fromtimestamp(s * 60, tz),
                        datetime.fromtimestamp((s + last_end) * 60, tz),
                        staff,
                    )
                )
                current = s
            staff.append(pks[v & mask])
        return out


def _search(
    *,
    location: Location,
    services: list[Service],
    start_date: date,
    end_date: date,
    staff: StaffMember | None,
) -> _Search | None:
    """The checks and the loaded search shared by availability_find and availability_times;
    None when nothing can be free."""
    if not services:
        raise ValidationError({"service": [_("Choose at least one service.")]})
    if end_date < start_date:
        raise ValidationError({"date": [_("The end date is before the start date.")]})
    if (end_date - start_date).days >= MAX_DAYS:
        raise ValidationError({"date": [_("Ask for at most %(n)s days at a time.") % {"n": MAX_DAYS}]})
    offered = set(
        Service.objects.filter(
            pk__in=[s.pk for s in services], is_active=True, locations=location
        ).values_list("pk", flat=True)
    )
    if any(s.pk not in offered for s in services):
        return None
    staff_qs = StaffMember.objects.bookable().filter(locations=location)
    if staff is not None:
        staff_qs = staff_qs.filter(pk=staff.pk)
    people = list(staff_qs.order_by("display_name", "pk")[:ORDERS])
    if not people:
        return None
    days = [start_date + timedelta(days=n) for n in range((end_date - start_date).days + 1)]
    search = _Search(location=location, services=services, people=people, days=days)
    return search if search.load() else None


def availability_find(
    *,
    location: Location,
    services: list[Service],
    start_date: date,
    end_date: date,
    staff: StaffMember | None = None,
    now: datetime | None = None,
) -> list[Slot]:
    """Every free start on the grid (settings.BOOKING_SLOT_MINUTES, local wall clock) between
    the local dates `start_date` and `end_date` (inclusive) where one bookable stylist (or
    `staff`) can do all `services` in a row (rules.chain: each after the previous one's buffer):
    inside opening and working hours, not on time off, clear of active bookings including
    buffers, with a free resource where a service needs one. Never a start before `now`
    (default: the current time). Sorted by start, then staff."""
    search = _search(
        location=location, services=services, start_date=start_date, end_date=end_date, staff=staff
    )
    if search is None:
        return []
    return search.slots(search.run(now or timezone.now()))


def availability_times(
    *,
    location: Location,
    services: list[Service],
    start_date: date,
    end_date: date,
    staff: StaffMember | None = None,
    now: datetime | None = None,
) -> list[TimeSlot]:
    """availability_find's answer grouped by start: each free start once, with the pks of the
    stylists free at it. The same search; what a booking page for "any stylist" needs, and
    one object per time instead of per (stylist, time): 80 stylists over 28 days are about
    1,200 times instead of 79,000 slots."""
    search = _search(
        location=location, services=services, start_date=start_date, end_date=end_date, staff=staff
    )
    if search is None:
        return []
    return search.times(search.run(now or timezone.now()))
