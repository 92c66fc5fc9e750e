"""What a run's health rules decide at each epoch (or round), as a pure function, and the
watch that keeps the run's history for it.

Every rank of a worker group holds a :class:`HealthWatch` and calls ``observe`` at each report
with the same numbers (the loops all-reduce or gather every signal they report), so every rank
reaches the same verdict at the same epoch — no extra round trip to decide who stops. Only rank 0
acts on it (``ray_apps.training.health.actions``): console, run log, MLflow tags, webhook.

A rule's ``tag`` and ``alert`` act the first time it fires in a run (not every epoch it still
holds: one tag, one alert); ``stop`` acts whenever it fires, so a resumed run that goes bad
again stops again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ray_apps.training.health.rules import Finding, Observed
from ray_apps.training.health.spec import Action, HealthSpec

# Findings that mean the model's state itself is bad: a run stopped for one of these does not
# checkpoint the epoch that showed it, so the last checkpoint is one from before.
BAD_STATE = frozenset({"nonfinite", "exploding_gradient", "weight_update_ratio"})


@dataclass(frozen=True)
class Fired:
    """A rule that fired, its finding, and the actions it takes this time."""

    rule: str
    finding: Finding
    actions: tuple[Action, ...]

    def to_dict(self) -> dict[str, Any]:
        f = self.finding
        return {
            "rule": self.rule,
            "epoch": f.epoch,
            "value": f.value,
            "message": f.message,
            "actions": list(self.actions),
        }


@dataclass(frozen=True)
class Verdict:
    fired: tuple[Fired, ...] = ()

    @property
    def stop(self) -> Fired | None:
        """The first fired rule whose action is ``stop`` (None: the run goes on)."""
        return next((f for f in self.fired if "stop" in f.actions), None)

    @property
    def keeps_checkpoint(self) -> bool:
        """False when the run stops on a bad state: this epoch's checkpoint is not written."""
        return not any(f.rule in BAD_STATE for f in self.fired if "stop" in f.actions)


NO_VERDICT = Verdict()


def decide(
    spec: HealthSpec,
    history: Sequence[Mapping[str, Any]],
    now: float,
    *,
    started_at: float | None = None,
    acted: Iterable[str] = (),
) -> Verdict:
    """The rules of ``spec`` over ``history`` at ``now``; ``acted``: rules that already tagged
    or alerted in this run (they only ``stop`` now)."""
    done = set(acted)
    observed = Observed(history, now if started_at is None else started_at, now)
    fired = []
    for rule, finding in spec.check(observed):
        actions = tuple(a for a in spec.actions_of(rule) if a == "stop" or rule.name not in done)
        if actions:
            fired.append(Fired(rule.name, finding, actions))
    return Verdict(tuple(fired))


@dataclass
class HealthWatch:
    """A run's health rules, its signal history and which rules acted already.

    The loop's thread calls ``observe`` at each report; the clock rules' thread
    (``health.watchdog``) calls ``check_clock`` between them, under the same lock."""

    spec: HealthSpec
    started_at: float
    history: list[dict[str, Any]] = field(default_factory=list)
    acted: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def resume(
        self, history: Iterable[Mapping[str, Any]], findings: Iterable[Mapping[str, Any]]
    ) -> None:
        """Carry on from a run's earlier epochs and the rules that fired in them."""
        self.history = [dict(row) for row in history]
        self.acted = {f["rule"] for f in findings}

    def observe(self, metrics: Mapping[str, Any], epoch: int, now: float) -> Verdict:
        with self._lock:
            self.history.append(_row(metrics, epoch, now))
            return self._decide(self.spec, now)

    def check_clock(self, now: float, rules: Iterable[str]) -> Verdict:
        """Only ``rules`` (the clock's), on the history so far, at ``now``."""
        with self._lock:
            return self._decide(self.spec.only(rules), now)

    @property
    def last_epoch(self) -> int:
        """The newest evaluation's epoch, 0 before the first."""
        with self._lock:
            return int(self.history[-1].get("epoch") or 0) if self.history else 0

    def _decide(self, spec: HealthSpec, now: float) -> Verdict:
        verdict = decide(spec, self.history, now, started_at=self.started_at, acted=self.acted)
        self.acted.update(f.rule for f in verdict.fired)
        return verdict


def _row(metrics: Mapping[str, Any], epoch: int, now: float) -> dict[str, Any]:
    """One evaluation: the epoch's metrics, the time, and the ranks' step times as a list
    (``rank<r>_step_time_s``, reported when a worker group has several ranks)."""
    row = {**metrics, "epoch": epoch, "t": now}
    ranks = sorted(
        (int(k[4:].split("_", 1)[0]), v)
        for k, v in metrics.items()
        if k.startswith("rank") and k.endswith("_step_time_s")
    )
    if len(ranks) > 1:
        row["rank_step_time_s"] = [v for _, v in ranks]
    return row
