"""Bias metrics of a model version for a named sensitive column: SageMaker Clarify's set.

    from ray_apps.bias import run_bias
    result = run_bias("bias.yaml")          # or a dict / BiasJobSpec
    result.report.group("F").metrics        # {"CI": …, "DPL": …, "DI": …, "DPPL": …, …}
    result.report_dir                       # bias.json, bias.html

``metrics`` (the pure formulas, each group against the rest), ``groups`` (values or bins of
the sensitive column), ``spec``, ``report`` (the result, its JSON and HTML) and ``job``
(``run_bias``). ``python -m ray_apps.bias`` is the ``ray job submit`` entry point.
"""

from ray_apps.bias.job import BiasResult, run_bias
from ray_apps.bias.metrics import METRICS, FacetBias, SideCounts, facet_bias
from ray_apps.bias.report import BiasReport
from ray_apps.bias.spec import BiasJobSpec, parse_bias_spec

__all__ = [
    "METRICS",
    "BiasJobSpec",
    "BiasReport",
    "BiasResult",
    "FacetBias",
    "SideCounts",
    "facet_bias",
    "parse_bias_spec",
    "run_bias",
]
