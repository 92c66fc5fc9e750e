"""SHAP explanations of a model version, in its raw feature space, with feature names.

    from ray_apps.explain import Explainer, run_explain
    explanation = Explainer(load_model("artifacts/cancer")).explain(rows)
    explanation.values            # (rows, features, outputs); + expected_value = model_output
    run_explain({"model": "cancer:3", "dataset": "test.parquet", "rows": 500}).output_dir

``shap_values`` is the one module that imports SHAP (a tree explainer for tree learners, a
permutation explainer over the artifact's baseline sample for the rest: the learner's
``explainer`` hint chooses); ``job`` runs it over a dataset on Ray Data (``run_explain``),
``spec`` is its job spec, ``plot`` the summary PNG. ``python -m ray_apps.explain`` is the
``ray job submit`` entry point.
"""

from ray_apps.explain.job import ExplainResult, run_explain
from ray_apps.explain.shap_values import Explainer, Explanation
from ray_apps.explain.spec import ExplainJobSpec, parse_explain_spec

__all__ = [
    "ExplainJobSpec",
    "ExplainResult",
    "Explainer",
    "Explanation",
    "parse_explain_spec",
    "run_explain",
]
