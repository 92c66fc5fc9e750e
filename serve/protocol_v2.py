"""Open Inference Protocol V2 (KServe V2 / Triton / MLServer), parsing and answers.

    POST /v2/models/{name}[/versions/{v}]/infer
    {"id": "r1",
     "inputs": [{"name": "input-0", "shape": [2, 4], "datatype": "FP32", "data": [...]}]}

Two input layouts are accepted: one tensor ``[n, n_features]`` (any name, columns in the model's
feature order), or one tensor per feature, named by feature, each ``[n]`` or ``[n, 1]``.
``data`` may be flat (row-major) or nested. Triton's binary tensor extension is accepted on
inputs (the ``Inference-Header-Content-Length`` header), so tritonclient's defaults work.
JSON ``data`` must fit its declared ``datatype`` (300 is not an ``INT8``; 70000 overflows
``FP16``); every field's JSON type is checked (``id`` a string, ``parameters`` an object, ...),
null in an optional field reads as absent. Outputs: ``predict`` (labels or values) and, for
classifiers, ``probabilities`` ``[n, k]``. Pure functions: no Ray.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ray_apps.errors import SpecError
from ray_apps.prediction import Prediction
from serve._json_types import expect, expect_int, holds_bool, json_type
from serve._tensor_range import check_range, exact_ints
from serve.protocol_v1 import load_json
from serve.served_model import ServedModel, check_matrix

_NUMPY = {
    "BOOL": np.bool_,
    "UINT8": np.uint8,
    "UINT16": np.uint16,
    "UINT32": np.uint32,
    "UINT64": np.uint64,
    "INT8": np.int8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "FP16": np.float16,
    "FP32": np.float32,
    "FP64": np.float64,
}
NUMERIC = tuple(t for t in _NUMPY if t != "BOOL")
OUTPUTS = ("predict", "probabilities")


@dataclass(frozen=True)
class InferRequest:
    x: np.ndarray
    id: str | None
    outputs: tuple[str, ...]


def parse_request(
    body: bytes,
    features: list[str],
    header_length: int | None = None,
    outputs: tuple[str, ...] = OUTPUTS,
) -> InferRequest:
    """Validate a V2 infer body into the feature matrix and the outputs asked for (of
    ``outputs``, the ones the route answers: /explain answers others than /infer)."""
    binary = b""
    if header_length is not None:
        if not 0 < header_length <= len(body):
            raise SpecError(
                f"Inference-Header-Content-Length {header_length} does not fit the body of "
                f"{len(body)} bytes"
            )
        body, binary = body[:header_length], body[header_length:]
    doc = load_json(body)
    if not isinstance(doc, dict) or not isinstance(doc.get("inputs"), list):
        got = (
            json_type(doc)
            if not isinstance(doc, dict)
            else f'"inputs" {json_type(doc.get("inputs"))}'
        )
        raise SpecError(
            f'a V2 infer body is a JSON object with an "inputs" list of tensors, got {got}'
        )
    rid = expect(doc.get("id"), str, '"id"', optional=True)
    expect(doc.get("parameters"), dict, '"parameters"', optional=True)
    inputs = doc["inputs"]
    if not inputs:
        raise SpecError('"inputs" is empty; send one [n, features] tensor or one per feature')
    tensors, offset = [], 0
    for i, t in enumerate(inputs):
        arr, offset = _tensor(t, i, body, binary, offset)
        tensors.append((t["name"], arr))
    x = _matrix(tensors, features)
    return InferRequest(x=x, id=rid, outputs=_outputs(doc, outputs))


def _tensor(t: Any, i: int, body: bytes, binary: bytes, offset: int) -> tuple[np.ndarray, int]:
    where = f"inputs[{i}]"
    expect(t, dict, where)
    missing = [k for k in ("name", "shape", "datatype") if k not in t]
    if missing:
        raise SpecError(f"{where} lacks {missing}; a tensor has name, shape, datatype and data")
    name = expect(t["name"], str, f"{where}.name")
    dtype = expect(t["datatype"], str, f"{where}.datatype")
    shape = expect(t["shape"], list, f"{where}.shape")
    params = expect(t.get("parameters"), dict, f"{where}.parameters", optional=True) or {}
    where = f"input {name!r}"
    if dtype not in _NUMPY:
        raise SpecError(
            f"{where}: datatype {dtype!r} is not supported by this tabular model; use one of "
            f"{list(NUMERIC)}"
        )
    if dtype == "BOOL":
        raise SpecError(f"{where}: datatype BOOL is not a feature type; send FP32 or FP64")
    if not all(type(d) is int and d >= 0 for d in shape):
        raise SpecError(f"{where}: shape must be a list of non-negative integers, got {shape!r}")
    if len(shape) > 2:
        raise SpecError(
            f"{where}: shape {shape} has {len(shape)} dimensions; a tabular input is "
            "[n, features], or [n] / [n, 1] per feature"
        )
    size = math.prod(shape)
    if params.get("binary_data_size") is not None:
        arr, offset = _binary(params["binary_data_size"], dtype, binary, offset, where)
    else:
        arr = _json_data(t.get("data"), dtype, body, where)
    if arr.size != size:
        raise SpecError(
            f"{where}: shape {shape} needs {size} values, data has {arr.size}; fix shape or data"
        )
    return arr.reshape(shape), offset


def _binary(n: Any, dtype: str, binary: bytes, offset: int, where: str) -> tuple[np.ndarray, int]:
    n = expect_int(n, f"{where}: parameters.binary_data_size")
    if offset + n > len(binary):
        raise SpecError(f"{where}: binary_data_size {n} runs past the end of the body")
    itemsize = np.dtype(_NUMPY[dtype]).itemsize
    if n % itemsize:
        raise SpecError(
            f"{where}: binary_data_size {n} is not a multiple of {itemsize}, the size of one "
            f"{dtype} value"
        )
    return np.frombuffer(binary[offset : offset + n], dtype=_NUMPY[dtype]), offset + n


def _json_data(data: Any, dtype: str, body: bytes, where: str) -> np.ndarray:
    if data is None:
        raise SpecError(f"{where} has no data; send data or binary_data_size")
    expect(data, list, f"{where}.data")
    try:
        arr = np.asarray(data)
    except ValueError:  # ragged, or nested deeper than numpy's 64 dimensions
        raise SpecError(
            f"{where}: data is ragged or nested too deep; send a flat row-major list"
        ) from None
    if dtype.startswith(("INT", "UINT")) and arr.dtype.kind in "fO" and arr.size:
        arr = exact_ints(data, arr, _NUMPY[dtype], dtype, where)
    _check_datatype(arr, dtype, where)
    if holds_bool(data, body):
        raise SpecError(f"{where}: data holds booleans (true/false) but datatype is {dtype}")
    check_range(arr, _NUMPY[dtype], dtype, where)
    return arr


def _check_datatype(arr: np.ndarray, dtype: str, where: str) -> None:
    if arr.size == 0:
        return
    kind = arr.dtype.kind
    if kind not in "iuf" or (dtype.startswith(("INT", "UINT")) and kind == "f"):
        raise SpecError(
            f"{where}: data holds {_describe(arr)} but datatype is {dtype}; send {dtype} "
            "values or change the datatype"
        )


def _describe(arr: np.ndarray) -> str:
    return {"b": "booleans", "U": "strings", "f": "floats", "O": "mixed values"}.get(
        arr.dtype.kind, str(arr.dtype)
    )


def _matrix(tensors: list[tuple[str, np.ndarray]], features: list[str]) -> np.ndarray:
    by_name = dict(tensors)
    if len(by_name) != len(tensors):
        names = [n for n, _ in tensors]
        raise SpecError(f"inputs: names repeat in {names}; send each tensor once")
    if len(tensors) == 1 and tensors[0][0] not in features:
        return check_matrix(tensors[0][1], features, f"input {tensors[0][0]!r}")
    unknown = sorted(set(by_name) - set(features))
    missing = [f for f in features if f not in by_name]
    if unknown or missing:
        raise SpecError(
            f"inputs: unknown names {unknown}, missing features {missing}; send one tensor "
            f"[n, {len(features)}] or one tensor per feature named {features}"
        )
    cols = []
    for f in features:
        col = by_name[f]
        if col.ndim == 2 and col.shape[1] == 1:
            col = col[:, 0]
        if col.ndim != 1:
            raise SpecError(f"input {f!r}: shape {list(col.shape)}; expected [n] or [n, 1]")
        cols.append(col.astype(np.float64))
    if len({c.shape[0] for c in cols}) != 1:
        raise SpecError("inputs: per-feature tensors have different lengths; send n values each")
    return check_matrix(np.stack(cols, axis=1), features, "inputs")


def _outputs(doc: dict, allowed: tuple[str, ...]) -> tuple[str, ...]:
    asked = expect(doc.get("outputs"), list, '"outputs"', optional=True)
    if asked is None:
        return allowed
    if not asked:
        raise SpecError('"outputs" is empty; leave it out for every output, or name some')
    names = []
    for i, o in enumerate(asked):
        expect(o, dict, f"outputs[{i}]")
        names.append(expect(o.get("name"), str, f"outputs[{i}].name"))
        expect(o.get("parameters"), dict, f"outputs[{i}].parameters", optional=True)
    unknown = sorted(set(names) - set(allowed))
    if unknown:
        raise SpecError(f"outputs {unknown} do not exist; this route answers {list(allowed)}")
    return tuple(names)


def build_response(
    model: ServedModel, pred: Prediction, req: InferRequest, request_id: str
) -> dict[str, Any]:
    outputs = []
    if "predict" in req.outputs:
        outputs.append(output_tensor("predict", pred.predictions))
    if "probabilities" in req.outputs and pred.probabilities is not None:
        outputs.append(output_tensor("probabilities", pred.probabilities))
    return {
        "model_name": model.name,
        "model_version": str(model.version),
        "id": req.id if req.id is not None else request_id,
        "parameters": {"classes": pred.classes} if pred.classes else {},
        "outputs": outputs,
    }


def output_tensor(name: str, arr: np.ndarray) -> dict[str, Any]:
    kind = arr.dtype.kind
    if kind in "iub":
        dtype, data = "INT64", arr.astype(np.int64).ravel().tolist()
    elif kind == "f":
        dtype, data = "FP64", arr.astype(np.float64).ravel().tolist()
    else:
        dtype, data = "BYTES", [str(v) for v in arr.ravel().tolist()]
    return {"name": name, "shape": list(arr.shape), "datatype": dtype, "data": data}


def model_metadata(model: ServedModel) -> dict[str, Any]:
    """``GET /v2/models/{name}[/versions/{v}]``."""
    n = len(model.features)
    outputs = [{"name": "predict", "datatype": "FP64", "shape": [-1]}]
    if model.is_classifier:
        outputs[0]["datatype"] = output_tensor("x", np.asarray(model.classes))["datatype"]
        outputs.append(
            {"name": "probabilities", "datatype": "FP64", "shape": [-1, len(model.classes)]}
        )
    return {
        "name": model.name,
        "versions": [str(model.version)],
        "platform": f"raymaker-{model.model.info.kind}",
        "inputs": [{"name": "input-0", "datatype": "FP64", "shape": [-1, n]}],
        "outputs": outputs,
        "parameters": {"features": model.features, "classes": model.classes},
    }


def server_metadata(version: str) -> dict[str, Any]:
    """``GET /v2``."""
    return {"name": "raymaker", "version": version, "extensions": ["binary_tensor_data"]}
