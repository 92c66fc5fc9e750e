"""The next window of a schedule, with numbers: aligned, never repeated, never skipped."""

from datetime import UTC, datetime, timedelta

import pytest

from ray_apps.errors import SpecError
from ray_apps.monitoring.schedule import first_start, next_window, parse_duration, window_start

M15 = timedelta(minutes=15)
LATE = timedelta(seconds=30)


def at(h, m=0, s=0):
    return datetime(2026, 11, 24, h, m, s, tzinfo=UTC)


def test_windows_are_aligned_to_the_interval_from_the_epoch():
    assert window_start(at(10, 7, 12), M15) == at(10)
    assert window_start(at(10, 15), M15) == at(10, 15)
    assert window_start(at(10, 59, 59), timedelta(hours=1)) == at(10)
    assert window_start(at(10, 7), timedelta(seconds=7)).timestamp() % 7 == 0


def test_a_fresh_schedule_checks_the_window_holding_now_once_it_closes_and_lateness_passed():
    start = first_start(None, [], M15, now=at(10, 7))
    due = next_window([], start, M15, LATE)
    assert (due.since, due.until, due.at) == (at(10), at(10, 15), at(10, 15, 30))
    assert not due.ready(at(10, 15, 29)) and due.ready(at(10, 15, 30))


def test_checked_windows_are_never_repeated_and_gaps_are_caught_up_in_order():
    checked = [at(10), at(10, 15), at(11)]  # down from 10:30 to 11:00, then checked 11:00
    start = first_start(None, checked, M15, now=at(12, 1))
    assert start == at(10)  # a restart goes on from its own history
    due = next_window(checked, start, M15, LATE)
    assert due.since == at(10, 30) and due.ready(at(12, 1))  # the gap first
    checked.append(due.since)
    assert next_window(checked, start, M15, LATE).since == at(10, 45)
    checked.append(at(10, 45))
    due = next_window(checked, start, M15, LATE)
    assert due.since == at(11, 15)  # 11:00 was checked: not again
    for since in (at(11, 15), at(11, 30)):
        checked.append(since)
    due = next_window(checked, start, M15, LATE)
    assert (due.since, due.until) == (at(11, 45), at(12))
    assert not due.ready(at(12, 0, 29))  # the current window: not closed + lateness yet


def test_an_explicit_since_is_rounded_down_and_wins_over_history():
    assert first_start(at(9, 20), [at(10)], M15, now=at(12)) == at(9, 15)
    due = next_window([at(10)], at(9, 15), M15)
    assert due.since == at(9, 15)


def test_windows_of_another_length_do_not_count_as_history():
    unaligned = at(10, 7)  # a one-shot --last 15m at 10:22 wrote window 10:07--10:22
    assert first_start(None, [unaligned], M15, now=at(12, 3)) == at(12)


def test_durations():
    assert parse_duration("15m") == M15
    assert parse_duration("2d") == timedelta(days=2)
    for bad in ("15", "0m", "1w", "m"):
        with pytest.raises(SpecError, match=f"--every {bad!r} is not a duration"):
            parse_duration(bad)
