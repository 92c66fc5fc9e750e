"""The runner on steps it decides itself (``condition`` and ``fail``): branching on a gate,
skip and block propagation, the record, and resume — all without Ray (unit tests refuse it)."""

from __future__ import annotations

import dataclasses

import pytest

from pipelines import load_pipeline, pipeline_status, resume_pipeline, run_pipeline
from pipelines.record import RunStore
from pipelines.runner import _cause
from ray_apps.errors import SpecError

GATED = {
    "name": "gated",
    "parameters": {"auc": {"type": "float"}},
    "steps": {
        "gate": {
            "kind": "condition",
            "with": {"all": [{"left": "${parameters.auc}", "op": ">=", "right": 0.9}]},
        },
        "proceed": {
            "kind": "condition",
            "if": "${steps.gate.outputs.passed}",
            "with": {"any": [{"left": "${parameters.auc}", "op": ">", "right": 0.99}]},
        },
        "stop": {
            "kind": "fail",
            "if": "not ${steps.gate.outputs.passed}",
            "with": {"message": "auc ${parameters.auc} is below 0.9"},
        },
        "report": {
            "kind": "condition",
            "after": ["stop"],
            "with": {"all": [{"left": 1, "op": "==", "right": 1}]},
        },
    },
}


def _states(run) -> dict[str, str]:
    return {name: step.state for name, step in run.steps.items()}


def test_a_passed_gate_runs_its_branch_and_skips_the_fail_step(tmp_path):
    lines: list[str] = []
    run = run_pipeline(GATED, {"auc": 0.95}, storage=str(tmp_path), out=lines.append)
    assert run.state == "succeeded"
    assert _states(run) == {
        "gate": "succeeded",
        "proceed": "succeeded",
        "stop": "skipped",
        "report": "skipped",  # after a skipped step: skipped too, not blocked
    }
    assert run.steps["gate"].outputs == {"passed": True}
    assert run.steps["proceed"].outputs == {"passed": False}  # 0.95 > 0.99 is false
    assert "not ${steps.gate.outputs.passed}" in run.steps["stop"].reason
    assert run.steps["report"].reason == "stop skipped"
    assert run.steps["gate"].inputs == {"all": [{"left": 0.95, "op": ">=", "right": 0.9}]}
    assert lines[0].startswith(f"[raymaker] pipeline run {run.run_id} (4 steps)")
    assert lines[-1].startswith(f"pipeline run {run.run_id}: succeeded")


def test_a_closed_gate_fires_the_fail_step_and_blocks_what_follows_it(tmp_path):
    lines: list[str] = []
    run = run_pipeline(GATED, {"auc": 0.5}, storage=str(tmp_path), out=lines.append)
    assert run.state == "failed"
    assert _states(run) == {
        "gate": "succeeded",
        "proceed": "skipped",
        "stop": "failed",
        "report": "blocked",
    }
    assert run.steps["stop"].error == "auc 0.5 is below 0.9"
    assert run.steps["report"].reason == "stop did not succeed"
    assert "[raymaker] stop: failed in 0.0 s: auc 0.5 is below 0.9" in lines


def test_the_record_on_the_storage_is_the_run_returned(tmp_path):
    run = run_pipeline(GATED, {"auc": 0.5}, storage=str(tmp_path), out=lambda line: None)
    stored = pipeline_status(run.run_id, storage=str(tmp_path))
    assert stored == run
    assert load_pipeline(stored.spec) == load_pipeline(GATED)
    assert stored.parameters == {"auc": 0.5}
    assert RunStore(str(tmp_path)).list_runs() == [run.run_id]
    assert stored.trigger is None  # started by hand, from Python


def test_what_started_a_run_is_kept_in_its_record(tmp_path):
    why = "cancer: monitor cancer:1: 12 of 30 feature columns drifted"
    run = run_pipeline(GATED, {"auc": 0.95}, storage=str(tmp_path), out=print, trigger=why)
    assert pipeline_status(run.run_id, storage=str(tmp_path)).trigger == why


def test_a_condition_on_unlike_types_is_refused_before_anything_runs(tmp_path):
    bad = {
        "name": "bad",
        "parameters": {"threshold": {"type": "str", "default": "high"}},
        "steps": {
            "gate": {
                "kind": "condition",
                "with": {"all": [{"left": "${parameters.threshold}", "op": "<", "right": 1}]},
            }
        },
    }
    with pytest.raises(SpecError, match="compares a str with a number"):
        run_pipeline(bad, storage=str(tmp_path), out=lambda line: None)
    assert RunStore(str(tmp_path)).list_runs() == []


def test_resuming_a_finished_run_keeps_every_step_as_it_was(tmp_path):
    storage = str(tmp_path)
    first = run_pipeline(GATED, {"auc": 0.95}, storage=storage, out=lambda line: None)
    lines: list[str] = []
    again = resume_pipeline(first.run_id, storage=storage, out=lines.append)
    assert again.state == "succeeded"
    assert again.steps == first.steps
    assert pipeline_status(first.run_id, storage=storage).steps == first.steps
    assert "kept ['gate', 'proceed', 'stop', 'report'], to run []" in lines[0]


def test_resuming_a_failed_run_keeps_the_done_steps_and_runs_the_others_again(tmp_path):
    storage = str(tmp_path)
    first = run_pipeline(GATED, {"auc": 0.5}, storage=storage, out=lambda line: None)
    kept = {name: dataclasses.replace(first.steps[name]) for name in ("gate", "proceed")}
    lines: list[str] = []
    again = resume_pipeline(first.run_id, storage=storage, out=lines.append)
    # The parameters are the run's: the fail step fires again, and what follows stays blocked.
    assert again.state == "failed"
    assert {name: again.steps[name] for name in kept} == kept
    assert again.steps["stop"].error == "auc 0.5 is below 0.9"
    assert again.steps["report"].state == "blocked"
    assert "to run ['stop', 'report']" in lines[0]


class _Wrapped(Exception):
    """The shape of Ray's task error: the step's own exception under ``cause``."""

    def __init__(self, cause: Exception):
        super().__init__(f"ray::gated.stop()\nTraceback (most recent call last):\n{cause!r}")
        self.cause = cause


def test_cause_names_a_plain_exception_by_its_type():
    assert _cause(TypeError("msg")) == "TypeError: msg"
    assert _cause(ValueError()) == "ValueError"


def test_cause_unwraps_the_task_error_and_keeps_our_own_messages_as_they_are():
    assert _cause(_Wrapped(ValueError("bad rows"))) == "ValueError: bad rows"
    assert _cause(_Wrapped(SpecError("with.config 'x': no such job file"))) == (
        "with.config 'x': no such job file"
    )


def test_cause_keeps_only_the_last_line_of_a_traceback():
    text = "Traceback (most recent call last):\n  File 'x.py'\nKeyError: 'label'"
    assert _cause(RuntimeError(text)) == "KeyError: 'label'"
