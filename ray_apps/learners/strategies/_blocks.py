"""Activation checkpointing of a model's blocks: recompute each block's forward in backward.

A model opts in by holding its repeated layers in ``self.blocks`` (an ``nn.ModuleList``), as
``ray_apps.training.models.WideMLP`` does. Activation memory then grows with one block, not all.
"""

from __future__ import annotations


def checkpoint_blocks(model) -> None:
    """Wrap each of ``model.blocks`` so its activations are recomputed in backward."""
    from torch.utils.checkpoint import checkpoint

    blocks = getattr(model, "blocks", None)
    if blocks is None:
        raise ValueError(
            f"scaling.strategy.activation_checkpointing needs a model with `blocks` (a "
            f"ModuleList of its repeated layers); {type(model).__name__} has none. Use "
            "ray_apps.training.models:WideMLP or set activation_checkpointing: false"
        )
    for block in blocks:
        forward = block.forward
        block.forward = lambda *args, _f=forward: checkpoint(_f, *args, use_reentrant=False)
