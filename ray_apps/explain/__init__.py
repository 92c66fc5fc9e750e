"""SHAP explanations of a model version, in its raw feature space, with feature names.

    from ray_apps.explain import Explainer
    from ray_apps.artifact import load_model
    explanation = Explainer(load_model("artifacts/cancer")).explain(rows)
    explanation.values            # (rows, features, outputs); + expected_value = model_output

``shap_values`` is the one module that imports SHAP (tree explainer for tree learners, a
permutation explainer over the artifact's baseline sample for the rest: the learner's
``explainer`` hint chooses).
"""

from ray_apps.explain.shap_values import Explainer, Explanation

__all__ = ["Explainer", "Explanation"]
