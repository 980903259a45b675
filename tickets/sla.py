"""Business-calendar arithmetic for ticket SLAs: a seller's reception hours, in Beijing time.

Pure Python (standard library and ``marketplace.core.calendar`` for China's public holidays), no
models and no settings, so it is cheap to call from services, selectors and tasks alike.

Conventions:

- A schedule is a set of weekly **windows** ``(weekday, start, end)`` in Beijing time, weekday 0 =
  Monday .. 6 = Sunday. Windows are half-open, ``[start, end)``, and stay within one day.
- ``end == time(0, 0)`` means **24:00**, the midnight that ends the day: ``(4, time(20), time(0))``
  is Friday 20:00 until Saturday 00:00, and ``(0, time(0), time(0))`` is all of Monday. A window
  that crosses midnight is written as two windows, one on each day.
- A date is **closed** (no window opens on it) when it is one of the seller's ``closed_dates`` or,
  when ``observe_public_holidays`` is set, a public holiday in China (``core.calendar.is_holiday``).
- Every instant taken must be timezone-aware (any timezone; it is converted to Beijing time), a
  naive one raises ``ValueError``. Every instant returned is aware, in ``BEIJING``.
- Searches forward in time (``next_open``, ``add_open_time``) look at most ``HORIZON_DAYS``
  calendar days, starting with the Beijing date of the instant given, and answer ``None`` when the
  answer lies beyond: a schedule closed for that long has no usable SLA.

Arithmetic is exact, in integer microseconds, window by window and day by day; nothing loops
minute by minute.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from marketplace.core.calendar import BEIJING, is_holiday

__all__ = [
    "HORIZON_DAYS",
    "MIN_WEEKLY_MINUTES",
    "Schedule",
    "add_open_time",
    "is_open",
    "next_open",
    "normalise_windows",
    "open_time_between",
    "open_time_in_intervals",
    "weekly_minutes",
]

MIN_WEEKLY_MINUTES = 5 * 8 * 60  # a seller must be reachable at least 40 hours in a normal week
HORIZON_DAYS = 400  # forward searches give up (None) after this many calendar days

_US = timedelta(microseconds=1)
_MINUTE_US = 60 * 1_000_000
_DAY_US = 24 * 60 * _MINUTE_US
_ONE_DAY = timedelta(days=1)
_MIDNIGHT = time(0, 0)

Window = tuple[int, time, time]
# Per weekday (index 0..6), the day's merged windows as (start, end) microseconds since midnight.
_Week = tuple[tuple[tuple[int, int], ...], ...]


def _time_us(value: time) -> int:
    return ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond


def _us_time(value: int) -> time:
    """Microseconds since midnight as a time of day; 24:00 becomes ``time(0, 0)``."""
    if value >= _DAY_US:
        return _MIDNIGHT
    seconds, micro = divmod(value, 1_000_000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return time(hour, minute, second, micro)


def _week(windows) -> _Week:
    """Validate ``windows`` and merge them into per-weekday sorted, disjoint (start, end) pairs."""
    days: list[list[tuple[int, int]]] = [[] for _ in range(7)]
    for window in windows:
        try:
            weekday, start, end = window
        except (TypeError, ValueError):
            raise ValueError(f"a window is (weekday, start, end), not {window!r}") from None
        if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise ValueError(f"weekday must be an int 0 (Monday) .. 6 (Sunday), not {weekday!r}")
        if not isinstance(start, time) or not isinstance(end, time):
            raise ValueError(f"start and end must be datetime.time values, not {start!r}, {end!r}")
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError("window times are Beijing wall-clock times and must be naive")
        start_us = _time_us(start)
        end_us = _DAY_US if end == _MIDNIGHT else _time_us(end)
        if end_us <= start_us:
            raise ValueError(f"a window must end after it starts: {start} - {end} (use 00:00 for 24:00)")
        days[weekday].append((start_us, end_us))
    week = []
    for spans in days:
        merged: list[list[int]] = []
        for start_us, end_us in sorted(spans):
            if merged and start_us <= merged[-1][1]:  # overlapping or adjacent
                merged[-1][1] = max(merged[-1][1], end_us)
            else:
                merged.append([start_us, end_us])
        week.append(tuple((s, e) for s, e in merged))
    return tuple(week)


def normalise_windows(windows) -> tuple[Window, ...]:
    """The same opening hours, sorted by (weekday, start), overlapping or adjacent windows of a day
    merged into one. Raises ``ValueError`` on a malformed window (bad weekday, end not after start,
    timezone-aware times). 24:00 stays ``time(0, 0)``."""
    week = _week(windows)
    return tuple((day, _us_time(start), _us_time(end)) for day, spans in enumerate(week) for start, end in spans)


def weekly_minutes(windows) -> int:
    """Open minutes in a normal week (no closed dates), overlaps counted once, rounded down to whole
    minutes. Accepts a ``Schedule`` as well as a sequence of windows. Compare with
    ``MIN_WEEKLY_MINUTES``."""
    if isinstance(windows, Schedule):
        windows = windows.windows
    return sum(e - s for spans in _week(windows) for s, e in spans) // _MINUTE_US


@dataclass(frozen=True)
class Schedule:
    """A seller's reception hours in Beijing time.

    ``windows`` are ``(weekday, start, end)`` with weekday 0 = Monday .. 6 = Sunday and
    ``start < end`` within the day, half-open ``[start, end)``; ``end == time(0, 0)`` means 24:00
    (until midnight). Windows may overlap or touch; they count once. ``closed_dates`` are the
    seller's own days off; with ``observe_public_holidays`` China's public holidays are closed too.

    Lists and sets are accepted and stored as a tuple and a frozenset, so a schedule is hashable.
    Malformed windows raise ``ValueError`` here, not later.
    """

    windows: tuple[Window, ...]
    closed_dates: frozenset[date] = frozenset()
    observe_public_holidays: bool = True
    _week: _Week = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        week = _week(self.windows)  # validates before anything is coerced
        object.__setattr__(self, "windows", tuple(tuple(w) for w in self.windows))
        object.__setattr__(self, "closed_dates", frozenset(self.closed_dates))
        object.__setattr__(self, "_week", week)

    @property
    def has_windows(self) -> bool:
        """Whether any window opens in a normal week."""
        return any(self._week)


@lru_cache(maxsize=8192)
def _public_holiday(day: date) -> bool:
    return is_holiday(day)


def _day_spans(schedule: Schedule, day: date) -> tuple[tuple[int, int], ...]:
    """The (start, end) microsecond spans open on ``day``; empty when the date is closed."""
    spans = schedule._week[day.weekday()]
    if not spans or day in schedule.closed_dates or (schedule.observe_public_holidays and _public_holiday(day)):
        return ()
    return spans


def _split(at: datetime, name: str = "at") -> tuple[date, int]:
    """The Beijing date of an aware instant and its microseconds since that date's midnight."""
    if not isinstance(at, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(at).__name__}")
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got the naive {at!r}")
    local = at.astimezone(BEIJING)
    return local.date(), ((local.hour * 60 + local.minute) * 60 + local.second) * 1_000_000 + local.microsecond


