"""``raymaker pipeline …`` in this process: dry runs, refusals that name the step and field,
and whole runs of steps the driver decides itself (condition, fail), so no Ray is needed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ray_apps.cli import main

GATED = {
    "name": "gated",
    "parameters": {"auc": {"type": "float", "default": 0.95}},
    "steps": {
        "gate": {
            "kind": "condition",
            "with": {"all": [{"left": "${parameters.auc}", "op": ">=", "right": 0.9}]},
        },
        "stop": {
            "kind": "fail",
            "if": "not ${steps.gate.outputs.passed}",
            "with": {"message": "auc below 0.9"},
        },
        "done": {
            "kind": "condition",
            "after": ["gate"],
            "with": {"all": [{"left": 1, "op": "==", "right": 1}]},
        },
    },
}


def run(capsys, *argv):
    """(exit code, stdout, stderr) of ``raymaker *argv``."""
    code = 0
    try:
        main(list(argv))
    except SystemExit as exited:
        code = exited.code
    out = capsys.readouterr()
    return code, out.out, out.err


def refused(capsys, *argv) -> str:
    code, _, err = run(capsys, *argv)
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    return err


def _file(tmp_path: Path, data: dict, name: str = "pipeline.yaml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def _changed(step: str, **fields) -> dict:
    data = json.loads(json.dumps(GATED))
    data["steps"][step].update(fields)
    return data


@pytest.fixture()
def storage(tmp_path) -> str:
    return str(tmp_path / "runs")


def test_a_dry_run_prints_the_dag_and_runs_nothing(capsys, tmp_path, storage):
    code, out, _ = run(
        capsys, "pipeline", "run", _file(tmp_path, GATED), "--dry-run", "--storage", storage
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "pipeline gated: 3 steps"
    assert [line.split()[1] for line in lines[1:]] == ["gate", "stop", "done"]
    assert "if not ${steps.gate.outputs.passed}" in lines[2]
    assert not Path(storage).exists()


def test_an_unknown_kind_is_refused_naming_the_step_and_field(capsys, tmp_path):
    err = refused(capsys, "pipeline", "run", _file(tmp_path, _changed("done", kind="trian")))
    assert "step 'done' kind: unknown kind 'trian'" in err and "train" in err


def test_a_bad_reference_is_refused_naming_the_step_and_field(capsys, tmp_path):
    bad = _changed("stop", **{"with": {"message": "${steps.gait.outputs.passed}"}})
    err = refused(capsys, "pipeline", "run", _file(tmp_path, bad), "--dry-run")
    assert "step 'stop' with.message" in err and "no step 'gait'" in err


def test_a_param_without_a_value_is_refused_naming_the_fix(capsys, tmp_path):
    err = refused(capsys, "pipeline", "run", _file(tmp_path, GATED), "--param", "auc")
    assert "--param 'auc'" in err and "NAME=VALUE" in err


def test_an_undeclared_param_is_refused_naming_the_declared_ones(capsys, tmp_path):
    err = refused(capsys, "pipeline", "run", _file(tmp_path, GATED), "-p", "acu=0.5")
    assert "'acu'" in err and "auc (float, default 0.95)" in err


def test_graph_of_a_file_prints_the_steps_in_order(capsys, tmp_path):
    code, out, _ = run(capsys, "pipeline", "graph", _file(tmp_path, GATED))
    assert code == 0
    assert [line.split()[1] for line in out.splitlines()[1:]] == ["gate", "stop", "done"]
    assert "after gate" in out.splitlines()[2]


def test_status_of_an_unknown_run_names_the_command_that_lists_runs(capsys, storage):
    err = refused(capsys, "pipeline", "status", "NOPE", "--storage", storage)
    assert "'NOPE'" in err and "raymaker pipeline list" in err


def test_runs_exit_by_their_outcome_and_are_listed_with_their_state(capsys, tmp_path, storage):
    file = _file(tmp_path, GATED)
    code, out, _ = run(capsys, "pipeline", "run", file, "--storage", storage)
    assert code == 0, out
    passed = out.split("pipeline run ", 1)[1].split()[0]
    assert f"pipeline run {passed}: succeeded" in out

    code, out, _ = run(capsys, "pipeline", "run", file, "-p", "auc=0.5", "--storage", storage)
    assert code == 1, out
    failed = out.split("pipeline run ", 1)[1].split()[0]
    assert f"pipeline run {failed}: failed" in out and "auc below 0.9" in out

    code, out, _ = run(capsys, "pipeline", "list", "--storage", storage)
    assert code == 0
    listed = dict(line.split() for line in out.splitlines())
    assert listed == {passed: "succeeded", failed: "failed"}


def test_status_as_json_holds_every_step(capsys, tmp_path, storage):
    code, out, _ = run(
        capsys, "pipeline", "run", _file(tmp_path, GATED), "-p", "auc=0.5", "--storage", storage
    )
    assert code == 1
    run_id = out.split("pipeline run ", 1)[1].split()[0]
    code, out, _ = run(capsys, "pipeline", "status", run_id, "--json", "--storage", storage)
    assert code == 0
    record = json.loads(out)
    assert (record["run_id"], record["state"]) == (run_id, "failed")
    assert {name: step["state"] for name, step in record["steps"].items()} == {
        "gate": "succeeded",
        "stop": "failed",
        "done": "succeeded",
    }
    assert record["steps"]["stop"]["error"] == "auc below 0.9"

    code, out, _ = run(capsys, "pipeline", "status", run_id, "--storage", storage)
    assert code == 0 and out.startswith(f"pipeline run {run_id}: failed")
