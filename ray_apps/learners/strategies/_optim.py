"""The torch optimizer a job's hyperparameters name (``adam``, ``adamw``, ``sgd``)."""

from __future__ import annotations


def make_optimizer(hp, params):
    import torch

    cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}
    return cls[hp.optimizer](params, lr=hp.lr, weight_decay=hp.weight_decay)