def _instant(day: date, offset_us: int) -> datetime:
    """``offset_us`` microseconds after midnight (Beijing) starting ``day``; 24:00 is next midnight."""
    return datetime(day.year, day.month, day.day, tzinfo=BEIJING) + timedelta(microseconds=offset_us)


def is_open(schedule: Schedule, at: datetime) -> bool:
    """Whether the seller receives at the instant ``at`` (evaluated in Beijing time; windows are
    half-open, so a window's end is already closed)."""
    day, pos = _split(at)
    return any(s <= pos < e for s, e in _day_spans(schedule, day))


def _first_open(schedule: Schedule, day: date, pos: int, remaining: int) -> datetime | None:
    """The instant at which ``remaining`` microseconds of open time have elapsed counting from
    ``pos`` on ``day``; with ``remaining == 0`` the first open instant at or after it."""
    if not schedule.has_windows:
        return None
    for _ in range(HORIZON_DAYS):
        for s, e in _day_spans(schedule, day):
            if e <= pos:
                continue
            begin = s if s > pos else pos
            if remaining == 0:
                return _instant(day, begin)
            available = e - begin
            if remaining <= available:
                return _instant(day, begin + remaining)
            remaining -= available
        day += _ONE_DAY
        pos = 0
    return None


def next_open(schedule: Schedule, at: datetime) -> datetime | None:
    """``at`` itself (in Beijing time) when the seller is open then, else the start of the next open
    window. ``None`` when the schedule has no windows at all, or nothing opens within
    ``HORIZON_DAYS`` days (e.g. every open weekday falls on closed dates)."""
    day, pos = _split(at)
    return _first_open(schedule, day, pos, 0)


def add_open_time(schedule: Schedule, start: datetime, duration: timedelta) -> datetime | None:
    """The due time: the instant at which ``duration`` of open time has elapsed counting from
    ``start``.

    For a positive duration this is the earliest instant ``t`` with
    ``open_time_between(schedule, start, t) == duration``. It is never inside a closed period, but
    it may be exactly the end of an open window: an SLA that runs out at closing time is due at
    closing time, not when the seller opens again. A zero duration answers ``next_open(start)``
    (``start`` itself when open). ``None`` when the answer lies beyond ``HORIZON_DAYS`` days or the
    schedule has no windows. A negative duration raises ``ValueError``.
    """
    if duration < timedelta(0):
        raise ValueError(f"duration must not be negative, got {duration!r}")
    day, pos = _split(start, "start")
    return _first_open(schedule, day, pos, duration // _US)


def _open_us(schedule: Schedule, start: datetime, end: datetime) -> int:
    start_day, pos = _split(start, "start")
    end_day, end_pos = _split(end, "end")
    if (end_day, end_pos) <= (start_day, pos):
        return 0
    total = 0
    day = start_day
    while True:
        limit = end_pos if day == end_day else _DAY_US
        for s, e in _day_spans(schedule, day):
            if e <= pos:
                continue
            if s >= limit:
                break
            total += (e if e < limit else limit) - (s if s > pos else pos)
        if day == end_day:
            return total
        day += _ONE_DAY
        pos = 0


def open_time_between(schedule: Schedule, start: datetime, end: datetime) -> timedelta:
    """Open time within ``[start, end)``; zero when ``end <= start``."""
    return timedelta(microseconds=_open_us(schedule, start, end))


def open_time_in_intervals(schedule: Schedule, intervals) -> timedelta:
    """Open time covered by a list of ``(start, end)`` intervals, each half-open; overlapping
    intervals count once and empty ones (``end <= start``) count nothing. Used for SLA clocks with
    pauses: pass the periods during which the clock was running."""
    spans = []
    for start, end in intervals:
        _split(start, "start")
        _split(end, "end")
        if end > start:
            spans.append((start, end))
    spans.sort()
    total = 0
    current_start = current_end = None
    for start, end in spans:
        if current_end is not None and start <= current_end:
            if end > current_end:
                current_end = end
            continue
        if current_end is not None:
            total += _open_us(schedule, current_start, current_end)
        current_start, current_end = start, end
    if current_end is not None:
        total += _open_us(schedule, current_start, current_end)
    return timedelta(microseconds=total)
