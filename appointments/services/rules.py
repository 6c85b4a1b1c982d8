"""Time rules shared by booking and availability: a location's opening hours and a stylist's
working hours are local wall-clock times of the location; they are turned into aware datetimes
per local date, so a DST change moves the UTC instants and never the local hours."""

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from django.conf import settings

from accounts.models import Location

Interval = tuple[datetime, datetime]
T = TypeVar("T", int, datetime)


# The dates the calendar takes. Python's dates end at years 1 and 9999, where a local day can
# be neither turned into UTC nor followed by the next day; nothing a salon books or looks up
# lies outside these years, and inside them every conversion is safe.
CALENDAR_FIRST = date(1900, 1, 1)
CALENDAR_LAST = date(2999, 12, 31)


def in_calendar(day: date) -> bool:
    """Whether a date (or a datetime's date in its own offset) is one the calendar takes."""
    if isinstance(day, datetime):
        day = day.date()
    return CALENDAR_FIRST <= day <= CALENDAR_LAST


def grid_minutes() -> int:
    return settings.BOOKING_SLOT_MINUTES


def on_grid(location: Location, moment: datetime, minutes: int) -> bool:
    """Whether an aware instant falls on a line of the booking grid: a whole multiple of
    `minutes` after local midnight on the location's wall clock (so 10:15 on a 15-minute grid
    in any time zone, whatever the zone's offset from UTC)."""
    local = moment.astimezone(location.tz)
    return (local.hour * 60 + local.minute) % minutes == 0 and not (local.second or local.microsecond)


def service_span(service, start: T) -> tuple[T, T, T]:
    """(start, end, busy_until) of one service beginning at `start`, in whole minutes or as an
    aware UTC datetime: the stylist (and resource) stay busy until the service's buffer after it
    is over. The chaining rule: the next service of a chain begins at busy_until. Availability
    (in minutes) and booking (in datetimes) both use this one function."""
    if isinstance(start, datetime):
        end = start + timedelta(minutes=service.duration_minutes)
        return start, end, end + timedelta(minutes=service.buffer_after_minutes)
    end = start + service.duration_minutes
    return start, end, end + service.buffer_after_minutes


def chain(services, start: T) -> list[tuple[T, T, T]]:
    """service_span of each service, each beginning when the previous one's buffer is over."""
    spans: list[tuple[T, T, T]] = []
    at = start
    for service in services:
        spans.append(service_span(service, at))
        at = spans[-1][2]
    return spans


def local_dt(location: Location, day: date, at: time) -> datetime:
    """The instant of wall-clock `at` on `day` at `location`, in UTC (a time that a DST gap
    skips resolves forwards, as zoneinfo does with fold=0). UTC because Python adds and
    subtracts datetimes that share a tzinfo on the wall clock: 00:00 to 00:00 across the spring
    change would be 24 hours in the zone's own tzinfo, 23 in UTC."""
    return datetime.combine(day, at, tzinfo=location.tz).astimezone(UTC)


def day_bounds(location: Location, day: date) -> Interval:
    """[local midnight, next local midnight) — 23 or 25 hours long on DST days."""
    return local_dt(location, day, time(0)), local_dt(location, day + timedelta(days=1), time(0))


def local_date(location: Location, moment: datetime) -> date:
    return moment.astimezone(location.tz).date()


def windows_for_day(location: Location, day: date, rows: Iterable[tuple[time, time]]) -> list[Interval]:
    """(start, end) wall-clock rows of one weekday → sorted aware intervals on `day`."""
    return sorted((local_dt(location, day, a), local_dt(location, day, b)) for a, b in rows)


def intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """The intersection of two sorted lists of intervals."""
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start = max(a[i][0], b[j][0])
        end = min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def within(windows: list[Interval], start: datetime, end: datetime) -> bool:
    return any(ws <= start and end <= we for ws, we in windows)


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    return a_start < b_end and b_start < a_end


def to_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def floor_to_grid(location: Location, moment: datetime, minutes: int) -> datetime:
    moment = to_utc(moment)
    local = moment.astimezone(location.tz)
    into = (local.hour * 60 + local.minute) % minutes
    return moment - timedelta(minutes=into, seconds=local.second, microseconds=local.microsecond)
