"""The step kinds a pipeline may use: each one's inputs, which are required, and its outputs.

Data only: the graph checks a pipeline against this table before anything runs, so a typo in
an input name or a reference to an output a kind never produces fails at ``validate``, not an
hour into a run. The code that executes each kind lives with the runner.

    steps:
      train:
        kind: train                                       # a key of KINDS
        with: {config: examples/train_xgboost.yaml}       # the kind's inputs (config required)
      evaluate:
        kind: evaluate
        with:
          artifact: ${steps.train.outputs.artifact}       # one of train's declared outputs
          data: sklearn:breast_cancer

Type names of inputs and outputs: str int float bool dict list path any. ``path`` is a file or
folder (local or a URI) and is interchangeable with ``str``; ``any`` matches everything.
"""

from __future__ import annotations

from dataclasses import dataclass

TYPES = ("str", "int", "float", "bool", "dict", "list", "path", "any")


@dataclass(frozen=True)
class StepKind:
    """One kind of step: input name → type, the required inputs, output name → type."""

    name: str
    inputs: dict[str, str]
    required: frozenset[str]
    outputs: dict[str, str]
    doc: str
    # Inputs of which exactly one must be given (a condition's ``all`` or ``any``).
    exactly_one: frozenset[str] = frozenset()


def _kind(name: str, inputs: str, outputs: str, doc: str, exactly_one: str = "") -> StepKind:
    # "config:path! overrides:dict" → inputs, with "!" marking the required ones.
    pairs = [item.split(":") for item in inputs.split()]
    return StepKind(
        name=name,
        inputs={n.rstrip("!"): t.rstrip("!") for n, t in pairs},
        required=frozenset(n for n, t in pairs if t.endswith("!")),
        outputs=dict(item.split(":") for item in outputs.split()),
        doc=doc,
        exactly_one=frozenset(exactly_one.split()),
    )


_TABLE = [
    _kind(
        "train",
        "config:path! overrides:dict",
        "artifact:path run_name:str metrics:dict",
        "Train a model from a training job file (raymaker train).",
    ),
    _kind(
        "tune",
        "config:path! overrides:dict warm_start_from:str",
        "best_artifact:path best_params:dict best_metrics:dict run_name:str",
        "Search hyperparameters from a tuning job file (raymaker tune); warm_start_from: a "
        "tuning job's run name, or a registered version (name:version) to start from the "
        "tuning job that made it (transfer mode).",
    ),
    _kind(
        "evaluate",
        "artifact:path model:str data:str! gate:dict config:path overrides:dict",
        "metrics:dict passed:bool report:path",
        "Score an artifact, or a registered version (model: name:version), on labelled data, "
        "optionally against a gate (thresholds).",
        exactly_one="artifact model",
    ),
    _kind(
        "register",
        "artifact:path! model:str! status:str",
        "model:str version:int ref:str",
        "Register an artifact as a new version of a model in the registry.",
    ),
    _kind(
        "approve",
        "model:str! version:int! reason:str",
        "approved:bool by:str",
        "Approve a model version (guard it with an if: on a condition to approve by rule).",
    ),
    _kind(
        "wait_for_approval",
        "model:str! version:int! timeout_s:float approve_if:bool reason:str",
        "approved:bool by:str",
        "Wait until a person approves (or rejects) a model version; when approve_if is true "
        "(a rule's verdict, e.g. a condition's passed), approve it at once instead.",
    ),
    _kind(
        "deploy",
        "config:path! model:str version:int",
        "endpoint:str url:str models:list",
        "Deploy (or update) an endpoint from an endpoint file.",
    ),
    _kind(
        "rollout",
        "config:path! candidate:str! overrides:dict",
        "status:str promoted:bool reason:str",
        "Move an endpoint's traffic to a candidate version in guarded steps (a rollout file); "
        "promoted, or rolled back with the reason.",
    ),
    _kind(
        "batch",
        "config:path! overrides:dict",
        "output:path rows_out:int rejected:int",
        "Run batch inference from a batch job file.",
    ),
    _kind(
        "monitor",
        "config:path! overrides:dict",
        "drifted:bool report:path alerts:list",
        "Check captured traffic for drift and quality from a monitor file.",
    ),
    _kind(
        "explain",
        "config:path! overrides:dict",
        "report:path",
        "Explain a model's predictions (SHAP) from an explain job file.",
    ),
    _kind(
        "bias",
        "config:path! overrides:dict",
        "report:path passed:bool",
        "Measure a model's bias across groups from a bias job file.",
    ),
    _kind(
        "condition",
        "all:list any:list",
        "passed:bool",
        "True when all (or any) of its comparisons {left, op, right} hold; no job runs.",
        exactly_one="all any",
    ),
    _kind(
        "fail",
        "message:str!",
        "",
        "Stop the pipeline with a message (put an `if:` on it).",
    ),
]

KINDS: dict[str, StepKind] = {kind.name: kind for kind in _TABLE}
