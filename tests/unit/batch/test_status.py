"""A batch job's status from the files of its run folder: queued, running, succeeded, failed."""

import pytest

from ray_apps.batch import _storage, derive_status
from ray_apps.batch.background import failure_reason
from ray_apps.batch.record import (
    JobRecord,
    list_records,
    read_record,
    record_path,
    under,
    write_record,
)
from ray_apps.batch.spec import parse_batch_spec
from ray_apps.batch.status import read_run_files
from ray_apps.batch.summary import UnitStats
from ray_apps.errors import DataError

JOB_ID = "scores-20261124-101500-a1b2c3"


@pytest.fixture()
def record(tmp_path):
    spec = parse_batch_spec({"name": "scores", "model": "iris", "input": str(tmp_path / "in")})
    return JobRecord(JOB_ID, spec, "iris:2", str(tmp_path / JOB_ID), "2026-11-24T10:15:00Z")


def write(run_dir, relpath, data):
    fs, root = _storage.filesystem(str(run_dir))
    _storage.write_json(fs, f"{root}/{relpath}", data)


def plan(record, n_units):
    units = [{"index": i, "path": f"f{i}.csv", "format": "csv"} for i in range(n_units)]
    write(record.run_dir, "plan.json", {"input_fingerprint": "x", "units": units})


def commit(record, stats: UnitStats):
    write(record.run_dir, f"units/part-{stats.index:05d}.parquet.json", stats.to_dict())


def status(record, alive=True):
    return derive_status(record, read_run_files(record.run_dir), alive)


def test_queued_until_planned_then_running_with_progress(record):
    s = status(record)  # the run folder does not even exist yet
    assert (s.status, s.progress.units_total, s.progress.units_committed) == ("queued", None, 0)
    plan(record, 3)
    assert status(record).status == "running"
    commit(record, UnitStats(0, 10, 9, {"NaN in feature 'a'": 1}))
    commit(record, UnitStats(2, 5, 5))
    s = status(record)
    assert s.status == "running" and s.summary is None and s.reason is None
    p = s.progress
    assert (p.units_committed, p.units_total, p.rows_in, p.rows_out, p.rows_rejected) == (
        2,
        3,
        15,
        14,
        1,
    )
    assert s.output_path == f"{record.run_dir}/output" and s.model == "iris:2"


def test_succeeded_reports_the_summary(record):
    plan(record, 1)
    commit(record, UnitStats(0, 4, 3, {"r": 1}))
    summary = {"rows_in": 4, "rows_out": 3, "rows_rejected": 1, "units": 1, "duration_s": 1.0}
    write(record.run_dir, "summary.json", summary)
    s = status(record, alive=False)  # the driver exits after the summary: still succeeded
    assert s.status == "succeeded" and s.summary == summary and s.reason is None
    assert (s.progress.units_committed, s.progress.rows_out) == (1, 3)
    write(record.run_dir, "error.json", {"reason": "old failure"})
    assert status(record).status == "succeeded"  # finished by a resume after a failure


def test_failed_with_the_reason_the_driver_wrote(record):
    plan(record, 2)
    write(record.run_dir, "error.json", {"reason": "strict batch job: 1 row(s) rejected"})
    s = status(record, alive=False)
    assert (s.status, s.reason) == ("failed", "strict batch job: 1 row(s) rejected")


def test_a_driver_gone_without_an_end_file_is_a_failure_naming_the_resume(record):
    assert "submit the job again" in status(record, alive=False).reason
    plan(record, 4)
    commit(record, UnitStats(1, 3, 3))
    s = status(record, alive=False)
    assert s.status == "failed"
    assert "1 of 4 units committed" in s.reason
    assert f"raymaker batch --resume {record.run_dir}" in s.reason
    assert status(record, alive=None).status == "running"  # not known: the files decide


def test_hidden_temporary_files_are_not_committed_units(record):
    plan(record, 2)
    write(record.run_dir, "units/.part-00000.parquet.json.tmp-1234abcd", {"index": 0})
    fs, root = _storage.filesystem(record.run_dir)
    with fs.open_output_stream(f"{root}/units/.part-00001.parquet.json.tmp-00000000") as f:
        f.write(b"{half")
    assert status(record).progress.units_committed == 0


def test_record_round_trip_and_unknown_or_hostile_ids(tmp_path, record):
    write_record(str(tmp_path), record)
    assert read_record(str(tmp_path), JOB_ID) == record
    assert record.pinned_spec().model == "iris:2" and record.spec.model == "iris"
    assert read_record(str(tmp_path), "nope-20261124-101500-ffffff") is None
    for hostile in ("..", "../x", "a/../../etc", ".hidden"):
        assert read_record(str(tmp_path), hostile) is None
    assert record_path("s3://b/runs/", JOB_ID) == f"s3://b/runs/_batch_jobs/{JOB_ID}.json"


def test_relative_paths_go_under_the_base(tmp_path):
    assert under("data/day", tmp_path) == str(tmp_path.resolve() / "data" / "day")
    assert under("/abs/in.csv", tmp_path) == "/abs/in.csv"
    assert under("s3://bucket/in/", tmp_path) == "s3://bucket/in/"
    assert under(None, tmp_path) is None


def test_failure_reason_is_our_message_else_the_error_type_and_first_line():
    assert failure_reason(DataError("input 'x' does not exist")) == "input 'x' does not exist"
    assert failure_reason(ValueError("bad\nmore")) == "ValueError: bad"


def test_records_are_listed_newest_first_and_stray_files_ignored(record, tmp_path):
    store = str(tmp_path / "runs")
    assert list_records(store) == []  # no job yet: no records folder
    older = JobRecord("scores-a", record.spec, "iris:1", record.run_dir, "2026-11-24T09:00:00Z")
    write_record(store, older)
    write_record(store, record)
    (tmp_path / "runs" / "_batch_jobs" / "notes.txt").write_text("not a record")
    assert [r.job_id for r in list_records(store)] == [JOB_ID, "scores-a"]
