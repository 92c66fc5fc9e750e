"""DeepSpeed's own estimate of a model's per-rank model-state bytes under each ZeRO stage.

DeepSpeed's ``estimate_zero{2,3}_model_states_mem_needs_all_live`` only print a table, so this
calls the helpers they use: ``model`` sharded over ``ranks`` GPUs on one node, no CPU offload.
They assume half-precision weights (ZeRO-1/2: 2Ψ + 18Ψ/N; ZeRO-3: 18Ψ/N plus the largest
layer gathered), which is what ``bench/zero_memory.py`` and ``examples/gpu_check.py`` print
beside the bytes each rank measured.
"""

from __future__ import annotations

from typing import Any


def zero_estimates(model: Any, ranks: int) -> dict[str, int]:
    """``{"zero1", "zero2", "zero3"}`` → DeepSpeed's per-rank model-state bytes for ``model``."""
    from deepspeed.runtime.zero.stage3 import (
        estimate_zero3_model_states_mem_needs,
        model_to_params,
    )
    from deepspeed.runtime.zero.stage_1_and_2 import estimate_zero2_model_states_mem_needs

    psi, largest_layer = model_to_params(model)
    _, zero12 = estimate_zero2_model_states_mem_needs(
        psi, num_gpus_per_node=ranks, num_nodes=1, cpu_offload=False
    )
    _, zero3, _ = estimate_zero3_model_states_mem_needs(
        psi,
        largest_layer,
        num_gpus_per_node=ranks,
        num_nodes=1,
        cpu_offload=False,
        cpu_offload_params=False,
    )
    return {"zero1": zero12, "zero2": zero12, "zero3": zero3}
