"""One clock and one calendar style per language, for pages and messages alike.

Dates are ISO, 2026-12-04; times are 24-hour, 14:00, in both languages (settings.
FORMAT_MODULE_PATH makes Django's own date formats say the same). Where a weekday helps, a day
is labelled "Fri 2026-12-04" in English and "12月4日 周五" in Chinese ("2027年1月4日 周一" when
it is not this year). Weekday names come from fixed tables, not the request's catalogue: a
message is in the client's language whoever sends it. Templates use these through
`{% load clock %}` (salon_crm.templatetags.clock); messaging.appointment_messages through
when_text."""

from datetime import date, datetime, tzinfo

from django.utils import timezone
from django.utils.translation import get_language

EN_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
ZH_WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


def is_chinese(language: str | None = None) -> bool:
    """Is `language` (default: the active one) Chinese?"""
    return (language or get_language() or "").lower().startswith("zh")


def local_day(value: date | datetime, tz: tzinfo | None = None) -> date:
    """The calendar day of a date, of a naive datetime (already wall-clock time), or of an
    aware datetime in `tz` (default: the current time zone, the location's in its pages)."""
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = value.astimezone(tz or timezone.get_current_timezone())
        return value.date()
    return value


def weekday_short(value: date | datetime, language: str | None = None, tz: tzinfo | None = None) -> str:
    """'Fri' / '周五'."""
    names = ZH_WEEKDAYS if is_chinese(language) else EN_WEEKDAYS
    return names[local_day(value, tz).weekday()]


def day_label(
    value: date | datetime,
    language: str | None = None,
    tz: tzinfo | None = None,
    today: date | None = None,
) -> str:
    """'Fri 2026-12-04' in English; '12月4日 周五' in Chinese, with the year ('2027年1月4日 周一')
    when the day is not in this year (`today`, default the current day in `tz`)."""
    day = local_day(value, tz)
    if not is_chinese(language):
        return f"{EN_WEEKDAYS[day.weekday()]} {day:%Y-%m-%d}"
    if today is None:
        today = timezone.localdate(timezone=tz) if tz else timezone.localdate()
    year = "" if day.year == today.year else f"{day.year}年"
    return f"{year}{day.month}月{day.day}日 {ZH_WEEKDAYS[day.weekday()]}"


def clock(value: datetime, tz: tzinfo | None = None) -> str:
    """'14:00': 24-hour, in `tz` (default: the current time zone) for an aware datetime."""
    if isinstance(value, datetime) and timezone.is_aware(value):
        value = value.astimezone(tz or timezone.get_current_timezone())
    return f"{value:%H:%M}"


def when_text(moment: datetime, tz: tzinfo, language: str, today: date | None = None) -> str:
    """'Fri 2026-12-04 10:00' / '12月4日 周五 10:00': a day label and the time, in `tz`."""
    return f"{day_label(moment, language, tz, today)} {clock(moment, tz)}"
