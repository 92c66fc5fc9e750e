"""Training strategies by name: how the torch learner's worker group holds and updates a model.

ddp        DistributedDataParallel: every rank holds the whole model, gradients and optimizer
deepspeed  DeepSpeed ZeRO stage 1/2/3 (optimizer state, + gradients, + parameters sharded),
           optional CPU/NVMe offload, mixed precision on GPU, gradient accumulation and clipping
fsdp       PyTorch FSDP2 (``fully_shard``): parameters, gradients and optimizer state sharded

``scaling.strategy`` of a job names one (``kind``) with its options; the spec, the loop and the
trainer all resolve it through this table, and nothing else branches on a strategy's name.
Importing the table imports neither torch nor DeepSpeed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from ray_apps.errors import SpecError
from ray_apps.learners.strategies.base import Engine, Strategy


def _ddp() -> Strategy:
    from ray_apps.learners.strategies._ddp import DDPStrategy

    return DDPStrategy()


def _deepspeed() -> Strategy:
    from ray_apps.learners.strategies._deepspeed import DeepSpeedStrategy

    return DeepSpeedStrategy()


def _fsdp() -> Strategy:
    from ray_apps.learners.strategies._fsdp import FSDPStrategy

    return FSDPStrategy()


_FACTORIES: dict[str, Callable[[], Strategy]] = {
    "ddp": _ddp,
    "deepspeed": _deepspeed,
    "fsdp": _fsdp,
}


def strategy_names() -> list[str]:
    """The valid values of ``scaling.strategy.kind``, sorted."""
    return sorted(_FACTORIES)


@cache
def get_strategy(kind: str) -> Strategy:
    """The strategy named ``kind``; SpecError naming the valid kinds for any other name."""
    factory = _FACTORIES.get(kind)
    if factory is None:
        raise SpecError(
            f"unknown training strategy {kind!r}; scaling.strategy.kind must be one of "
            f"{', '.join(strategy_names())}"
        )
    return factory()


__all__ = ["Engine", "Strategy", "get_strategy", "strategy_names"]
