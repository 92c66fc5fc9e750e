"""5-field cron schedules, read in UTC: ``parse_cron``, ``cron_matches``, ``next_fire``.

Pure functions of the expression and the clock (croniter is not a dependency): ``*``, numbers,
lists ``1,5``, ranges ``1-5`` and steps ``*/15`` or ``1-30/5``; 0 and 7 are Sunday; when both
day-of-month and day-of-week are restricted a day matching either fires (as in cron).
``pipelines.triggers`` uses them for ``raymaker pipeline schedule``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from ray_apps.errors import SpecError

_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day-of-month", 1, 31), ("month", 1, 12))
_FIELDS += (("day-of-week", 0, 7),)  # 0 and 7 are Sunday
_FORMS = (
    "each of the 5 fields (minute hour day-of-month month day-of-week) takes *, a number, "
    "a list 1,5, a range 1-5 or a step */15 or 1-30/5, e.g. '*/15 * * * *' or '0 9 * * 1-5'"
)
_ITEM = re.compile(r"(?:(\*)|(\d+)(?:-(\d+))?)(?:/(\d+))?")
_MAX_DAYS = {2: 29, 4: 30, 6: 30, 9: 30, 11: 30}  # other months: 31
_HORIZON_DAYS = 366 * 9  # 29 February can be 8 years away (2096 → 2104)


@dataclass(frozen=True)
class Cron:
    """A parsed cron expression: the allowed values of each field."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    # Vixie cron: when both day fields are restricted (neither starts with *), a day matches
    # either one; otherwise both. "0 0 1 * 1" runs on the 1st and on every Monday.
    either_day: bool

    def day_matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        dom, dow = day.day in self.days, day.isoweekday() % 7 in self.weekdays
        return (dom or dow) if self.either_day else (dom and dow)

    def matches(self, when: datetime) -> bool:
        when = utc_minute(when)
        return when.minute in self.minutes and when.hour in self.hours and self.day_matches(when)


def parse_cron(expr: str) -> Cron:
    """The 5 fields of ``expr``; SpecError names the field, the value and the accepted forms."""
    parts = expr.split()
    if len(parts) != 5:
        raise SpecError(f"schedule {expr!r} has {len(parts)} fields, cron has 5: {_FORMS}")
    sets = [_field(text, *spec, expr) for text, spec in zip(parts, _FIELDS, strict=True)]
    cron = Cron(
        *sets[:4],
        weekdays=frozenset(d % 7 for d in sets[4]),
        either_day=not parts[2].startswith("*") and not parts[4].startswith("*"),
    )
    possible = any(d <= _MAX_DAYS.get(m, 31) for m in cron.months for d in cron.days)
    if not cron.either_day and not possible:
        raise SpecError(
            f"schedule {expr!r} never fires: no month in {parts[3]!r} has a day {parts[2]!r}; "
            "pick a day that month has"
        )
    return cron


def _field(text: str, name: str, lo: int, hi: int, expr: str) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        match = _ITEM.fullmatch(item)
        why = None if match else "is not one of the forms"
        if match:
            first = lo if match[1] else int(match[2])
            last = hi if match[1] else int(match[3] or match[2])
            step = int(match[4] or 1)
            if match[4] and match[2] and not match[3]:
                why = "steps a single number; a step needs * or a range (*/15, 5-59/15)"
            elif not (lo <= first <= hi and lo <= last <= hi):
                why = f"is outside {lo}-{hi}"
            elif first > last:
                why = f"runs backwards; write {last}-{first}"
            elif step == 0:
                why = "has a step of 0"
            else:
                values.update(range(first, last + 1, step))
        if why:
            raise SpecError(f"schedule {expr!r}: {name} {item!r} {why}; {_FORMS}")
    return frozenset(values)


def cron_matches(expr: str, when: datetime) -> bool:
    """Whether ``when``'s minute (UTC; a naive datetime is read as UTC) is one of ``expr``'s."""
    return parse_cron(expr).matches(when)


def next_fire(expr: str, after: datetime) -> datetime:
    """The first minute of ``expr`` strictly after ``after``, in UTC."""
    cron = parse_cron(expr)
    start = utc_minute(after) + timedelta(minutes=1)
    day = start.date()
    for _ in range(_HORIZON_DAYS):  # day by day: a yearly schedule is not 500,000 minutes away
        if cron.day_matches(day):
            for hour in sorted(cron.hours):
                for minute in sorted(cron.minutes):
                    when = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
                    if when >= start:
                        return when
        day += timedelta(days=1)
    raise SpecError(f"schedule {expr!r} does not fire within 9 years of {after:%Y-%m-%d}")


def utc_minute(when: datetime) -> datetime:
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return when.replace(second=0, microsecond=0)
