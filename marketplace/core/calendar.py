"""Business calendar: every business rule counts days and months in Beijing time.

Periods are half-open ranges [start, end). Services take ``now=`` so tests can pin time.
"""

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from dateutil.relativedelta import relativedelta
from django.utils import timezone

BEIJING = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    return timezone.now()


def beijing(dt: datetime) -> datetime:
    """The same instant, in Beijing time."""
    return dt.astimezone(BEIJING)


def today(at: datetime | None = None) -> date:
    return beijing(at or now()).date()


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=BEIJING)


def month_range(year: int, month: int) -> tuple[datetime, datetime]:
    """[first instant of the month, first instant of the next month) in Beijing time."""
    start = start_of_day(date(year, month, 1))
    return start, start + relativedelta(months=1)


def add_months(dt: datetime, months: int) -> datetime:
    """Calendar months in Beijing time, clamped to the month's end (Jan 31 + 1 month = Feb 28/29)."""
    return beijing(dt) + relativedelta(months=months)


def add_period(dt: datetime, period_type: str, count: int) -> datetime:
    if period_type == "year":
        return add_months(dt, 12 * count)
    if period_type == "month":
        return add_months(dt, count)
    if period_type == "day":
        return dt + timedelta(days=count)
    raise ValueError(f"unknown period type {period_type!r}")


@lru_cache(maxsize=64)
def _cn_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("CN", years=year)


def is_holiday(day: date) -> bool:
    return day in _cn_holidays(day.year)


def is_working_day(day: date) -> bool:
    """Monday to Friday and not a public holiday in China."""
    return day.weekday() < 5 and not is_holiday(day)


def next_working_day(day: date) -> date:
    """``day`` itself when it is a working day, else the next one."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def add_working_days(day: date, count: int) -> date:
    """The date ``count`` working days after ``day``."""
    while count > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            count -= 1
    return day
