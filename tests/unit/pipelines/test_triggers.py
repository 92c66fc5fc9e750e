"""Triggers: cron read against dates checked by hand, ``due``, the decision whether a key is
held, and ``start_once`` / ``raymaker pipeline trigger|schedule`` starting real detached
drivers of a pipeline of ``condition`` steps (the driver decides those itself: no Ray)."""

from __future__ import annotations

import json
import os
import signal
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from _serve_helpers import wait_for

from pipelines import TriggerSpec, start_once
from pipelines import triggers as T
from pipelines.cron import cron_matches, next_fire, parse_cron
from pipelines.record import RunStore
from pipelines.triggers import TriggerRecord, due, holds
from ray_apps.cli import main
from ray_apps.errors import SpecError
from ray_apps.spec import parse_spec

MON = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # 1 January 2026 is a Thursday
SAT = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# -- cron --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "when", "expected"),
    [
        ("*/15 * * * *", "2026-01-05 09:00", True),
        ("*/15 * * * *", "2026-01-05 09:45", True),
        ("*/15 * * * *", "2026-01-05 09:10", False),
        ("*/15 * * * *", "2026-01-05 09:15:42", True),  # minute resolution: seconds ignored
        ("0 9 * * 1-5", "2026-01-05 09:00", True),  # Monday
        ("0 9 * * 1-5", "2026-01-10 09:00", False),  # Saturday
        ("0 9 * * 1-5", "2026-01-05 09:01", False),
        ("30 2 1 * *", "2026-03-01 02:30", True),
        ("30 2 1 * *", "2026-03-02 02:30", False),
        ("30 2 1 * *", "2026-03-01 03:30", False),
        ("0 8,17 * * *", "2026-01-05 17:00", True),
        ("0 8,17 * * *", "2026-01-05 12:00", False),
        ("1-30/10 * * * *", "2026-01-05 12:21", True),
        ("1-30/10 * * * *", "2026-01-05 12:31", False),
        ("0 0 * * 7", "2026-01-04 00:00", True),  # 7 is Sunday, as 0 is
        ("0 0 * * 0", "2026-01-04 00:00", True),
        # Both day fields restricted: either one. The 13th, or any Friday.
        ("0 0 13 * 5", "2026-01-13 00:00", True),  # a Tuesday, the 13th
        ("0 0 13 * 5", "2026-01-16 00:00", True),  # a Friday, the 16th
        ("0 0 13 * 5", "2026-01-14 00:00", False),
        # A day field starting with * is unrestricted (Vixie cron): both must hold.
        ("0 0 */2 * 5", "2026-01-09 00:00", True),  # a Friday, odd
        ("0 0 */2 * 5", "2026-01-16 00:00", False),  # a Friday, even
        ("0 0 */2 * 5", "2026-01-13 00:00", False),  # odd, a Tuesday
        ("0 0 1 * *", "2026-02-01 00:00", True),
    ],
)
def test_cron_matches_hand_checked_minutes(expr, when, expected):
    assert cron_matches(expr, at(when)) is expected


def test_cron_reads_a_time_zone_as_utc():
    assert cron_matches("0 9 * * 1-5", datetime.fromisoformat("2026-01-05T10:00:00+01:00"))
    assert cron_matches("0 9 * * 1-5", datetime(2026, 1, 5, 9, 0))  # naive: UTC


def test_parsed_fields_hold_the_listed_values():
    cron = parse_cron("*/20 0-2,23 1,15 */6 1-5")
    assert cron.minutes == {0, 20, 40}
    assert cron.hours == {0, 1, 2, 23}
    assert cron.days == {1, 15} and cron.months == {1, 7}
    assert cron.weekdays == {1, 2, 3, 4, 5} and cron.either_day


@pytest.mark.parametrize(
    ("expr", "said"),
    [
        ("60 * * * *", "minute '60' is outside 0-59"),
        ("0 24 * * *", "hour '24' is outside 0-23"),
        ("0 0 0 * *", "day-of-month '0' is outside 1-31"),
        ("0 0 * 13 *", "month '13' is outside 1-12"),
        ("0 0 * * 8", "day-of-week '8' is outside 0-7"),
        ("0 0 * * MON", "day-of-week 'MON' is not one of the forms"),
        ("0 0 * JAN *", "month 'JAN' is not one of the forms"),
        ("5-1 * * * *", "minute '5-1' runs backwards; write 1-5"),
        ("*/0 * * * *", "minute '*/0' has a step of 0"),
        ("5/15 * * * *", "minute '5/15' steps a single number"),
        ("0 0 1,,2 * *", "day-of-month ''"),
        ("0 0 L * *", "day-of-month 'L'"),
        ("* * * *", "has 4 fields, cron has 5"),
        ("@daily", "has 1 fields, cron has 5"),
    ],
)
def test_bad_expressions_are_refused_naming_the_field_and_the_forms(expr, said):
    with pytest.raises(SpecError) as err:
        parse_cron(expr)
    assert said in str(err.value)
    assert "*/15" in str(err.value) and "1-5" in str(err.value)


