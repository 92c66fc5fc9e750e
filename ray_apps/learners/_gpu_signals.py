"""GPU utilisation for the ``low_gpu_utilization`` health rule, sampled where the probe samples.

NVML's utilisation of this rank's device (``torch.cuda.utilization``: the share of the last
sample period, 1/6 s to 1 s, in which a kernel ran), read at the probe's steps. The loop
all-reduces the sums with its other health sums, so ``gpu_utilization`` is the mean over every
rank's samples of the epoch, the same on all ranks. A CPU rank, or one whose NVML cannot be
read (the ``nvidia-ml-py`` package is missing, a driver without NVML), contributes nothing: no
signal rather than a wrong one, and the rule never fires on none.
"""

from __future__ import annotations

import torch


class GpuUtilization:
    SUMS = 2  # Σ utilisation %, samples

    def __init__(self, device: torch.device):
        self.device = device if device.type == "cuda" else None
        self.total, self.count = 0.0, 0

    def begin_epoch(self) -> None:
        self.total, self.count = 0.0, 0

    def sample(self) -> None:
        if self.device is None:
            return
        try:
            value = float(torch.cuda.utilization(self.device))
        except Exception:  # noqa: BLE001 (NVML absent or unreadable: stop asking)
            self.device = None
            return
        self.total += value
        self.count += 1

    def sums(self) -> list[float]:
        return [self.total, float(self.count)]

    @staticmethod
    def signals(reduced: list[float]) -> dict[str, float]:
        """``gpu_utilization`` (%) from the all-reduced ``sums()``; nothing without samples."""
        total, count = reduced
        return {"gpu_utilization": total / count} if count > 0 else {}
