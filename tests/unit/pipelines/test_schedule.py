"""What may start, be skipped or be blocked next, and when a run is over: pure functions of the
graph and the steps' states, checked on small graphs with no runner behind them."""

from __future__ import annotations

import pytest

from pipelines import load_pipeline, validate
from pipelines.schedule import (
    BLOCKED,
    CACHED,
    FAILED,
    PENDING,
    RUNNING,
    SKIPPED,
    SUCCEEDED,
    outcome,
    startable,
    to_block,
    to_skip,
)


def _graph(steps: dict[str, list[str]]):
    """A validated graph of ``fail`` steps, each run ``after`` the listed ones."""
    return validate(
        load_pipeline(
            {
                "name": "sched",
                "steps": {
                    name: {"kind": "fail", "with": {"message": name}, "after": after}
                    for name, after in steps.items()
                },
            }
        )
    )


# Written out of run order on purpose: c waits for b, b for a; d stands alone; e joins b and d.
DIAMOND = {"c": ["b"], "b": ["a"], "a": [], "d": [], "e": ["b", "d"]}


def _states(**given: str) -> dict[str, str]:
    return {name: given.get(name, PENDING) for name in DIAMOND}


def test_the_roots_start_first_in_the_graphs_order():
    graph = _graph(DIAMOND)
    assert graph.order == ("a", "b", "c", "d", "e")
    assert startable(graph, _states()) == ["a", "d"]


def test_a_step_starts_only_once_every_upstream_is_done():
    graph = _graph(DIAMOND)
    assert startable(graph, _states(a=RUNNING, d=RUNNING)) == []
    assert startable(graph, _states(a=SUCCEEDED, d=RUNNING)) == ["b"]
    # e waits for both b and d: one of them done is not enough.
    assert startable(graph, _states(a=SUCCEEDED, b=SUCCEEDED, d=RUNNING)) == ["c"]
    assert startable(graph, _states(a=SUCCEEDED, b=CACHED, d=SUCCEEDED)) == ["c", "e"]


def test_running_and_finished_steps_are_never_startable():
    graph = _graph(DIAMOND)
    done = _states(a=SUCCEEDED, b=SUCCEEDED, c=RUNNING, d=FAILED, e=SUCCEEDED)
    assert startable(graph, done) == []


def test_a_skipped_upstream_skips_its_dependents_and_does_not_block_them():
    graph = _graph(DIAMOND)
    states = _states(a=SUCCEEDED, b=SKIPPED, d=SUCCEEDED)
    assert to_skip(graph, states) == ["c", "e"]
    assert to_block(graph, states) == []
    # Skipped counts as done for the run, but its dependents never start: their inputs would
    # name outputs that were never made.
    assert startable(graph, states) == []


def test_a_failed_upstream_blocks_its_dependents_and_does_not_skip_them():
    graph = _graph(DIAMOND)
    states = _states(a=FAILED, d=SUCCEEDED)
    assert to_block(graph, states) == ["b"]
    assert to_skip(graph, states) == []
    assert startable(graph, states) == []


def test_blocking_travels_down_one_layer_at_a_time():
    graph = _graph(DIAMOND)
    assert to_block(graph, _states(a=SUCCEEDED, b=BLOCKED, d=SUCCEEDED)) == ["c", "e"]


def test_skipping_travels_down_from_a_skipped_dependent():
    graph = _graph(DIAMOND)
    assert to_skip(graph, _states(a=SKIPPED)) == ["b"]
    assert to_skip(graph, _states(a=SKIPPED, b=SKIPPED)) == ["c", "e"]


def test_only_pending_steps_are_skipped_or_blocked():
    graph = _graph(DIAMOND)
    states = _states(a=FAILED, b=RUNNING, d=SKIPPED, e=SUCCEEDED)
    assert to_block(graph, states) == []
    assert to_skip(graph, states) == []


@pytest.mark.parametrize("waiting", [PENDING, RUNNING])
def test_no_outcome_while_a_step_may_still_run(waiting):
    assert outcome({"a": FAILED, "b": waiting}) is None
    assert outcome({"a": SUCCEEDED, "b": waiting}) is None


@pytest.mark.parametrize("bad", [FAILED, BLOCKED])
def test_the_run_fails_when_a_step_failed_or_was_blocked(bad):
    assert outcome({"a": SUCCEEDED, "b": bad, "c": SKIPPED}) == FAILED


def test_the_run_succeeds_when_every_step_succeeded_came_from_the_cache_or_was_skipped():
    assert outcome({"a": SUCCEEDED, "b": CACHED, "c": SKIPPED}) == SUCCEEDED
    assert outcome({"a": SKIPPED}) == SUCCEEDED
