"""The day grid: rows of the slot grid between opening and closing (local time of the
location), one column per working stylist, appointment items placed by their start and length.
Pure layout over data the selector already loaded: no queries here."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from accounts.models import StaffMember
from appointments.models import AppointmentStatus
from appointments.selectors import CalendarItem, DayCalendar
from appointments.services.rules import grid_minutes, local_dt

ROW_PX = 22  # height of one grid row (15 minutes by default) in CSS pixels
DEFAULT_HOURS = (time(9), time(21))  # shown when the location has no opening hours that day
FAINT = {AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW}


@dataclass
class Block:
    item: CalendarItem
    top: int
    height: int
    status: str
    faint: bool


@dataclass
class Shade:
    """A stretch of a column the stylist is not working (outside shift, time off)."""

    top: int
    height: int
    label: str = ""


@dataclass
class Column:
    staff: StaffMember
    blocks: list[Block] = field(default_factory=list)
    shades: list[Shade] = field(default_factory=list)
    blocks_html: str = ""  # the blocks' HTML, joined (views.calendar._present)


@dataclass
class Row:
    start: datetime
    label: str  # "09:00"
    is_hour: bool


@dataclass
class Grid:
    day: date
    rows: list[Row]
    columns: list[Column]
    height: int
    row_px: int = ROW_PX


def _px(start: datetime, moment: datetime, minutes: int) -> int:
    return round((moment - start).total_seconds() / 60 / minutes * ROW_PX)


def build_grid(*, cal: DayCalendar, show_cancelled: bool) -> Grid:
    """Lay out a selectors.DayCalendar (cancelled items only if it loaded them)."""
    location, day = cal.location, cal.date
    items = cal.items
    minutes = grid_minutes()
    if cal.opening:
        start, end = cal.opening[0][0], max(b for _, b in cal.opening)
    else:
        start, end = local_dt(location, day, DEFAULT_HOURS[0]), local_dt(location, day, DEFAULT_HOURS[1])
    # Bookings outside the opening hours (an early walk-in, a late colour) stay visible.
    for item in items:
        start, end = min(start, item.start), max(end, item.end)
    start = start.astimezone(location.tz).replace(minute=0, second=0, microsecond=0)
    rows: list[Row] = []
    moment = start
    while moment < end:
        local = moment.astimezone(location.tz)
        rows.append(Row(moment, local.strftime("%H:%M"), local.minute == 0))
        moment += timedelta(minutes=minutes)
    height = len(rows) * ROW_PX
    # A column per stylist working that day (or holding a booking); all of them on a day when
    # nobody has hours, so the desk can still see the grid.
    sources = [c for c in cal.columns if c.working or c.items] or cal.columns
    columns = {c.staff.pk: Column(c.staff) for c in sources}
    for source in sources:
        column = columns[source.staff.pk]
        cursor = start
        for ws, we in source.working:
            if ws > cursor:
                column.shades.append(
                    Shade(_px(start, cursor, minutes), _px(cursor, min(ws, moment), minutes))
                )
            cursor = max(cursor, we)
        if cursor < moment:
            column.shades.append(Shade(_px(start, cursor, minutes), _px(cursor, moment, minutes)))
        for off in source.time_off:
            ts, te = max(off.start, start), min(off.end, moment)
            if ts < te:
                column.shades.append(Shade(_px(start, ts, minutes), _px(ts, te, minutes), off.reason))
    for item in items:
        status = item.status
        if status == AppointmentStatus.CANCELLED and not show_cancelled:
            continue
        column = columns[item.staff_id]
        column.blocks.append(
            Block(
                item=item,
                top=_px(start, item.start, minutes),
                height=max(_px(item.start, item.end, minutes), ROW_PX) - 2,
                status=status,
                faint=status in FAINT,
            )
        )
    return Grid(day=day, rows=rows, columns=list(columns.values()), height=height)
