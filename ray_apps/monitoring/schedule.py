"""Which window a scheduled monitor checks next: a pure function of storage, start, interval, time.

    raymaker monitor cancer:3 --every 15m            # checks [10:00, 10:15) at 10:15 + lateness

Windows are aligned to the interval: ``[k·every, (k+1)·every)`` from the Unix epoch (UTC), so a
restart, a second host or a one-shot ``--since 10:00 --until 10:15`` all name the same windows
and the same report folders. A window counts as checked when its ``summary.json`` exists
(``run_monitor`` writes it last); ``next_window`` returns the earliest window at or after the
start that is not checked, and when it may be checked (its end plus ``lateness``: capture files
reach storage a flush interval after the request). So a restart never checks a window twice and
never skips one: windows missed while the monitor was down come first, in order.

Alerts are sent once per window, before its ``summary.json``: a process killed in the instant
between the POST and that write alerts again on restart (at least once, never zero times).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ray_apps.errors import SpecError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True)
class Due:
    """The next window to check, and the earliest time it may be checked."""

    since: datetime
    until: datetime
    at: datetime  # until + lateness

    def ready(self, now: datetime) -> bool:
        return now >= self.at


def parse_duration(text: str, option: str = "--every", *, zero: bool = False) -> timedelta:
    """``30s``, ``15m``, ``1h``, ``2d`` as a timedelta (``0s`` when ``zero``); SpecError
    naming the option otherwise."""
    match = re.fullmatch(r"(\d+)([smhd])", text.strip())
    if not match or (int(match[1]) == 0 and not zero):
        raise SpecError(f"{option} {text!r} is not a duration; write e.g. 30s, 15m, 1h or 2d")
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


def window_start(t: datetime, every: timedelta) -> datetime:
    """Start of the aligned window holding ``t``."""
    return EPOCH + ((t - EPOCH) // every) * every


def first_start(
    since: datetime | None, checked: Iterable[datetime], every: timedelta, now: datetime
) -> datetime:
    """Where the schedule begins: ``since``; else the earliest window already checked (a
    restart goes on from its own history, filling any gap); else the window holding ``now``."""
    if since is not None:
        return window_start(since, every)
    starts = [s for s in checked if aligned(s, every)]
    return min(starts) if starts else window_start(now, every)


def aligned(t: datetime, every: timedelta) -> bool:
    return (t - EPOCH) % every == timedelta(0)


def next_window(
    checked: Iterable[datetime],
    start: datetime,
    every: timedelta,
    lateness: timedelta = timedelta(0),
) -> Due:
    """The earliest window at or after ``start`` whose start is not in ``checked``.

    ``checked`` holds the starts of windows of length ``every`` with a ``summary.json``.
    The answer does not depend on the time: whether it is ready is ``Due.ready(now)``.
    """
    done = set(checked)
    since = window_start(start, every)
    while since in done:
        since += every
    return Due(since, since + every, since + every + lateness)
