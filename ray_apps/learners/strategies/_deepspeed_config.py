"""The DeepSpeed JSON a job trains with: generated from the job, or the user's own plus the job's.

DeepSpeed's config stays DeepSpeed's (a plain dict, as its docs describe it); this file touches
only the keys the job sets. A user's JSON (``scaling.strategy.config``) is the base; each key the
job also sets must agree with it or the job is refused naming both values, so no setting is
silently overridden either way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ray_apps.learners.strategies.base import StrategyOptions


class Offload(StrategyOptions):
    """Where ZeRO keeps a state it offloads: CPU memory, or files under an NVMe ``nvme_path``."""

    device: Literal["cpu", "nvme"]
    nvme_path: str | None = None

    @model_validator(mode="after")
    def _nvme_needs_path(self) -> Offload:
        if self.device == "nvme" and not self.nvme_path:
            raise ValueError("device nvme needs nvme_path: a folder on a local NVMe drive")
        if self.device == "cpu" and self.nvme_path:
            raise ValueError("nvme_path applies to device nvme only; remove it or set device: nvme")
        return self


class DeepSpeedOptions(StrategyOptions):
    """``scaling.strategy`` for ``kind: deepspeed``. Unset options take DeepSpeed's defaults."""

    kind: Literal["deepspeed"] = "deepspeed"
    zero_stage: Literal[1, 2, 3] | None = Field(
        None, description="1 optimizer state, 2 + gradients, 3 + parameters sharded; default 2"
    )
    offload_optimizer: Offload | None = None
    offload_param: Offload | None = Field(None, description="ZeRO-3 only")
    precision: Literal["fp32", "bf16", "fp16"] | None = Field(
        None, description="bf16/fp16 need a GPU (scaling.use_gpu); default fp32"
    )
    gradient_accumulation_steps: int | None = Field(None, ge=1)
    gradient_clipping: float | None = Field(None, gt=0)
    activation_checkpointing: bool = Field(
        False, description="recompute each of the model's ``blocks`` in backward"
    )
    bucket_elements: int = Field(
        500_000, ge=1000, description="ZeRO's reduce/all-gather bucket size (elements)"
    )
    config: dict[str, Any] | None = Field(
        None, description="your own DeepSpeed JSON: a path to a .json file, or a mapping"
    )

    @field_validator("offload_optimizer", "offload_param", mode="before")
    @classmethod
    def _device_shorthand(cls, value: Any) -> Any:
        return {"device": value} if isinstance(value, str) else value

    @field_validator("config", mode="before")
    @classmethod
    def _read_json(cls, value: Any) -> Any:
        if not isinstance(value, (str, Path)):
            return value
        path = Path(value)
        if not path.is_file():
            raise ValueError(f"DeepSpeed config file {str(path)!r} does not exist")
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"DeepSpeed config {str(path)!r} is not valid JSON: {err}") from None

    @model_validator(mode="after")
    def _consistent(self) -> DeepSpeedOptions:
        stage = self.stage
        if self.offload_param and stage != 3:
            raise ValueError(
                f"offload_param needs zero_stage 3 (got {stage}); set zero_stage: 3 or remove it"
            )
        if self.offload_optimizer and self.offload_optimizer.device == "nvme" and stage != 3:
            raise ValueError(
                f"offload_optimizer to nvme needs zero_stage 3 (got {stage}); use device: cpu"
            )
        return self

    @property
    def stage(self) -> int:
        if self.zero_stage is not None:
            return self.zero_stage
        return int(_get(self.config or {}, "zero_optimization.stage") or 2)

    @property
    def dtype(self) -> str:
        if self.precision:
            return self.precision
        for name in ("bf16", "fp16"):
            if _get(self.config or {}, f"{name}.enabled"):
                return name
        return "fp32"


_OPTIMIZERS = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD"}


def _get(config: dict, dotted: str) -> Any:
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _set(config: dict, dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = config
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def _offload(o: Offload) -> dict[str, Any]:
    return {"device": o.device, **({"nvme_path": o.nvme_path} if o.nvme_path else {})}


def job_config(
    options: DeepSpeedOptions, *, batch_size: int, lr: float, weight_decay: float, optimizer: str
) -> dict[str, Any]:
    """The DeepSpeed config for a job: the user's JSON (if any) with the job's keys set.

    ValueError names both values when the user's JSON sets a key the job also sets differently.
    The key ``train_batch_size`` is left for DeepSpeed to derive (micro batch × accumulation ×
    ranks), so the same job runs on any number of workers.
    """
    job: dict[str, Any] = {  # what the job itself says, by (dotted key, the field that said it)
        "train_micro_batch_size_per_gpu": (batch_size, "hyperparameters.batch_size"),
        "optimizer.type": (_OPTIMIZERS[optimizer], "hyperparameters.optimizer"),
        "optimizer.params.lr": (lr, "hyperparameters.lr"),
        "optimizer.params.weight_decay": (weight_decay, "hyperparameters.weight_decay"),
    }
    field = "scaling.strategy"
    if options.zero_stage is not None:
        job["zero_optimization.stage"] = (options.zero_stage, f"{field}.zero_stage")
    if options.gradient_accumulation_steps is not None:
        steps = options.gradient_accumulation_steps
        job["gradient_accumulation_steps"] = (steps, f"{field}.gradient_accumulation_steps")
    if options.gradient_clipping is not None:
        job["gradient_clipping"] = (options.gradient_clipping, f"{field}.gradient_clipping")
    for name in ("offload_optimizer", "offload_param"):
        if (offload := getattr(options, name)) is not None:
            job[f"zero_optimization.{name}"] = (_offload(offload), f"{field}.{name}")
    if options.precision is not None:
        for dtype in ("bf16", "fp16"):
            job[f"{dtype}.enabled"] = (options.precision == dtype, f"{field}.precision")

    user = options.config or {}
    if "train_batch_size" in user:
        raise ValueError(
            f"{field}.config sets train_batch_size {user['train_batch_size']}; remove it: it "
            "follows from hyperparameters.batch_size × gradient_accumulation_steps × workers"
        )
    config = json.loads(json.dumps(user))  # a deep copy of plain JSON
    for key, (value, source) in job.items():
        theirs = _get(user, key)
        if theirs is not None and theirs != value:
            raise ValueError(
                f"{field}.config sets {key} to {theirs!r} but {source} gives {value!r}; "
                "remove one of them or make them agree"
            )
        _set(config, key, value)
    stage = options.stage
    _set(config, "zero_optimization.stage", stage)
    defaults = {
        # ZeRO's buckets default to 5e8 elements (2 GB in fp32), more than a tabular model.
        "zero_optimization.reduce_bucket_size": options.bucket_elements,
        "zero_optimization.allgather_bucket_size": options.bucket_elements,
        "zero_optimization.stage3_prefetch_bucket_size": options.bucket_elements,
        "zero_optimization.stage3_max_live_parameters": options.bucket_elements,
        # Small parameters stay whole on every rank by default; shard all of them so that each
        # rank holds 1/N (DeepSpeed's default keeps any tensor under 1e5 elements whole).
        "zero_optimization.stage3_param_persistence_threshold": 0,
        # torch's Adam instead of DeepSpeed's fused/CPU Adam: nothing to compile on a worker.
        "optimizer.params.torch_adam": True,
        "zero_force_ds_cpu_optimizer": False,
        "steps_per_print": 10**9,
    }
    for key, value in defaults.items():
        if _get(config, key) is None:
            _set(config, key, value)
    if optimizer == "sgd":
        config["optimizer"]["params"].pop("torch_adam", None)
    return config
