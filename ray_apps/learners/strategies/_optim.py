"""The torch optimizer a job's hyperparameters name (``adam``, ``adamw``, ``sgd``)."""

from __future__ import annotations


def make_optimizer(hp, params):
    import torch

    cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}
    return cls[hp.optimizer](params, lr=hp.lr, weight_decay=hp.weight_decay)


def load_optimizer_state(optimizer, state: dict) -> None:
    """Load a checkpoint's optimizer state (moments, step counts), keeping the job's own
    hyperparameters (lr, weight decay): a run resumed after fixing ``hyperparameters.lr``
    trains on the fixed rate, not on the one saved with the state."""
    configured = [{k: v for k, v in g.items() if k != "params"} for g in optimizer.param_groups]
    optimizer.load_state_dict(state)
    for group, own in zip(optimizer.param_groups, configured, strict=True):
        group.update(own)