def test_an_expression_that_never_fires_is_refused():
    with pytest.raises(SpecError, match="never fires: no month in '2' has a day '30'"):
        parse_cron("0 0 30 2 *")
    parse_cron("0 0 29 2 *")  # leap years have it
    parse_cron("0 0 30 2 1")  # or a Monday in February: the day fields are either-or


@pytest.mark.parametrize(
    ("expr", "after", "expected"),
    [
        ("*/15 * * * *", "2026-01-05 09:50", "2026-01-05 10:00"),  # the hour
        ("*/15 * * * *", "2026-01-05 10:00", "2026-01-05 10:15"),  # strictly after
        ("*/15 * * * *", "2026-01-05 09:59:59", "2026-01-05 10:00"),
        ("30 2 * * *", "2026-01-05 23:59", "2026-01-06 02:30"),  # the day
        ("0 0 1 * *", "2026-01-31 12:00", "2026-02-01 00:00"),  # the month
        ("30 2 1 * *", "2026-12-01 02:30", "2027-01-01 02:30"),  # the year
        ("0 9 * * 1-5", "2027-01-01 09:00", "2027-01-04 09:00"),  # Friday → Monday
        ("0 0 29 2 *", "2026-03-01 00:00", "2028-02-29 00:00"),  # the next leap year
        ("0 0 13 * 5", "2026-01-13 00:00", "2026-01-16 00:00"),  # the Friday before the 13th
    ],
)
def test_next_fire_across_boundaries(expr, after, expected):
    assert next_fire(expr, at(after)) == at(expected)


# -- due -------------------------------------------------------------------------------------


def _spec(schedule: str | None = "0 9 * * *") -> TriggerSpec:
    return TriggerSpec(pipeline="p.yaml", key="k", schedule=schedule)


def test_never_fired_is_due_only_in_a_scheduled_minute():
    assert due(_spec(), None, at("2026-01-05 09:00:40"))
    assert not due(_spec(), None, at("2026-01-05 09:01"))


def test_due_once_per_scheduled_minute_since_the_last_fire():
    spec = _spec()
    fired = at("2026-01-05 09:00")
    assert not due(spec, fired, at("2026-01-05 09:00:40"))  # the second pass of that minute
    assert not due(spec, fired, at("2026-01-06 08:59"))
    assert due(spec, fired, at("2026-01-06 09:00"))
    # Down for three days: the fires missed come as one.
    assert due(spec, fired, at("2026-01-08 12:00"))


def test_a_trigger_without_a_schedule_is_never_due():
    assert not due(_spec(None), None, at("2026-01-05 09:00"))


def test_trigger_spec_rejects_unknown_keys_bad_schedules_and_file_unsafe_keys():
    with pytest.raises(SpecError, match=r"schedule: .*hour '24' is outside 0-23"):
        parse_spec(TriggerSpec, {"pipeline": "p.yaml", "schedule": "0 24 * * *"}, "t.yaml")
    with pytest.raises(SpecError, match="cron"):
        parse_spec(TriggerSpec, {"pipeline": "p.yaml", "cron": "* * * * *"}, "t.yaml")
    with pytest.raises(SpecError, match="key: .*letters, digits"):
        parse_spec(TriggerSpec, {"pipeline": "p.yaml", "key": "../etc"}, "t.yaml")


# -- whether a key is held ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("run_state", "alive", "run_id", "age_s", "expected"),
    [
        ("running", True, "r", 5, True),
        ("succeeded", True, "r", 5, False),  # finished; its driver only closes up
        ("failed", True, "r", 5, False),
        ("running", False, "r", 5, False),  # a killed driver frees the key (resume its run)
        (None, True, None, 600, True),  # started, its record not written yet
        (None, False, None, 5, False),
        ("running", None, "r", 600, True),  # another host's driver: trusted while running
        (None, None, None, 5, True),
        (None, None, None, 600, False),  # another host's start that never recorded a run
    ],
)
def test_a_key_is_held_by_a_running_run_of_a_live_driver(run_state, alive, run_id, age_s, expected):
    record = TriggerRecord(key="k", pid=123, host="h", started_at=1000.0, run_id=run_id)
    assert holds(record, run_state, alive, now=1000.0 + age_s) is expected
    assert not holds(TriggerRecord(key="k"), None, None, now=1000.0)  # never started


# -- starting real drivers ---------------------------------------------------------------------


