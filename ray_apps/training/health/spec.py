"""The ``health:`` section of a training job: which rules watch the run, and what each does.

    health:
      rules:
        - nonfinite                                  # a name: the rule with its defaults
        - {name: overfit, ratio_threshold: 0.2, patience: 2, actions: [tag, alert]}
        - {name: stalled, threshold_s: 600, actions: [stop]}
      actions: [tag]                                 # for rules that name none
      every_steps: 50                                # gradient signals every N optimizer steps
      webhook: {url_env: RAYMAKER_HEALTH_WEBHOOK, secret_env: RAYMAKER_HEALTH_SECRET}

Actions: ``stop`` (end the run cleanly, its last good checkpoint kept), ``alert`` (the
webhook, as monitors deliver theirs: retried, HMAC-signed with ``secret_env``), ``tag`` (MLflow
tags ``health.<rule>``). An unknown rule name, or a parameter a rule does not take, is refused
naming the valid ones; ``alert`` without a ``webhook`` is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_serializer,
    model_validator,
)

from ray_apps.training.health.rules import RULES, Finding, Observed
from ray_apps.webhook import WebhookSpec

Action = Literal["stop", "alert", "tag"]


class RuleSpec(BaseModel):
    """One rule: its name, its parameters (validated by the rule's own model), its actions."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    params: BaseModel
    actions: tuple[Action, ...] | None = None

    def check(self, observed: Observed) -> Finding | None:
        return RULES[self.name][1](self.params, observed)

    @model_serializer
    def _as_written(self) -> dict[str, Any]:
        # The YAML's form ({name, <params>, actions}): a run's saved job reads back the same.
        out = {"name": self.name, **self.params.model_dump(mode="json")}
        if self.actions is not None:
            out["actions"] = list(self.actions)
        return out


class HealthSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: tuple[RuleSpec, ...] = ()
    actions: tuple[Action, ...] = Field(("tag",), min_length=1)
    every_steps: int = Field(
        50, ge=1, description="sample gradient norm and update ratio every N steps (and the last)"
    )
    webhook: WebhookSpec | None = None
    preflight: Literal["auto", "always", "never"] = Field(
        "auto",
        description="check workers, devices, an all-reduce, the data and storage before the run "
        "(auto: before runs on a worker group's GPUs; ray_apps.training.preflight)",
    )

    @field_validator("rules", mode="before")
    @classmethod
    def _rules(cls, value: Any) -> Any:
        if not isinstance(value, list | tuple):
            raise ValueError("health.rules is a list of rule names or {name: …, <params>}")
        return [_rule(item, i) for i, item in enumerate(value)]

    @model_validator(mode="after")
    def _alerts_have_a_webhook(self) -> HealthSpec:
        alerting = [r.name for r in self.rules if "alert" in self.actions_of(r)]
        if alerting and self.webhook is None:
            raise ValueError(
                f"rules {alerting} alert, and alerts need a webhook: add webhook: "
                "{url_env: <VARIABLE>} (and secret_env to sign them), or drop the alert action"
            )
        return self

    def only(self, names: Iterable[str]) -> HealthSpec:
        """This section with only the rules named in ``names``."""
        keep = frozenset(names)
        return self.model_copy(update={"rules": tuple(r for r in self.rules if r.name in keep)})

    def actions_of(self, rule: RuleSpec) -> tuple[Action, ...]:
        return rule.actions or self.actions

    def check(self, observed: Observed) -> list[tuple[RuleSpec, Finding]]:
        """Every rule that fires on what the run has shown so far, with its finding."""
        fired = []
        for rule in self.rules:
            finding = rule.check(observed)
            if finding is not None:
                fired.append((rule, finding))
        return fired


def _rule(item: Any, i: int) -> RuleSpec:
    if isinstance(item, RuleSpec):
        return item
    if isinstance(item, str):
        item = {"name": item}
    if not isinstance(item, dict) or "name" not in item:
        raise ValueError(f"rules[{i}]: give a rule name or a mapping with name: and its params")
    name = item["name"]
    if name not in RULES:
        raise ValueError(f"rules[{i}].name {name!r} is not a health rule; use one of {_names()}")
    params_model = RULES[name][0]
    given = {k: v for k, v in item.items() if k not in ("name", "actions")}
    unknown = sorted(set(given) - set(params_model.model_fields))
    if unknown:
        takes = ", ".join(params_model.model_fields) or "no parameters"
        raise ValueError(f"rules[{i}] ({name}): {unknown} unknown; it takes {takes}")
    actions = item.get("actions")
    return RuleSpec(
        name=name,
        params=params_model.model_validate(given),
        actions=tuple(actions) if actions is not None else None,
    )


def _names() -> str:
    return ", ".join(RULES)


def rule_names() -> Sequence[str]:
    return tuple(RULES)
