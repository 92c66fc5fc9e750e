"""A scheduled monitor over real captured traffic and real report storage, with the clock
passed in: killed mid-way and restarted, it checks every window exactly once and alerts once
per violating window (counted on a local webhook server)."""

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from _monitor_data import artifact_and_window, capture, shifted
from _webhook import Hook

from ray_apps import load_model
from ray_apps.errors import NotFoundError, SpecError
from ray_apps.monitoring.scheduler import checked_windows, run_schedule
from ray_apps.monitoring.spec import parse_monitor_spec

M15 = timedelta(minutes=15)
T0 = datetime(2026, 11, 24, 10, tzinfo=UTC)
VIOLATING = {2, 4}  # windows 10:30 and 11:00 carry shifted traffic


class Clock:
    """A fake clock: ``sleep`` moves it on; past ``end`` it stops the schedule instead."""

    def __init__(self, now: datetime, stop: threading.Event, end: datetime | None = None):
        self.now, self.stop, self.end, self.slept = now, stop, end, []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if self.end is not None and self.now + timedelta(seconds=seconds) > self.end:
            self.stop.set()
            return
        self.now += timedelta(seconds=seconds)


@pytest.fixture(scope="module")
def traffic(tmp_path_factory):
    """Six 15-minute windows of captured requests from 10:00, two of them shifted."""
    folder = tmp_path_factory.mktemp("schedule")
    art, held_out, std = artifact_and_window(folder)
    model, root = load_model(art), folder / "capture"
    for k in range(6):
        rows = held_out.sample(60, random_state=k)
        if k in VIOLATING:
            rows = shifted(rows, std, 3.0)
        for j, part in enumerate((rows.iloc[:30], rows.iloc[30:])):
            capture(root, model, part, T0 + k * M15 + timedelta(minutes=3 + 5 * j), f"w{k}r{j}")
    return art, root


def test_a_restart_neither_repeats_nor_skips_a_window_and_alerts_once(traffic, tmp_path):
    art, root = traffic
    hook = Hook([])
    spec = parse_monitor_spec(
        {
            "model": "cancer:1",
            "artifact": str(art),
            "current": {"capture": str(root)},
            "alerts": {"webhook": {"url": hook.url}},
            "output": str(tmp_path / "reports"),
            "html": False,
        }
    )
    seen = []

    def run(clock, stop_after=None):
        stop = clock.stop

        def record(result):
            seen.append((result.summary.window.since, result.verdict.status))
            if stop_after is not None and len(seen) >= stop_after:
                stop.set()  # the process is killed here: between two windows

        return run_schedule(
            spec, M15, lateness=timedelta(seconds=30), clock=clock, sleep=clock.sleep,
            stop=stop, on_result=record, since=T0 if not seen else None,
        )  # fmt: skip

    try:
        # 11:35: the six windows 10:00-11:30 are closed; killed after catching up three
        first = Clock(T0 + timedelta(minutes=95), threading.Event())
        assert run(first, stop_after=3) == 3
        assert [s for s, _ in seen] == [T0, T0 + M15, T0 + 2 * M15]
        # restarted at 11:40 from storage alone: the other three, then 11:30 once it closes
        second = Clock(T0 + timedelta(minutes=100), threading.Event(), end=T0 + 8 * M15)
        assert run(second) == 4
        assert second.slept[0] == pytest.approx((5 * 60) + 30)  # 11:40 → 11:45:30
        # restarted again at 11:55, nothing new has closed: checks nothing, alerts nothing
        third = Clock(T0 + timedelta(minutes=115), threading.Event(), end=T0 + 8 * M15)
        assert run(third) == 0
    finally:
        hook.close()

    starts = [s for s, _ in seen]
    assert starts == [T0 + k * M15 for k in range(7)]  # each once, in order
    assert checked_windows(spec, M15) == set(starts)
    statuses = {(s - T0) // M15: status for s, status in seen}
    assert {k for k, st in statuses.items() if st == "violation"} == VIOLATING
    assert statuses[6] == "too_few_rows"  # 11:30-11:45: no traffic, judged as such
    alerted = [body["window"]["since"] for _, body in hook.received]
    assert alerted == [(T0 + k * M15).isoformat() for k in sorted(VIOLATING)]
    reports = sorted(p.parent.name for p in Path(tmp_path / "reports").rglob("summary.json"))
    assert len(reports) == 7 and reports[0] == "window=20261124T100000Z--20261124T101500Z"


def test_bad_input_fails_before_the_first_window(traffic, tmp_path, monkeypatch):
    art, root = traffic
    monkeypatch.delenv("NO_SUCH_HOOK", raising=False)
    spec = {
        "model": "cancer:1",
        "artifact": str(art),
        "current": {"capture": str(root)},
        "alerts": {"webhook": {"url_env": "NO_SUCH_HOOK"}},
        "output": str(tmp_path / "reports"),
    }
    clock = Clock(T0 + timedelta(hours=3), threading.Event())
    with pytest.raises(SpecError, match="environment variable NO_SUCH_HOOK is not set"):
        run_schedule(spec, M15, clock=clock, sleep=clock.sleep, since=T0)
    spec["alerts"], spec["artifact"] = {}, str(tmp_path / "nope")
    with pytest.raises(NotFoundError, match="is not a folder"):
        run_schedule(spec, M15, clock=clock, sleep=clock.sleep, since=T0)
    assert not (tmp_path / "reports").exists()
