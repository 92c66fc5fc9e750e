"""Model classes for tabular data, and loading a model class by import path.

Any ``torch.nn.Module`` whose constructor takes ``(n_features, n_outputs, **params)`` can be
named in a job spec as ``model.class_path: package.module:Class``.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import torch
from torch import nn

from ray_apps.errors import SpecError


class TabularMLP(nn.Module):
    """A plain multi-layer perceptron: Linear → ReLU (→ Dropout) per hidden layer."""

    def __init__(
        self,
        n_features: int,
        n_outputs: int,
        hidden_sizes: Sequence[int] = (64, 32),
        dropout: float = 0.0,
    ):
        super().__init__()
        layers: list[nn.Module] = []
        width = n_features
        for size in hidden_sizes:
            layers += [nn.Linear(width, size), nn.ReLU()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = size
        layers.append(nn.Linear(width, n_outputs))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def resolve_class(class_path: str) -> type[nn.Module]:
    """Import ``package.module:Class``; errors name the path and what went wrong."""
    module_name, _, attr = class_path.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as err:
        raise SpecError(
            f"model.class_path {class_path!r} cannot be imported ({err}); give an importable "
            "'package.module:Class'"
        ) from None
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise SpecError(f"model.class_path {class_path!r} is not a torch.nn.Module subclass")
    return cls


def build_model(class_path: str, n_features: int, n_outputs: int, params: dict) -> nn.Module:
    cls = resolve_class(class_path)
    try:
        return cls(n_features, n_outputs, **params)
    except TypeError as err:
        raise SpecError(f"model.params {params} do not fit {class_path}: {err}") from None
