"""The training-health signals of the torch loop, sampled cheaply.

At every ``every``-th optimizer step of an epoch and at its last, the probe reads the gradients the
backward pass left (their squared norms and absolute sums: no second backward), snapshots the
weights, and after the optimizer step measures the update against them. Per sampled step it
keeps five local sums; the loop all-reduces them with its other sums once per epoch, so every
rank ends with the same numbers:

    grad_norm       mean over sampled steps of ‖g‖₂ (all gradients as one vector)
    grad_abs_mean   mean over sampled steps of Σ|g| / #g
    update_ratio    mean over sampled steps of ‖w_after − w_before‖₂ / ‖w_before‖₂
    nonfinite       non-finite losses of the epoch (every step: the loss is a float anyway)
                    + sampled steps whose gradient norm is not finite

Replicated strategies (DDP) hold the same gradients and weights on every rank, sharded ones
(FSDP, ZeRO) a part each: the sums over ranks are divided by the world size for the first and
taken whole for the second. Ranks take the same number of steps (data-parallel training needs
it), so they sample the same steps. A strategy that keeps its reduced gradients outside the
module's parameters (DeepSpeed ZeRO) hands over the global norm it computed in the step instead
(``Engine.global_grad_norm``): ``grad_norm`` then, and no ``grad_abs_mean`` (nothing to sum it
from) rather than a zero. ZeRO-3's parameters are empty between forward passes: no
``update_ratio`` there.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

# per sampled step: Σg², Σ|g|, #g, Σ(Δw)², Σw², then the strategy's global norm² and a count,
# each divided by the world size (every rank holds the same norm: the sum over ranks is it once)
_SUMS = 7


def _local(t: torch.Tensor) -> torch.Tensor:
    """This rank's part of a (possibly sharded, DTensor) tensor."""
    return t.to_local() if hasattr(t, "to_local") else t


class GradientProbe:
    def __init__(
        self,
        module: torch.nn.Module,
        every: int,
        steps_per_epoch: int,
        global_norm: Callable[[], float | None] | None = None,
        world_size: int = 1,
    ):
        self.params = [p for p in module.parameters() if p.requires_grad]
        self.every, self.steps_per_epoch = every, steps_per_epoch
        self.global_norm, self.world_size = global_norm, world_size
        self.rows: list[list[float]] = []
        self.nonfinite_losses = 0
        self._before: list[torch.Tensor] | None = None
        self._grads: list[float] = []

    def begin_epoch(self) -> None:
        self.rows, self.nonfinite_losses = [], 0

    def due(self, step_in_epoch: int) -> bool:
        """Whether optimizer step ``step_in_epoch`` (0-based) of this epoch is sampled."""
        return (step_in_epoch + 1) % self.every == 0 or step_in_epoch == self.steps_per_epoch - 1

    def loss(self, value: float) -> None:
        if not math.isfinite(value):
            self.nonfinite_losses += 1

    @torch.no_grad()
    def after_backward(self) -> None:
        grads = [_local(p.grad).detach() for p in self.params if p.grad is not None]
        if grads:
            sq = torch.stack([g.float().pow(2).sum() for g in grads]).sum()
            ab = torch.stack([g.float().abs().sum() for g in grads]).sum()
            self._grads = [float(sq), float(ab), float(sum(g.numel() for g in grads))]
        else:
            self._grads = [0.0, 0.0, 0.0]
        self._before = [_local(p).detach().clone() for p in self.params]

    @torch.no_grad()
    def after_step(self) -> None:
        if self._before is None:
            return
        now = [_local(p).detach() for p in self.params]
        pairs = zip(now, self._before, strict=True)
        dsq = sum(float((a.float() - b.float()).pow(2).sum()) for a, b in pairs)
        wsq = sum(float(b.float().pow(2).sum()) for b in self._before)
        norm = self.global_norm() if self.global_norm is not None and not self._grads[2] else None
        share = [0.0, 0.0] if norm is None else [norm * norm, 1.0]
        self.rows.append([*self._grads, dsq, wsq, *(x / self.world_size for x in share)])
        self._before = None

    def sums(self) -> list[float]:
        """What the loop all-reduces: the non-finite losses, then each sampled step's sums."""
        return [float(self.nonfinite_losses), *(x for row in self.rows for x in row)]

    def signals(self, reduced: list[float], world_size: int, sharded: bool) -> dict[str, float]:
        """The epoch's signals from the all-reduced ``sums()``."""
        nonfinite, flat = reduced[0], reduced[1:]
        copies = 1 if sharded else world_size
        norms, abs_means, ratios = [], [], []
        for i in range(0, len(flat), _SUMS):
            sq, ab, n, dsq, wsq, gsq, given = flat[i : i + _SUMS]
            if n > 0:
                norm = math.sqrt(sq / copies) if sq >= 0 else math.nan
                norms.append(norm)
                abs_means.append(ab / n)
                nonfinite += 0 if math.isfinite(norm) else 1
            elif given > 0:  # the strategy's own norm
                norm = math.sqrt(gsq / given) if gsq >= 0 else math.nan
                norms.append(norm)
                nonfinite += 0 if math.isfinite(norm) else 1
            if wsq > 0:
                ratios.append(math.sqrt(dsq / wsq))
        out = {"nonfinite": nonfinite}
        if norms:
            out["grad_norm"] = sum(norms) / len(norms)
        if abs_means:
            out["grad_abs_mean"] = sum(abs_means) / len(abs_means)
        if ratios:
            out["update_ratio"] = sum(ratios) / len(ratios)
        return out
