"""SLA business-calendar arithmetic (tickets.sla): examples first, then properties over random
schedules, closed dates, start instants (in several timezones) and durations.

Pure arithmetic: no database."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from marketplace.core.calendar import BEIJING, is_holiday
from tests.factories import bj
from tickets.sla import (
    HORIZON_DAYS,
    MIN_WEEKLY_MINUTES,
    Schedule,
    add_open_time,
    is_open,
    next_open,
    normalise_windows,
    open_time_between,
    open_time_in_intervals,
    weekly_minutes,
)

US = timedelta(microseconds=1)
H = timedelta(hours=1)
WEEKDAYS_9_TO_6 = tuple((day, time(9), time(18)) for day in range(5))
OFFICE = Schedule(windows=WEEKDAYS_9_TO_6)
NATIONAL_DAY_2026 = [date(2026, 10, d) for d in (1, 2, 5, 6, 7)]  # the weekdays of the 2026 break


# --- examples --------------------------------------------------------------------------------------


def test_the_calendar_knows_the_holidays_these_tests_rely_on():
    assert all(is_holiday(day) for day in NATIONAL_DAY_2026)
    assert not is_holiday(date(2026, 6, 8)) and not is_holiday(date(2026, 10, 8))


def test_friday_afternoon_ticket_is_due_monday_morning():
    # Friday 2026-06-05 16:00: two hours on Friday, two on Monday.
    due = add_open_time(OFFICE, bj(2026, 6, 5, 16), 4 * H)
    assert due == bj(2026, 6, 8, 11)
    assert due.tzinfo is BEIJING


def test_weekend_ticket_counts_from_monday_opening():
    assert add_open_time(OFFICE, bj(2026, 6, 6, 10), 4 * H) == bj(2026, 6, 8, 13)


def test_public_holidays_are_skipped():
    # Wednesday 2026-09-30 16:00; Thursday 1 .. Wednesday 7 October are closed.
    assert add_open_time(OFFICE, bj(2026, 9, 30, 16), 4 * H) == bj(2026, 10, 8, 11)
    assert not is_open(OFFICE, bj(2026, 10, 5, 10))
    assert next_open(OFFICE, bj(2026, 9, 30, 18)) == bj(2026, 10, 8, 9)


def test_public_holidays_are_open_when_not_observed():
    schedule = Schedule(windows=WEEKDAYS_9_TO_6, observe_public_holidays=False)
    assert add_open_time(schedule, bj(2026, 9, 30, 16), 4 * H) == bj(2026, 10, 1, 11)
    assert is_open(schedule, bj(2026, 10, 5, 10))


def test_seller_closed_dates_are_skipped():
    schedule = Schedule(windows=WEEKDAYS_9_TO_6, closed_dates={date(2026, 6, 8)})
    assert add_open_time(schedule, bj(2026, 6, 5, 16), 4 * H) == bj(2026, 6, 9, 11)
    assert not is_open(schedule, bj(2026, 6, 8, 10))
    assert isinstance(schedule.closed_dates, frozenset)
    hash(schedule)  # lists and sets are stored as tuples and frozensets


def test_lunch_break_splits_the_day():
    mornings = [(d, time(9), time(12)) for d in range(5)]
    schedule = Schedule(windows=mornings + [(d, time(13), time(18)) for d in range(5)])
    assert add_open_time(schedule, bj(2026, 6, 8, 10), 3 * H) == bj(2026, 6, 8, 14)
    assert not is_open(schedule, bj(2026, 6, 8, 12, 30))
    assert next_open(schedule, bj(2026, 6, 8, 12, 30)) == bj(2026, 6, 8, 13)
    assert open_time_between(schedule, bj(2026, 6, 8), bj(2026, 6, 9)) == 8 * H


def test_an_sla_that_ends_at_closing_time_is_due_at_closing_time():
    due = add_open_time(OFFICE, bj(2026, 6, 8, 14), 4 * H)
    assert due == bj(2026, 6, 8, 18)
    assert not is_open(OFFICE, due) and is_open(OFFICE, due - US)


def test_windows_are_half_open():
    assert is_open(OFFICE, bj(2026, 6, 8, 9))
    assert is_open(OFFICE, bj(2026, 6, 8, 17, 59, 59, 999999))
    assert not is_open(OFFICE, bj(2026, 6, 8, 18))
    assert not is_open(OFFICE, bj(2026, 6, 8, 8, 59, 59, 999999))


def test_zero_duration_is_the_next_open_instant():
    assert add_open_time(OFFICE, bj(2026, 6, 8, 10, 5), timedelta(0)) == bj(2026, 6, 8, 10, 5)
    assert add_open_time(OFFICE, bj(2026, 6, 8, 18), timedelta(0)) == bj(2026, 6, 9, 9)
    assert next_open(OFFICE, bj(2026, 6, 8, 10, 5)) == bj(2026, 6, 8, 10, 5)


def test_overlapping_and_adjacent_windows_are_merged():
    windows = [(0, time(11), time(14)), (0, time(9), time(12)), (0, time(14), time(15)), (2, time(8), time(9))]
    assert normalise_windows(windows) == ((0, time(9), time(15)), (2, time(8), time(9)))
    assert weekly_minutes(windows) == 7 * 60
    schedule = Schedule(windows=windows)
    assert open_time_between(schedule, bj(2026, 6, 8), bj(2026, 6, 9)) == 6 * H
    assert add_open_time(schedule, bj(2026, 6, 8, 9), 6 * H) == bj(2026, 6, 8, 15)


def test_weekly_minimum():
    assert weekly_minutes(WEEKDAYS_9_TO_6) == 45 * 60
    eight_hours = [(d, time(9), time(17)) for d in range(5)]
    assert weekly_minutes(eight_hours) == MIN_WEEKLY_MINUTES
    short = [*eight_hours[:4], (4, time(9), time(16, 30))]
    assert MIN_WEEKLY_MINUTES - weekly_minutes(short) == 30
    assert weekly_minutes(Schedule(windows=short)) == MIN_WEEKLY_MINUTES - 30


def test_window_until_midnight():
    # Friday 20:00-24:00 and Saturday 00:00-02:00 make one evening shift.
    schedule = Schedule(windows=[(4, time(20), time(0)), (5, time(0), time(2))])
    assert weekly_minutes(schedule) == 6 * 60
    assert normalise_windows(schedule.windows) == ((4, time(20), time(0)), (5, time(0), time(2)))
    assert is_open(schedule, bj(2026, 6, 5, 23, 59, 59, 999999))
    assert is_open(schedule, bj(2026, 6, 6, 0))
    assert add_open_time(schedule, bj(2026, 6, 5, 23), 2 * H) == bj(2026, 6, 6, 1)
    assert open_time_between(schedule, bj(2026, 6, 5, 21), bj(2026, 6, 6, 1)) == 4 * H

    late = Schedule(windows=[(0, time(20), time(0))])
    due = add_open_time(late, bj(2026, 6, 8, 20), 4 * H)
    assert due == bj(2026, 6, 9, 0)  # 24:00 on Monday, the window's end
    assert not is_open(late, due) and is_open(late, due - US)
    whole_day = Schedule(windows=[(0, time(0), time(0))])
    assert open_time_between(whole_day, bj(2026, 6, 1), bj(2026, 6, 15)) == 48 * H


def test_open_time_between_across_a_weekend_and_a_holiday():
    assert open_time_between(OFFICE, bj(2026, 6, 5, 17), bj(2026, 6, 8, 10)) == 2 * H
    assert open_time_between(OFFICE, bj(2026, 9, 30, 17), bj(2026, 10, 8, 10)) == 2 * H
    # Any timezone in, Beijing time used: 09:00 UTC on Friday is 17:00 in Beijing.
    assert open_time_between(OFFICE, datetime(2026, 6, 5, 9, tzinfo=UTC), bj(2026, 6, 8, 10)) == 2 * H
    assert open_time_between(OFFICE, bj(2026, 6, 8, 10), bj(2026, 6, 8, 9)) == timedelta(0)
    assert open_time_between(OFFICE, bj(2026, 6, 8, 10), bj(2026, 6, 8, 10)) == timedelta(0)


def test_open_time_in_intervals_counts_overlaps_once():
    intervals = [
        (bj(2026, 6, 8, 10), bj(2026, 6, 8, 12)),
        (bj(2026, 6, 8, 9), bj(2026, 6, 8, 11)),  # overlaps the first: 9-12 is 3 hours
        (bj(2026, 6, 8, 17), bj(2026, 6, 9, 10)),  # 1 hour on Monday, 1 on Tuesday
        (bj(2026, 6, 9, 9, 30), bj(2026, 6, 9, 9, 45)),  # inside the previous one
        (bj(2026, 6, 10, 12), bj(2026, 6, 10, 11)),  # empty
    ]
    assert open_time_in_intervals(OFFICE, intervals) == 5 * H
    assert open_time_in_intervals(OFFICE, []) == timedelta(0)


def test_any_timezone_in_beijing_out():
    start = datetime(2026, 6, 5, 8, tzinfo=UTC)  # Friday 16:00 in Beijing
    due = add_open_time(OFFICE, start, 4 * H)
    assert due == bj(2026, 6, 8, 11) and due.tzinfo is BEIJING
    opened = next_open(OFFICE, datetime(2026, 6, 8, 3, tzinfo=UTC))
    assert opened == bj(2026, 6, 8, 11) and opened.tzinfo is BEIJING


def test_empty_schedule():
    empty = Schedule(windows=())
    assert next_open(empty, bj(2026, 6, 8, 10)) is None
    assert add_open_time(empty, bj(2026, 6, 8, 10), H) is None
    assert add_open_time(empty, bj(2026, 6, 8, 10), timedelta(0)) is None
    assert not is_open(empty, bj(2026, 6, 8, 10))
    assert weekly_minutes(()) == 0
    assert open_time_between(empty, bj(2026, 6, 1), bj(2026, 7, 1)) == timedelta(0)


def test_searches_stop_at_the_horizon():
    start = date(2026, 6, 1)
    closed = frozenset(start + timedelta(days=n) for n in range(HORIZON_DAYS + 30))
    schedule = Schedule(windows=WEEKDAYS_9_TO_6, closed_dates=closed)
    assert next_open(schedule, bj(2026, 6, 1, 10)) is None
    assert add_open_time(schedule, bj(2026, 6, 1, 10), H) is None
    # Within the horizon, a long closure is crossed.
    reopening = start + timedelta(days=HORIZON_DAYS - 30)
    schedule = Schedule(windows=[(reopening.weekday(), time(9), time(10))], closed_dates=closed - {reopening})
    assert next_open(schedule, bj(2026, 6, 1, 10)) == datetime.combine(reopening, time(9), tzinfo=BEIJING)


def test_naive_datetimes_are_refused():
    naive = datetime(2026, 6, 8, 10)
    aware = bj(2026, 6, 8, 10)
    with pytest.raises(ValueError):
        is_open(OFFICE, naive)
    with pytest.raises(ValueError):
        next_open(OFFICE, naive)
    with pytest.raises(ValueError):
        add_open_time(OFFICE, naive, H)
    with pytest.raises(ValueError):
        open_time_between(OFFICE, aware, naive)
    with pytest.raises(ValueError):
        open_time_between(OFFICE, naive, aware)
    with pytest.raises(ValueError):
        open_time_in_intervals(OFFICE, [(naive, aware)])


@pytest.mark.parametrize(
    "window",
    [
        (7, time(9), time(18)),
        (-1, time(9), time(18)),
        (0, time(18), time(9)),
        (0, time(9), time(9)),
        (0, time(9, tzinfo=UTC), time(18)),
        (0, "09:00", "18:00"),
        (0, time(9)),
    ],
)
def test_malformed_windows_are_refused(window):
    with pytest.raises(ValueError):
        Schedule(windows=[window])
    with pytest.raises(ValueError):
        normalise_windows([window])


def test_negative_duration_is_refused():
    with pytest.raises(ValueError):
        add_open_time(OFFICE, bj(2026, 6, 8, 10), -H)


# --- properties ------------------------------------------------------------------------------------

QUARTER = timedelta(minutes=15)
FIRST_DAY, LAST_DAY = date(2026, 1, 1), date(2027, 12, 31)
ZONES = [BEIJING, UTC, ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata")]


def quarter(n: int) -> time:
    """The n-th quarter-hour of a day as a time; 96 is 24:00, written time(0, 0)."""
    return time(0, 0) if n == 96 else time(n // 4, n % 4 * 15)


@st.composite
def windows(draw):
    start = draw(st.integers(0, 95))
    end = draw(st.integers(start + 1, 96))
    return (draw(st.integers(0, 6)), quarter(start), quarter(end))


schedules = st.builds(
    Schedule,
    windows=st.lists(windows(), min_size=1, max_size=10),
    closed_dates=st.frozensets(st.dates(FIRST_DAY, LAST_DAY), max_size=40),
    observe_public_holidays=st.booleans(),
)
instants = st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31, 23, 59), timezones=st.sampled_from(ZONES))
spans = st.timedeltas(timedelta(0), timedelta(days=20))
durations = st.one_of(
    st.just(timedelta(0)),
    st.integers(0, 80 * 4).map(lambda n: n * QUARTER),
    st.timedeltas(timedelta(0), timedelta(hours=80)),
)


@settings(max_examples=200, deadline=None)
@given(schedules, instants, durations)
def test_due_time_is_never_inside_a_closed_period(schedule, start, duration):
    due = add_open_time(schedule, start, duration)
    assume(due is not None)
    assert due.tzinfo is BEIJING
    assert due >= start
    if duration == timedelta(0):
        assert due == next_open(schedule, start)
        assert is_open(schedule, due)
    else:
        assert is_open(schedule, due) or is_open(schedule, due - US)


@settings(max_examples=200, deadline=None)
@given(schedules, instants, durations)
def test_open_time_until_the_due_time_is_the_duration(schedule, start, duration):
    due = add_open_time(schedule, start, duration)
    assume(due is not None)
    assert open_time_between(schedule, start, due) == duration
    if duration > timedelta(0):  # and it is the earliest such instant
        assert open_time_between(schedule, start, due - US) == duration - US


@settings(max_examples=200, deadline=None)
@given(schedules, instants, durations, durations)
def test_due_time_grows_with_the_duration(schedule, start, d1, d2):
    d1, d2 = sorted([d1, d2])
    due1, due2 = add_open_time(schedule, start, d1), add_open_time(schedule, start, d2)
    assume(due1 is not None and due2 is not None)
    assert due1 <= due2


@settings(max_examples=200, deadline=None)
@given(schedules, instants, instants, durations)
def test_due_time_grows_with_the_start(schedule, start1, start2, duration):
    start1, start2 = sorted([start1, start2])
    due1, due2 = add_open_time(schedule, start1, duration), add_open_time(schedule, start2, duration)
    assume(due1 is not None and due2 is not None)
    assert due1 <= due2


@settings(max_examples=200, deadline=None)
@given(schedules, instants, spans, spans)
def test_open_time_between_is_additive(schedule, a, ab, bc):
    # Adding to an aware datetime moves its wall clock: in a zone with daylight saving time that is
    # not elapsed time (New York's 02:59 + 1 min is 03:00 EDT, an hour earlier). Add in UTC.
    a = a.astimezone(UTC)
    b, c = a + ab, a + ab + bc
    assert open_time_between(schedule, a, c) == open_time_between(schedule, a, b) + open_time_between(schedule, b, c)
    assert open_time_between(schedule, c, a) == timedelta(0)
    assert open_time_in_intervals(schedule, [(a, b), (b, c), (a, c)]) == open_time_between(schedule, a, c)


@settings(max_examples=200, deadline=None)
@given(schedules, st.dates(FIRST_DAY, LAST_DAY), st.integers(0, 95), st.integers(0, 4 * 96))
def test_open_time_agrees_with_is_open_quarter_by_quarter(schedule, day, first, count):
    """Windows and dates change on quarter-hour boundaries, so counting open quarters is exact."""
    start = datetime.combine(day, quarter(first), tzinfo=BEIJING)
    slots = [start + n * QUARTER for n in range(count)]
    expected = sum((QUARTER for slot in slots if is_open(schedule, slot)), timedelta(0))
    assert open_time_between(schedule, start, start + count * QUARTER) == expected
    opening = next_open(schedule, start)
    first_open = next((slot for slot in slots if is_open(schedule, slot)), None)
    if first_open is not None:
        assert opening == first_open
    else:
        assert opening is None or opening >= start + count * QUARTER
