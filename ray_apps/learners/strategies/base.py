"""What a training strategy is: the options a job sets, and the engine a worker trains through.

The driver side (``Strategy``) validates its options against the job and picks Ray Train's
backend. The worker side (``Engine``) wraps the model and optimizer: one training step, the
module to evaluate, a checkpoint of this rank's state, and the full fp32 weights for the
artifact. Engines import torch (and DeepSpeed) only when a worker builds one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from ray_apps.spec import TrainJobSpec


class StrategyOptions(BaseModel):
    """Base of every strategy's options: unknown keys rejected, frozen (shipped to workers)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Engine(ABC):
    """A model and optimizer as one strategy trains them on one rank."""

    module: Any  # what the loop calls forward on (a wrapped module)
    sharded: ClassVar[bool]  # every rank writes part of each checkpoint
    accumulation: int = 1  # micro-batches per optimizer step

    @abstractmethod
    def backward(self, loss) -> None:
        """Gradients of ``loss`` (reduced across ranks as the strategy does)."""

    @abstractmethod
    def step(self) -> None:
        """The optimizer step (at an accumulation boundary), then gradients cleared."""

    @abstractmethod
    def save(self, folder: Path, rank: int) -> None:
        """Write this rank's training state (model, optimizer) into ``folder``."""

    @abstractmethod
    def load(self, folder: Path) -> None:
        """Restore what ``save`` wrote (by every rank) into this engine."""

    @abstractmethod
    def full_state_dict(self) -> dict | None:
        """The whole model as an fp32 CPU ``state_dict`` on rank 0 (None elsewhere).

        Collective: every rank calls it."""

    def parameters(self) -> list:
        """The tensors that hold this rank's parameters (its shard when sharded)."""
        return [p for p in self.module.parameters()]

    def gradients(self) -> list:
        """The tensors that hold this rank's gradients right after backward."""
        return [p.grad for p in self.module.parameters() if p.grad is not None]

    def global_grad_norm(self) -> float | None:
        """The gradient norm of the last optimizer step as the strategy computed it, the same on
        every rank; None where it computes none (the health probe reads ``p.grad`` then)."""
        return None


def require_gpu_for_half_precision(strategy: str, precision: str, spec: TrainJobSpec) -> None:
    """Refuse bf16/fp16 without a GPU: DeepSpeed and FSDP train in fp32 only on the CPU."""
    if precision != "fp32" and not spec.scaling.use_gpu:
        raise ValueError(
            f"scaling.strategy.precision {precision} needs a GPU: {strategy} on CPU trains in "
            "fp32 only; set scaling.use_gpu: true or precision: fp32"
        )


class OptimizerEngine(Engine):
    """An engine that steps a torch optimizer over the module's parameters itself (DDP, FSDP;
    DeepSpeed's engine owns its backward and step)."""

    optimizer: Any

    def backward(self, loss) -> None:
        loss.backward()

    def step(self) -> None:
        self.optimizer.step()
        self.optimizer.zero_grad()


class Strategy(ABC):
    name: ClassVar[str]
    options: ClassVar[type[StrategyOptions]]
    # Needs a torch.distributed process group even on one worker (so a one-process Tune
    # trial runs as a Ray Train worker group instead).
    needs_process_group: ClassVar[bool] = True
    # Its checkpoints load on any number of workers, so a run may shrink and grow (elastic).
    elastic: ClassVar[bool] = False

    def check(self, options: StrategyOptions, spec: TrainJobSpec) -> None:
        """Raise ValueError naming the field if ``options`` do not fit the job."""
        return None

    def backend(self, spec: TrainJobSpec):
        """Ray Train's backend config for the worker group."""
        from ray.train.torch import TorchConfig

        # A lost peer must fail the collective (and so trigger a restart) within
        # collective_timeout_s instead of hanging the group (ray#22349).
        return TorchConfig(
            backend="nccl" if spec.scaling.use_gpu else "gloo",
            timeout_s=spec.failure.collective_timeout_s,
        )

    @abstractmethod
    def engine(self, model, options: StrategyOptions, hp, session) -> Engine:
        """Wrap ``model`` on this worker; ``hp`` are the torch hyperparameters."""
