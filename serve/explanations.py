"""Online explanations: SHAP values of a few rows, answered by the replica serving the model.

    POST /v1/models/{name}:explain                 {"instances": [...]}, as for :predict
    → {"predictions": [1, …],                      KServe V1's explain answer, and:
       "explanations": [{"mean radius": 0.12, …}, …],   per row: feature → SHAP value
       "expected_value": -0.41, "margins": [1.93, …],
       "output": "log-odds(1)", "margin_kind": "log-odds", "method": "tree",
       "feature_names": […], "model_name": "cancer", "model_version": "3"}
    POST /v2/models/{name}[/versions/{v}]/explain  a V2 infer body, as for /infer
    → outputs "shap_values" [n, features, outputs], "expected_value" [outputs],
      "margin" [n, outputs], "predict" [n]; parameters feature_names, outputs, margin_kind,
      method, classes

A row's values add up to its margin: ``expected_value + sum(values) == margin`` — the model's
output before its link (``margin_kind``: ``log-odds`` of the second class for two classes, so
V1 keeps one map per row; per-class ``scores`` before softmax for more, where V1 gives one map
per output: ``{"score(setosa)": {feature: value}, …}``, and ``expected_value`` a map too;
``value`` for a regressor). The SHAP work is ``ray_apps.explain.Explainer``'s (the learner
picks tree or permutation SHAP); this module only builds one per served version, lazily (the
first explain call pays SHAP's import and, for the MLP, the background sample), and runs it
off the event loop, one call at a time per version: SHAP is CPU-bound and a replica holds a
fraction of a core. Requests above ``max_explain_rows`` rows are refused (413) before any
SHAP work.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pandas as pd

from ray_apps.errors import PayloadTooLargeError
from ray_apps.explain import Explainer, Explanation
from ray_apps.prediction import Prediction
from serve.protocol_v2 import output_tensor
from serve.served_model import ServedModel

V2_OUTPUTS = ("shap_values", "expected_value", "margin", "predict")


class Explanations:
    """The replica's explainers, one per served version, built on first use."""

    def __init__(self, max_rows: int):
        self.max_rows = max_rows
        self._explainers: dict[tuple[str, int], Explainer] = {}
        self._locks: dict[tuple[str, int], asyncio.Lock] = {}

    def check_rows(self, n: int) -> None:
        if n > self.max_rows:
            raise PayloadTooLargeError(
                f"{n} rows sent to explain; this endpoint explains at most {self.max_rows} rows "
                "per request (max_explain_rows): SHAP is costly, send fewer rows per request, "
                "or run 'raymaker explain' on a dataset"
            )

    async def explain(self, model: ServedModel, x: np.ndarray) -> Explanation:
        """SHAP values of the rows of ``x`` (checked feature matrix) for ``model``."""
        self.check_rows(len(x))
        key = (model.name, model.version)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            explainer = self._explainers.get(key)
            if explainer is None:
                explainer = await asyncio.to_thread(Explainer, model.model)
                # A rollout replaces the version: drop explainers of versions no longer asked.
                self._explainers = {k: v for k, v in self._explainers.items() if k[0] != key[0]}
                self._explainers[key] = explainer
            rows = pd.DataFrame(x, columns=model.features)
            return await asyncio.to_thread(explainer.explain, rows)


def v1_response(model: ServedModel, pred: Prediction, e: Explanation) -> dict[str, Any]:
    one = len(e.outputs) == 1
    rows = []
    for r in range(e.values.shape[0]):
        per_output = {
            out: dict(zip(e.feature_names, e.values[r, :, o].tolist(), strict=True))
            for o, out in enumerate(e.outputs)
        }
        rows.append(per_output[e.outputs[0]] if one else per_output)
    expected = e.expected_value.tolist()
    return {
        "predictions": pred.predictions.tolist(),
        "explanations": rows,
        "expected_value": expected[0] if one else dict(zip(e.outputs, expected, strict=True)),
        "margins": e.model_output[:, 0].tolist() if one else e.model_output.tolist(),
        "output": e.outputs[0] if one else e.outputs,
        "margin_kind": e.margin_kind,
        "method": e.method,
        "feature_names": e.feature_names,
        "model_name": model.name,
        "model_version": str(model.version),
    }


def v2_response(
    model: ServedModel,
    pred: Prediction,
    e: Explanation,
    outputs: tuple[str, ...],
    request_id: str,
) -> dict[str, Any]:
    tensors = {
        "shap_values": e.values,
        "expected_value": e.expected_value,
        "margin": e.model_output,
        "predict": pred.predictions,
    }
    return {
        "model_name": model.name,
        "model_version": str(model.version),
        "id": request_id,
        "parameters": {
            "feature_names": e.feature_names,
            "outputs": e.outputs,
            "margin_kind": e.margin_kind,
            "method": e.method,
            **({"classes": pred.classes} if pred.classes else {}),
        },
        "outputs": [output_tensor(n, tensors[n]) for n in V2_OUTPUTS if n in outputs],
    }