def _chain(steps: int) -> dict:
    """Condition steps one after another: the runner polls 0.2 s between dependent steps it
    decides itself, so 20 of them keep a run going for 4 s at least, with no Ray."""
    check = {"all": [{"left": "${parameters.auc}", "op": ">=", "right": 0.9}]}
    chain = {"s0": {"kind": "condition", "with": check}}
    for i in range(1, steps):
        chain[f"s{i}"] = {"kind": "condition", "after": [f"s{i - 1}"], "with": check}
    return {"name": "chain", "parameters": {"auc": {"type": "float"}}, "steps": chain}


@pytest.fixture()
def pipeline_file(tmp_path) -> str:
    path = tmp_path / "chain.yaml"
    path.write_text(yaml.safe_dump(_chain(20), sort_keys=False))
    return str(path)


@pytest.fixture()
def storage(tmp_path, monkeypatch) -> str:
    """Run storage and the drivers' MLflow store in tmp_path; every driver gone afterwards."""
    monkeypatch.setenv("RAYMAKER_HOME", str(tmp_path / "home"))
    before = set(T._started)
    yield str(tmp_path / "runs")
    for pid, proc in list(T._started.items()):
        if pid in before:
            continue
        if proc.poll() is None:
            os.killpg(pid, signal.SIGCONT)  # a stopped process ignores SIGKILL until resumed
            os.killpg(pid, signal.SIGKILL)
        proc.wait(timeout=30)
        T._started.pop(pid, None)


def _state(storage: str, run_id: str) -> str:
    return RunStore(storage).load(run_id).state


def _succeeds(storage: str, run_id: str) -> None:
    wait_for(lambda: _state(storage, run_id) == "succeeded", 120, f"run {run_id} to succeed")


def _record(storage: str, key: str) -> dict:
    return json.loads((Path(storage) / "pipelines" / "_triggers" / f"{key}.json").read_text())


def test_start_once_starts_refuses_while_running_and_starts_again_after(storage, pipeline_file):
    spec = TriggerSpec(pipeline=pipeline_file, key="cancer", parameters={"auc": 0.95})
    first = start_once(spec, storage=storage, reason="alert drift on cancer")
    assert first.status == "started" and first.run_id and first.pid
    assert first.message.startswith(f"cancer: started pipeline chain (pid {first.pid}, run ")
    # Hold the driver mid-run, so "still running" is certain when the second caller looks.
    os.kill(first.pid, signal.SIGSTOP)
    try:
        assert _state(storage, first.run_id) == "running"
        second = start_once(spec, storage=storage, reason="alert drift again")
    finally:
        os.kill(first.pid, signal.SIGCONT)
    assert second.status == "already_running"
    assert (second.run_id, second.pid) == (first.run_id, first.pid)
    assert second.message.endswith("nothing started") and "alert drift on cancer" in second.message
    _succeeds(storage, first.run_id)

    third = start_once(spec, storage=storage, reason="alert drift, later")
    assert third.status == "started" and third.run_id not in (None, first.run_id)
    _succeeds(storage, third.run_id)
    record = _record(storage, "cancer")
    assert (record["run_id"], record["pid"], record["reason"]) == (
        third.run_id,
        third.pid,
        "alert drift, later",
    )
    assert record["parameters"] == {"auc": 0.95}
    assert RunStore(storage).load(third.run_id).parameters == {"auc": 0.95}
    log = Path(storage) / "pipelines" / "_triggers" / "cancer.log"
    assert "trigger cancer: alert drift on cancer" in log.read_text()
    summary = f"pipeline run {third.run_id}: succeeded"
    wait_for(lambda: summary in log.read_text(), 30, "the driver's summary in its log")
    assert not log.with_suffix(".lock").exists()


def test_two_callers_at_once_start_one_run(storage, pipeline_file):
    spec = TriggerSpec(pipeline=pipeline_file, key="both", parameters={"auc": 0.95})
    barrier, outcomes = threading.Barrier(2), []

    def call() -> None:
        barrier.wait()
        outcomes.append(start_once(spec, storage=storage, reason="race"))

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert sorted(o.status for o in outcomes) == ["already_running", "started"]
    assert len({o.pid for o in outcomes}) == 1
    started = next(o for o in outcomes if o.status == "started")
    assert started.run_id is not None
    runs = [r for r in RunStore(storage).list_runs() if r.startswith("chain-")]
    assert runs == [started.run_id]


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = 0
    try:
        main(list(argv))
    except SystemExit as exited:
        code = exited.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_trigger_starts_then_is_a_no_op_while_the_run_runs(capsys, storage, pipeline_file):
    argv = ["pipeline", "trigger", pipeline_file, "--key", "ep", "-p", "auc=0.95"]
    code, out, err = run_cli(capsys, *argv, "--reason", "alert", "--storage", storage)
    assert code == 0, err
    assert out.startswith("ep: started pipeline chain (pid ") and out.count("\n") == 1
    record = _record(storage, "ep")
    os.kill(record["pid"], signal.SIGSTOP)
    try:
        assert _state(storage, record["run_id"]) == "running"
        code, out, err = run_cli(capsys, *argv, "--storage", storage)
    finally:
        os.kill(record["pid"], signal.SIGCONT)
    assert code == 0, err  # an idempotent no-op is not an error
    assert out.startswith(f"ep: run {record['run_id']} is still running (pid {record['pid']}")
    _succeeds(storage, record["run_id"])


