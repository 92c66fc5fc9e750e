"""The run record on a storage folder: what is written is what ``resume`` and ``status`` read."""

from __future__ import annotations

import pytest

from pipelines.record import RunRecord, RunStore, StepRecord, new_run_id
from ray_apps.errors import NotFoundError

SPEC = {"name": "nightly", "steps": {"train": {"kind": "train"}, "gate": {"kind": "condition"}}}


def _run(run_id: str, **fields) -> RunRecord:
    return RunRecord(
        run_id=run_id,
        pipeline=run_id.rsplit("-", 3)[0],
        spec=SPEC,
        parameters={"min_auc": 0.9},
        created_at=1_000.0,
        **fields,
    )


def test_a_run_and_its_steps_round_trip(tmp_path):
    store = RunStore(str(tmp_path))
    run = _run("nightly-20260101-000000-abcdef", mlflow_run_id="m1")
    train = StepRecord(
        state="succeeded",
        inputs={"config": "/jobs/train.yaml", "overrides": {"rounds": 8}},
        outputs={"artifact": "/runs/a", "metrics": {"auc": 0.97}},
        attempts=[{"started": 1.0, "ended": 2.0, "error": "lost"}, {"started": 3.0, "ended": 9.5}],
        started_at=3.0,
        ended_at=9.5,
        error=None,
        cache_key="k" * 64,
        cache_source={"run_id": "nightly-older", "step": "train"},
    )
    gate = StepRecord(state="skipped", reason="train skipped", started_at=9.5, ended_at=9.5)
    store.save_run(run)
    store.save_step(run.run_id, "train", train)
    store.save_step(run.run_id, "gate", gate)

    loaded = store.load(run.run_id)
    assert loaded == _run(run.run_id, mlflow_run_id="m1", steps={"train": train, "gate": gate})
    assert loaded.steps["train"].duration_s == 6.5


def test_a_step_never_saved_loads_as_pending(tmp_path):
    store = RunStore(str(tmp_path))
    store.save_run(_run("nightly-20260101-000000-abcdef"))
    assert store.load("nightly-20260101-000000-abcdef").steps == {
        "train": StepRecord(),
        "gate": StepRecord(),
    }


def test_saving_again_replaces_the_record(tmp_path):
    store = RunStore(str(tmp_path))
    run = _run("nightly-20260101-000000-abcdef")
    store.save_run(run)
    store.save_step(run.run_id, "train", StepRecord(state="running", started_at=1.0))
    store.save_step(run.run_id, "train", StepRecord(state="failed", error="boom"))
    run.state, run.ended_at = "failed", 2.0
    store.save_run(run)
    loaded = store.load(run.run_id)
    assert (loaded.state, loaded.ended_at) == ("failed", 2.0)
    assert loaded.steps["train"] == StepRecord(state="failed", error="boom")


def test_runs_are_listed_oldest_first_across_pipelines(tmp_path):
    store = RunStore(str(tmp_path))
    ids = [
        new_run_id("zeta", now=1_000_000.0),
        new_run_id("alpha-with-dashes", now=1_000_060.0),
        new_run_id("mid.v2", now=1_003_600.0),
    ]
    for run_id in reversed(ids):
        store.save_run(_run(run_id))
    store.put_cache("k1", {"outputs": {}, "run_id": ids[0], "step": "train", "created_at": 1.0})
    (tmp_path / "pipelines" / "half-written").mkdir()  # no run.json: not a run
    assert store.list_runs() == ids


def test_no_runs_yet(tmp_path):
    assert RunStore(str(tmp_path / "empty")).list_runs() == []


def test_an_unknown_run_names_the_recent_ones_and_the_command_that_lists_them(tmp_path):
    store = RunStore(str(tmp_path))
    ids = [new_run_id("nightly", now=1_000_000.0 + 60 * i) for i in range(7)]
    for run_id in ids:
        store.save_run(_run(run_id))
    with pytest.raises(NotFoundError) as err:
        store.load("nightly-nope")
    message = str(err.value)
    assert "'nightly-nope'" in message and "raymaker pipeline list" in message
    assert all(run_id in message for run_id in ids[-5:])
    assert ids[0] not in message  # recent ones only


def test_cache_entries_round_trip(tmp_path):
    store = RunStore(str(tmp_path))
    entry = {
        "outputs": {"artifact": "/runs/a", "metrics": {"auc": 0.9}},
        "run_id": "nightly-20260101-000000-abcdef",
        "step": "train",
        "created_at": 1_000.0,
    }
    store.put_cache("abc", entry)
    assert store.cached("abc") == entry
    assert store.cached("other") is None


def test_writes_leave_no_temporary_files(tmp_path):
    store = RunStore(str(tmp_path))
    run = _run("nightly-20260101-000000-abcdef")
    for _ in range(3):
        store.save_run(run)
        store.save_step(run.run_id, "train", StepRecord(state="running"))
        store.put_cache("abc", {"created_at": 1.0})
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.json*"))
    assert written == [
        "pipelines/_cache/abc.json",
        "pipelines/nightly-20260101-000000-abcdef/run.json",
        "pipelines/nightly-20260101-000000-abcdef/steps/train.json",
    ]


def test_run_ids_start_with_the_pipeline_and_its_utc_time_to_the_millisecond():
    run_id = new_run_id("nightly", now=0.5)
    assert run_id.startswith("nightly-19700101-000000500-") and len(run_id.rsplit("-", 1)[1]) == 6
    assert new_run_id("nightly", now=0.5) != run_id
    # Two runs started in the same second list in the order they started.
    a, b = new_run_id("nightly", now=10.001), new_run_id("nightly", now=10.002)
    assert sorted([b, a], key=lambda n: n.rsplit("-", 3)[-3:]) == [a, b]
