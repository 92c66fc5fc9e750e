"""Learners by name: the one table that job specs, YAML, the CLI and serving resolve through.

torch    a PyTorch module (``model.class_path``) under ``scaling.strategy`` (DDP, ZeRO, FSDP)
xgboost  distributed XGBoost boosting rounds

Each factory imports its learner only when it is asked for; importing this table imports
neither torch nor xgboost. Adding a learner: one file with a :class:`Learner` subclass, plus
one line in ``_FACTORIES``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from ray_apps.errors import SpecError
from ray_apps.learners.base import Learner


def _torch() -> Learner:
    from ray_apps.learners.torch_learner import TorchLearner

    return TorchLearner()


def _xgboost() -> Learner:
    from ray_apps.learners.xgboost_learner import XGBoostLearner

    return XGBoostLearner()


_FACTORIES: dict[str, Callable[[], Learner]] = {"torch": _torch, "xgboost": _xgboost}


def learner_names() -> list[str]:
    """The valid values of ``model.kind``, sorted."""
    return sorted(_FACTORIES)


@cache
def get_learner(kind: str) -> Learner:
    """The learner named ``kind``; SpecError naming the valid kinds for any other name."""
    factory = _FACTORIES.get(kind)
    if factory is None:
        raise SpecError(
            f"unknown learner kind {kind!r}; model.kind must be one of {', '.join(learner_names())}"
        )
    return factory()


__all__ = ["Learner", "get_learner", "learner_names"]
