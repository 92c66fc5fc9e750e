"""DistributedDataParallel: each rank holds the whole model, its gradients and optimizer state.

Model states per rank in fp32 with Adam: 4Ψ parameters + 4Ψ gradients + 8Ψ moments = 16Ψ
(the ZeRO paper's 16Ψ counts fp16 weights and gradients plus a 12Ψ fp32 master copy and moments;
without mixed precision there is no master copy and the sum comes out the same).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from ray_apps.learners.strategies.base import (
    Engine,
    OptimizerEngine,
    Strategy,
    StrategyOptions,
)


class DDPOptions(StrategyOptions):
    kind: Literal["ddp"] = "ddp"


class DDPEngine(OptimizerEngine):
    sharded = False

    def __init__(self, model, hp, session):
        from ray_apps.learners.strategies._optim import make_optimizer

        self.module = session.prepare_model(model)
        # Made after the model moved to its device, so Adam's moments follow it there:
        # loading them first left them on the CPU (seen on a GPU).
        self.optimizer = make_optimizer(hp, self.module.parameters())

    def _raw(self):
        return self.module.module if hasattr(self.module, "module") else self.module

    def save(self, folder: Path, rank: int) -> None:
        import torch

        if rank == 0:  # every rank holds the same state: one copy is enough
            state = {"model": self._raw().state_dict(), "optimizer": self.optimizer.state_dict()}
            torch.save(state, folder / "ddp.pt")

    def load(self, folder: Path) -> None:
        import torch

        # Checkpoints from before strategies kept the same state in state.pt.
        path = folder / "ddp.pt" if (folder / "ddp.pt").exists() else folder / "state.pt"
        state = torch.load(path, map_location="cpu", weights_only=False)
        from ray_apps.learners.strategies._optim import load_optimizer_state

        self._raw().load_state_dict(state["model"])
        load_optimizer_state(self.optimizer, state["optimizer"])

    def full_state_dict(self) -> dict | None:
        return {k: v.detach().float().cpu() for k, v in self._raw().state_dict().items()}


class DDPStrategy(Strategy):
    name = "ddp"
    options = DDPOptions
    needs_process_group = False
    elastic = True  # rank 0 checkpoints the whole model and optimizer

    def engine(self, model, options, hp, session) -> Engine:
        return DDPEngine(model, hp, session)
