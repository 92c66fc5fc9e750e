"""PyTorch FSDP2 (``torch.distributed.fsdp.fully_shard``): parameters sharded per block.

Each of the model's ``blocks`` (when it has them) and then the whole model become one FSDP unit;
a rank holds 1/N of every parameter (a DTensor shard), its gradient and its Adam moments — in
fp32 with Adam 16Ψ/N per rank. ``sharding: full`` frees the gathered parameters after forward
(ZeRO-3); ``grad_op`` keeps them until backward is done (ZeRO-2-like: faster, more memory in
the step). Checkpoints are torch.distributed.checkpoint shards (one file per rank).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from ray_apps.learners.strategies._blocks import checkpoint_blocks
from ray_apps.learners.strategies.base import (
    Engine,
    OptimizerEngine,
    Strategy,
    StrategyOptions,
    require_gpu_for_half_precision,
)


class FSDPOptions(StrategyOptions):
    kind: Literal["fsdp"] = "fsdp"
    sharding: Literal["full", "grad_op"] = Field(
        "full", description="full: reshard after forward (ZeRO-3); grad_op: after backward"
    )
    cpu_offload: bool = Field(False, description="keep the shards in CPU memory between steps")
    precision: Literal["fp32", "bf16"] = Field("fp32", description="bf16 needs a GPU")
    activation_checkpointing: bool = False


class FSDPEngine(OptimizerEngine):
    sharded = True

    def __init__(self, model, options: FSDPOptions, hp, device):
        import torch
        from torch.distributed.fsdp import CPUOffloadPolicy, MixedPrecisionPolicy, fully_shard

        from ray_apps.learners.strategies._optim import make_optimizer

        if options.activation_checkpointing:
            checkpoint_blocks(model)
        model = model.to(device)
        kwargs = {"reshard_after_forward": options.sharding == "full"}
        if options.cpu_offload:
            kwargs["offload_policy"] = CPUOffloadPolicy()
        if options.precision == "bf16":
            kwargs["mp_policy"] = MixedPrecisionPolicy(
                param_dtype=torch.bfloat16, reduce_dtype=torch.float32
            )
        for block in getattr(model, "blocks", []):
            fully_shard(block, **kwargs)
        self.module = fully_shard(model, **kwargs)
        self.optimizer = make_optimizer(hp, self.module.parameters())

    def _state(self):
        from torch.distributed.checkpoint.state_dict import get_state_dict

        model, optim = get_state_dict(self.module, self.optimizer)
        return {"model": model, "optimizer": optim}

    def save(self, folder: Path, rank: int) -> None:
        import torch.distributed.checkpoint as dcp

        dcp.save(self._state(), checkpoint_id=str(folder / "fsdp"))

    def load(self, folder: Path) -> None:
        import torch.distributed.checkpoint as dcp
        from torch.distributed.checkpoint.state_dict import set_state_dict

        state = self._state()
        dcp.load(state, checkpoint_id=str(folder / "fsdp"))
        # The job's hyperparameters (lr, …) win over the saved ones: see load_optimizer_state.
        own = [{k: v for k, v in g.items() if k != "params"} for g in self.optimizer.param_groups]
        set_state_dict(
            self.module,
            self.optimizer,
            model_state_dict=state["model"],
            optim_state_dict=state["optimizer"],
        )
        for group, configured in zip(self.optimizer.param_groups, own, strict=True):
            group.update(configured)

    def full_state_dict(self) -> dict | None:
        import torch.distributed as dist
        from torch.distributed.checkpoint.state_dict import (
            StateDictOptions,
            get_model_state_dict,
        )

        full = get_model_state_dict(
            self.module, options=StateDictOptions(full_state_dict=True, cpu_offload=True)
        )
        if dist.get_rank() != 0:
            return None
        return {k: v.detach().float().clone() for k, v in full.items()}

    def parameters(self) -> list:
        return [_local(p) for p in self.module.parameters()]

    def gradients(self) -> list:
        return [_local(p.grad) for p in self.module.parameters() if p.grad is not None]


def _local(tensor):
    """A DTensor's shard on this rank (a plain tensor as is)."""
    return tensor.to_local() if hasattr(tensor, "to_local") else tensor


class FSDPStrategy(Strategy):
    name = "fsdp"
    options = FSDPOptions

    def check(self, options: FSDPOptions, spec) -> None:
        require_gpu_for_half_precision("FSDP", options.precision, spec)

    def engine(self, model, options, hp, session) -> Engine:
        return FSDPEngine(model, options, hp, session.device())
