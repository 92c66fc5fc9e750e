"""KServe V1 (the TensorFlow-Serving style data plane), parsing and answers.

    POST /v1/models/{name}:predict   {"instances": [[5.1, 3.5, 1.4, 0.2], …]}
                                     {"instances": [{"sepal length (cm)": 5.1, …}, …]}
    → {"predictions": [0, …], "probabilities": [[0.9, …], …], "classes": [0, 1, 2],
       "model_name": "iris", "model_version": "3"}

``inputs`` is accepted as a synonym of ``instances``, as KServe does. Pure functions: no Ray.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np

from ray_apps.errors import SpecError
from ray_apps.prediction import Prediction
from serve._json_types import expect, holds_bool, json_type
from serve.served_model import ServedModel, check_matrix

if TYPE_CHECKING:
    from serve.model_table import VersionStatus


def parse_request(body: bytes, features: list[str]) -> np.ndarray:
    """The feature matrix of a V1 predict body, or a SpecError saying what was expected."""
    doc = load_json(body)
    if not isinstance(doc, dict) or not ({"instances", "inputs"} & doc.keys()):
        raise SpecError(
            'a V1 predict body is a JSON object {"instances": [...]} with one row per instance, '
            f"got {json_type(doc)}"
            + (f" with keys {sorted(doc)[:10]}" if isinstance(doc, dict) else "")
        )
    key = "instances" if "instances" in doc else "inputs"
    rows = expect(doc[key], list, f'"{key}"')
    if not rows:
        raise SpecError(f'"{key}" is empty; send at least one row')
    if isinstance(rows[0], dict):
        x = _rows_from_objects(rows, features)
    else:
        for i, row in enumerate(rows):
            if isinstance(row, dict):
                raise SpecError(
                    f'"{key}"[{i}] is an object, [0] a list; do not mix objects and lists'
                )
            if not isinstance(row, list):
                raise SpecError(
                    f'"{key}"[{i}] must be a list of {len(features)} numbers or an object '
                    f"keyed by feature name, got {json_type(row)}"
                )
        x = _asarray(rows, features)
    if x.dtype.kind in "iuf" and holds_bool(rows, body):
        raise SpecError(f'"{key}" hold booleans (true/false); send numbers for {features}')
    return check_matrix(x, features, f'"{key}"')


def _asarray(rows: list[Any], features: list[str]) -> np.ndarray:
    try:
        return np.asarray(rows)
    except ValueError:  # ragged, or nested deeper than numpy's 64 dimensions
        raise SpecError(
            f'"instances" rows have different lengths or nest lists in lists; each row needs '
            f"{len(features)} numbers in the order {features}"
        ) from None


def _rows_from_objects(rows: list[Any], features: list[str]) -> np.ndarray:
    expected = set(features)
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise SpecError(f'"instances"[{i}] is not an object; do not mix objects and lists')
        if row.keys() != expected:
            unknown = sorted(row.keys() - expected)
            missing = sorted(expected - row.keys())
            raise SpecError(
                f'"instances"[{i}]: unknown features {unknown}, missing features {missing}; '
                f"expected exactly {features}"
            )
    return _asarray([[row[f] for f in features] for row in rows], features)


def build_response(model: ServedModel, pred: Prediction) -> dict[str, Any]:
    out: dict[str, Any] = {
        "predictions": pred.predictions.tolist(),
        "model_name": model.name,
        "model_version": str(model.version),
    }
    if pred.probabilities is not None:
        out["probabilities"] = pred.probabilities.tolist()
        out["classes"] = pred.classes
    return out


def model_status(model: ServedModel | VersionStatus) -> dict[str, Any]:
    """``GET /v1/models/{name}``."""
    return {"name": model.name, "version": str(model.version), "ready": True}


def load_json(body: bytes) -> Any:
    """Parse a JSON body; malformed JSON is a 400 naming where it broke."""
    if not body:
        raise SpecError("the request body is empty; send a JSON object")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as err:
        raise SpecError(f"the request body is not valid JSON: {err}") from None
    except RecursionError:  # arrays nested thousands deep: no tensor has that many dimensions
        raise SpecError(
            "the request body nests JSON arrays or objects too deeply to parse; send rows of "
            "numbers (a tensor is nested at most as deep as its number of dimensions)"
        ) from None