def test_cli_trigger_refuses_a_remote_storage_and_a_bad_param(capsys, tmp_path, pipeline_file):
    code, _, err = run_cli(
        capsys, "pipeline", "trigger", pipeline_file, "-p", "auc=1", "--storage", "memory://x"
    )
    assert code == 2 and "need a local or mounted storage path" in err
    code, _, err = run_cli(
        capsys, "pipeline", "trigger", pipeline_file, "--storage", str(tmp_path / "runs")
    )
    assert code == 2 and "parameter 'auc' has no default" in err
    assert not (tmp_path / "runs").exists()  # refused before anything was written


def test_cli_schedule_once_fires_due_triggers_and_records_the_fire(capsys, storage, tmp_path):
    pipeline = tmp_path / "chain.yaml"
    pipeline.write_text(yaml.safe_dump(_chain(2), sort_keys=False))
    later = (datetime.now(UTC) + timedelta(minutes=30)).minute
    entries = [
        {"pipeline": str(pipeline), "key": "every", "parameters": {"auc": 0.95}},
        {"pipeline": str(pipeline), "key": "later", "parameters": {"auc": 0.95}},
        {"pipeline": str(pipeline), "key": "manual", "parameters": {"auc": 0.95}},
    ]
    entries[0]["schedule"], entries[1]["schedule"] = "* * * * *", f"{later} * * * *"
    file = tmp_path / "triggers.yaml"
    file.write_text(yaml.safe_dump({"triggers": entries}))

    argv = ["pipeline", "schedule", str(file), "--once", "--storage", storage]
    code, out, err = run_cli(capsys, *argv)
    assert code == 0, err
    assert out.startswith("schedule '* * * * *': every: started pipeline chain (pid ")
    assert out.count("\n") == 1  # "later" is not due, "manual" has no schedule
    record = _record(storage, "every")
    assert record["reason"] == "schedule * * * * *"
    _succeeds(storage, record["run_id"])
    # A second pass in the minute of the fire starts nothing.
    fired = datetime.fromisoformat(record["last_fired"])
    soon = fired + timedelta(seconds=30)
    assert T.schedule_pass(T.load_triggers(file), storage=storage, now=soon) == []


def test_schedule_pass_fires_once_per_minute_and_spends_a_fire_on_a_running_key(
    tmp_path, pipeline_file, monkeypatch
):
    calls = []

    def fake(spec, *, storage, reason, now=None):
        calls.append((spec.key, reason, now))
        return T.TriggerOutcome("already_running", spec.key, "r", 1, f"{spec.key}: busy")

    monkeypatch.setattr(T, "start_once", fake)
    specs = [TriggerSpec(pipeline=pipeline_file, key="k", schedule="0 9 * * *")]
    storage = str(tmp_path / "runs")

    def fire(when: str) -> list[str]:
        return [f.line for f in T.schedule_pass(specs, storage=storage, now=at(when))]

    assert fire("2026-01-05 09:00:10") == ["schedule '0 9 * * *': k: busy"]
    assert fire("2026-01-05 09:00:40") == []
    assert fire("2026-01-05 12:00") == []
    assert fire("2026-01-06 09:00:05") == ["schedule '0 9 * * *': k: busy"]
    assert [c[1] for c in calls] == ["schedule 0 9 * * *"] * 2
    assert _record(storage, "k")["last_fired"] == "2026-01-06T09:00:00+00:00"


def test_load_triggers_checks_each_pipeline_before_anything_runs(tmp_path, pipeline_file):
    file = tmp_path / "triggers.yaml"
    file.write_text(yaml.safe_dump({"triggers": [{"pipeline": pipeline_file, "key": "k"}]}))
    with pytest.raises(SpecError, match=r"triggers\[0\]: .*parameter 'auc' has no default"):
        T.load_triggers(file)
    file.write_text(yaml.safe_dump({"triggers": [{"pipeline": pipeline_file, "when": "x"}]}))
    with pytest.raises(SpecError, match="when"):
        T.load_triggers(file)
