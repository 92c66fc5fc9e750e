"""The rollout spec: move an endpoint's traffic from its stable version to a candidate.

    endpoint: fairness               # the endpoint (Serve application) whose traffic moves
    candidate: fair:5                # the registered version that takes traffic ("model:version")
    strategy: canary                 # canary [10, 100] | linear (every 10 %) | all-at-once [100]
    steps: [5, 25, 100]              # or the candidate's percent per step, explicitly
    bake_s: 300                      # each step runs this long before it may pass
    max_hold_s: 3600                 # too little traffic this long after the bake: roll back
    guardrails:
      max_error_rate: 0.01           # the candidate's 5xx share
      max_p99_ratio: 1.5             # candidate p99 <= stable p99 * 1.5 + p99_slack_ms
      p99_slack_ms: 5
      max_client_error_excess: 0.02  # candidate 4xx share - stable 4xx share
      min_requests: 100              # candidate requests per step before it can pass
      confidence: 0.95               # how sure a breach must be before it rolls back
      on_alert: true                 # a monitor's alert on the candidate rolls back
    variant: candidate               # the candidate's variant name while it runs
    num_cpus: 0.25                   # its replicas (default: the endpoint's) ...
    autoscaling: {max_replicas: 1}   # ... and their count: small beside the stable's
    monitor_reports: /data/monitor   # a monitor's violation on the candidate rolls back

Unknown keys are rejected; ``parse_rollout_spec`` takes a mapping, a YAML path or a spec.
What each guardrail means to a decision is in ``serve.rollout.decision``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ray_apps.registry import parse_ref
from ray_apps.spec import _Strict, spec_from
from serve.config import AutoscalingSpec, FaultSpec


class Guardrails(_Strict):
    """When a candidate is rolled back, and how much traffic a step needs to pass."""

    max_error_rate: float = Field(0.01, ge=0, lt=1, description="the candidate's 5xx share")
    max_p99_ratio: float = Field(1.5, ge=1, description="candidate p99 / stable p99 ...")
    # Sub-millisecond models: a p99 of 0.4 ms against 0.2 ms is a ratio of 2 and no harm.
    p99_slack_ms: float = Field(5.0, ge=0, description="... plus this absolute allowance")
    # Bad input every variant refuses is the caller's; input only the candidate refuses is
    # the candidate's fault (a schema it no longer accepts), so the excess over stable counts.
    max_client_error_excess: float = Field(0.02, ge=0, le=1)
    min_requests: int = Field(100, ge=1, description="candidate requests before a step passes")
    confidence: float = Field(0.95, ge=0.5, lt=1, description="of a breach before rollback")
    on_alert: bool = Field(True, description="a monitor alert on the candidate rolls back")


Strategy = Literal["canary", "linear", "all-at-once"]


class RolloutSpec(_Strict):
    """A plan that moves ``endpoint``'s traffic to ``candidate`` in steps, with guardrails."""

    endpoint: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    candidate: str = Field(description='"model:version", e.g. "fair:5"')
    strategy: Strategy = "canary"
    steps: list[float] | None = Field(None, description="candidate percent per step, to 100")
    linear_step_percent: float = Field(10, gt=0, le=100, description="strategy linear only")
    bake_s: float = Field(300, ge=0, description="per step, before it may pass")
    max_hold_s: float | None = Field(None, gt=0, description="inconclusive this long: roll back")
    guardrails: Guardrails = Guardrails()
    variant: str = Field(
        "candidate",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$",
        description="the candidate's variant name while the rollout runs",
    )
    # A canary's point is its small blast radius: a candidate that crashes its process must
    # not take the stable's replicas with it, so by default it runs in replicas of its own.
    replicas: Literal["own", "shared"] = Field(
        "own", description="the candidate's own replicas, or loaded into the stable's (one hop)"
    )
    num_cpus: float | None = Field(None, gt=0, description="per candidate replica")
    autoscaling: AutoscalingSpec | None = Field(
        None, description="the candidate's replicas while it runs beside the stable"
    )
    monitor_reports: str | None = Field(
        None,
        description="where monitors of the candidate write (default: $RAYMAKER_HOME/monitor); "
        "their violations during a step roll back when guardrails.on_alert",
    )
    fault: FaultSpec | None = Field(
        None, description="faults injected into the candidate: rehearse a rollback"
    )

    @field_validator("candidate")
    @classmethod
    def _model_and_version(cls, value: str) -> str:
        name, version = parse_ref(value)  # SpecError (a ValueError) names a bad name/version
        if version is None:
            # A rollout compares two fixed versions; "newest approved" could change under it.
            raise ValueError(
                f"{value!r} names no version; write the version to roll out, e.g. '{name}:5'"
            )
        return f"{name}:{version}"

    @field_validator("steps")
    @classmethod
    def _increasing_to_100(cls, value: list[float] | None) -> list[float] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("steps is empty; list the candidate's percents, e.g. [10, 50, 100]")
        if any(not 0 < p <= 100 for p in value):
            raise ValueError(f"steps {value} must each lie in (0, 100]; e.g. [10, 50, 100]")
        if any(b <= a for a, b in zip(value, value[1:], strict=False)):
            raise ValueError(f"steps {value} must increase step by step; e.g. [10, 50, 100]")
        if value[-1] != 100:
            raise ValueError(
                f"steps {value} end at {value[-1]:g}; the last step must be 100 (promotion)"
            )
        return value

    @model_validator(mode="after")
    def _strategy_fits(self) -> RolloutSpec:
        if self.strategy == "all-at-once" and self.steps not in (None, [100]):
            raise ValueError(
                f"strategy all-at-once moves all traffic in one step, but steps is {self.steps}; "
                "drop steps or use strategy canary"
            )
        explicit = "linear_step_percent" in self.model_fields_set
        if explicit and (self.strategy != "linear" or self.steps is not None):
            raise ValueError(
                "linear_step_percent applies to strategy linear without explicit steps; "
                f"here strategy is {self.strategy} and steps is {self.steps}: drop one of them"
            )
        return self

    def percents(self) -> list[float]:
        """The candidate's traffic percent at each step; the last is 100."""
        if self.steps is not None:
            return list(self.steps)
        if self.strategy == "all-at-once":
            return [100.0]
        if self.strategy == "canary":
            return [10.0, 100.0]
        # i * step rather than a running sum: 10 additions of 0.1 are not 1.0.
        step = self.linear_step_percent
        below = [round(i * step, 9) for i in range(1, int(100 / step) + 1)]
        return [p for p in below if p < 100] + [100.0]

    @property
    def model(self) -> str:
        return self.candidate.partition(":")[0]

    @property
    def version(self) -> int:
        return int(self.candidate.partition(":")[2])


def parse_rollout_spec(data: RolloutSpec | dict[str, Any] | str | Path) -> RolloutSpec:
    """A validated spec from a spec, a mapping or a YAML path; SpecError names the field."""
    return spec_from(RolloutSpec, data, source="rollout spec")
