"""Preflight without Ray: when it runs, what a job training in this process gets, a storage
that cannot be written, how a worker's failure becomes one line naming the fix, and whom a
collective that never completed waited for (tests/integration/test_train_preflight.py hangs a
real worker)."""

from __future__ import annotations

import pytest
import yaml

from ray_apps.cli import main
from ray_apps.spec import TrainJobSpec, parse_spec
from ray_apps.training.preflight import (
    PreflightError,
    _finding,
    _markers,
    _rows,
    _stuck_collective,
    _write,
    needs_preflight,
)


def _spec(tmp_path, **extra) -> TrainJobSpec:
    job = {
        "name": "pre",
        "dataset": {"source": "sklearn:breast_cancer"},
        "model": {"kind": "xgboost"},
        "hyperparameters": {"rounds": 2},
        "storage": str(tmp_path / "runs"),
        **extra,
    }
    return parse_spec(TrainJobSpec, job)


@pytest.mark.parametrize(
    ("extra", "distributed", "runs"),
    [
        ({}, True, False),  # auto: a CPU worker group starts in seconds anyway
        ({"scaling": {"use_gpu": True}}, True, True),  # auto: GPUs are what a broken node burns
        ({"scaling": {"use_gpu": True}}, False, False),
        ({"health": {"preflight": "always"}}, False, True),
        ({"scaling": {"use_gpu": True}, "health": {"preflight": "never"}}, True, False),
    ],
)
def test_preflight_runs_before_gpu_worker_groups_or_when_asked(tmp_path, extra, distributed, runs):
    assert needs_preflight(_spec(tmp_path, **extra), distributed) is runs


def _cli(capsys, *argv):
    code = 0
    try:
        main(list(argv))
    except SystemExit as exited:
        code = exited.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_job_training_in_this_process_has_no_workers_to_check(tmp_path, capsys):
    job = tmp_path / "job.yaml"
    job.write_text(yaml.safe_dump(_spec(tmp_path).model_dump(mode="json")))
    code, out, err = _cli(capsys, "train", "--config", str(job), "--preflight")
    assert code == 0, err
    assert "preflight: pre trains in this process" in out and "storage writable" in out
    assert not list((tmp_path / "runs").glob(".raymaker-preflight*"))  # the probe is gone
    assert "epoch" not in out  # nothing trained


def test_an_unwritable_storage_is_named_with_its_setting(tmp_path, capsys):
    (tmp_path / "a-file").write_text("not a folder")
    spec = _spec(tmp_path, storage=str(tmp_path / "a-file" / "runs"))
    job = tmp_path / "job.yaml"
    job.write_text(yaml.safe_dump(spec.model_dump(mode="json")))
    code, out, err = _cli(capsys, "train", "--config", str(job), "--preflight")
    assert code == 2
    assert f"storage at {tmp_path / 'a-file' / 'runs'} is not writable" in err
    assert "RAYMAKER_STORAGE" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "ray::...\nRuntimeError: PREFLIGHT all-reduce rank 1 on node 10.0.0.3: "
            "DistBackendError: timed out\n  more",
            "preflight: all-reduce failed on rank 1 on node 10.0.0.3: DistBackendError: timed "
            "out; check that the nodes reach each other",
        ),
        (
            "RuntimeError: PREFLIGHT device rank 0 on node 10.0.0.2: no CUDA device visible",
            "preflight: device failed on rank 0 on node 10.0.0.2: no CUDA device visible to",
        ),
        ("worker died unexpectedly", "preflight: the worker group did not start: worker died"),
    ],
)
def test_a_worker_failure_becomes_one_line_with_the_fix(message, expected):
    assert _finding(RuntimeError(message)).startswith(expected.split(" to")[0])


def test_a_stuck_all_reduce_names_the_workers_it_waited_for(tmp_path):
    probe = str(tmp_path / "probe")
    at = 1_700_000_000.0
    # As the workers write them: rank 0 reached the all-reduce and timed out, rank 1 reached it
    # and never answered, rank 2 never reached it; rank 0's passed checks are not markers.
    _write(probe, "arrived-0.json", {"rank": 0, "node": "10.0.0.2", "pid": 11, "arrived_at": at})
    _write(probe, "arrived-1.json", {"rank": 1, "node": "10.0.0.3", "pid": 22, "arrived_at": at})
    timed_out = {"rank": 0, "node": "10.0.0.2", "pid": 11, "arrived_at": at, "error": "Timed out"}
    _write(probe, "timeout-0.json", timed_out)
    _write(probe, "rank3.json", {"rank": 3, "node": "10.0.0.4", "device": "cpu"})

    markers = _markers(probe)
    assert {r: m["kind"] for r, m in markers.items()} == {0: "timeout", 1: "arrived"}
    assert [r["rank"] for r in _rows(probe)] == [3]
    err = _stuck_collective(markers, world=3)
    assert isinstance(err, PreflightError) and err.exit_code == 2
    assert str(err).startswith(
        "preflight: all-reduce did not complete within 20 s: rank 1 on node 10.0.0.3 (pid 22), "
        "rank 2 (never reached it) did not answer (rank 0 on node 10.0.0.2 timed out waiting)"
    )
    assert "GLOO_SOCKET_IFNAME" in str(err)
    assert err.after_s > 0
    assert _markers(str(tmp_path / "none")) == {}


@pytest.mark.parametrize(
    ("inject", "error"),
    [
        ({"at_epoch": 0, "mode": "raise"}, "at_epoch 0 is preflight's drill"),
        ({"at_epoch": 0, "mode": "slow", "delay_s": 1}, "mode slow acts in epochs"),
        ({"at_epoch": -1, "mode": "hang", "delay_s": 1}, "failure.inject.at_epoch"),
    ],
)
def test_only_a_hang_is_injected_in_preflight(tmp_path, inject, error):
    with pytest.raises(Exception, match=error):
        _spec(tmp_path, failure={"inject": inject})
    drill = {"at_epoch": 0, "rank": 0, "mode": "hang", "delay_s": 5}
    assert _spec(tmp_path, failure={"inject": drill}).failure.inject.at_epoch == 0
