"""What one rank actually holds: parameter, gradient and optimizer-state bytes, and peak memory.

Counted from the live tensors themselves (every tensor the garbage collector tracks, one count
per storage), right after a backward pass, when gradients and optimizer state both exist:
parameters are the storages behind the engine's parameters (a ZeRO-3 or FSDP shard), gradients
those behind its gradients (ZeRO's own buffers included), and optimizer state everything else
that appeared since the model was built (moments, ZeRO's fp32 master copy, its buckets). A count
by formula would only repeat the formula; this shows what the strategy really keeps.
"""

from __future__ import annotations

import gc
import resource
import sys
import warnings


def live_storages() -> dict[int, int]:
    """``{storage address: bytes}`` of every live tensor in this process."""
    import torch

    out: dict[int, int] = {}
    with warnings.catch_warnings():  # isinstance() on some module objects warns of deprecation
        warnings.simplefilter("ignore")
        for obj in gc.get_objects():
            if isinstance(obj, torch.Tensor):
                _add(out, obj)
    return out


def _add(out: dict[int, int], tensor) -> None:
    try:
        storage = tensor.untyped_storage()
        address = storage.data_ptr()
    except (RuntimeError, NotImplementedError):  # a DTensor wrapper or a freed storage
        return
    if address:
        out[address] = storage.nbytes()


def _bytes(tensors: list, among: dict[int, int]) -> tuple[int, set[int]]:
    found: dict[int, int] = {}
    for t in tensors:
        _add(found, t)
    keys = set(found) & set(among)
    return sum(among[k] for k in keys), keys


def model_state_bytes(engine, before: dict[int, int]) -> dict[str, float]:
    """Parameter, gradient and optimizer-state bytes this rank holds beyond ``before``."""
    live = live_storages()
    # Tensors made in C++ (DDP's gradient buckets behind ``p.grad``) have no Python object
    # until asked for, so the garbage collector misses them: add the engine's own.
    for t in [*engine.parameters(), *engine.gradients()]:
        _add(live, t)
    now = {k: v for k, v in live.items() if k not in before}
    params, p_keys = _bytes(engine.parameters(), now)
    grads, g_keys = _bytes(engine.gradients(), {k: v for k, v in now.items() if k not in p_keys})
    rest = sum(v for k, v in now.items() if k not in p_keys | g_keys)
    return {
        "param_bytes": float(params),
        "grad_bytes": float(grads),
        "optimizer_bytes": float(rest),
        "model_state_bytes": float(params + grads + rest),
    }


def peak_memory(device) -> dict[str, float]:
    """Peak resident memory of this process (and peak CUDA memory on a GPU), in bytes."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = {"peak_rss_bytes": float(rss if sys.platform == "darwin" else rss * 1024)}
    if device.type == "cuda":
        import torch

        out["peak_cuda_bytes"] = float(torch.cuda.max_memory_allocated(device))
    return out
