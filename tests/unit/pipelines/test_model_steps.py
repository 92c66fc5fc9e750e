"""The registry steps against a real (file) MLflow registry: approval by rule or by a person,
and the tuning job a registered version came from (the closed loop's warm start)."""

from __future__ import annotations

import threading

import pytest
from _factories import xgboost_artifact

from pipelines.steps import StepContext, jobs, models
from ray_apps import registry
from ray_apps.errors import SpecError, TrainingError

CTX = StepContext(
    run_id="loop-20261203-000000000-abcdef", step="approval", pipeline="loop", storage="unused"
)


@pytest.fixture()
def pending(tmp_path, request):
    """A fresh Pending version of a model named after the test."""
    name = request.node.name.replace("_", "-")[:40]
    mv = registry.register(xgboost_artifact(tmp_path / "a"), name, lineage={"run_name": "tune-7"})
    return mv.name, mv.version


def test_a_rule_that_holds_approves_at_once_and_says_who(pending):
    name, version = pending
    reason = "beats cancer:1 by 0.01"
    out = models.wait_for_approval(
        {"model": name, "version": version, "approve_if": True, "reason": reason}, CTX
    )
    assert out == {"approved": True, "by": f"pipeline:{CTX.run_id}/approval"}
    mv = registry.get_version(name, version)
    assert mv.status == "Approved" and mv.history[-1]["reason"] == reason


def test_a_rule_that_fails_leaves_the_decision_to_a_person(pending, monkeypatch):
    name, version = pending
    monkeypatch.setattr(models, "WAIT_POLL_S", 0.05)
    person = threading.Timer(
        0.5, lambda: registry.reject(name, version, by="alice", reason="not this week")
    )
    person.start()
    out = models.wait_for_approval(
        {"model": name, "version": version, "approve_if": False, "timeout_s": 30}, CTX
    )
    person.join()
    assert out == {"approved": False, "by": "alice"}
    assert registry.get_version(name, version).status == "Rejected"


def test_no_decision_in_time_fails_the_step_naming_the_version(pending, monkeypatch):
    name, version = pending
    monkeypatch.setattr(models, "WAIT_POLL_S", 0.05)
    with pytest.raises(TrainingError, match=f"{name}:{version} was not approved"):
        models.wait_for_approval({"model": name, "version": version, "timeout_s": 0.2}, CTX)
    assert registry.get_version(name, version).status == "Pending"


def test_a_warm_start_from_a_version_is_the_run_that_made_it(pending):
    name, version = pending
    assert jobs._tuning_run(f"{name}:{version}") == "tune-7"
    assert jobs._tuning_run("cancer-xgb-tune-20261203-000000") == "cancer-xgb-tune-20261203-000000"


def test_a_version_that_records_no_run_is_refused_naming_the_field(tmp_path):
    mv = registry.register(xgboost_artifact(tmp_path / "b"), "no-run", lineage={"run_name": ""})
    with pytest.raises(SpecError, match="with.warm_start_from 'no-run:1'"):
        jobs._tuning_run(f"no-run:{mv.version}")
