"""The JSON schemas of the endpoint's bodies and answers: ``components.schemas`` of its document.

Open Inference Protocol V2 schemas keep the protocol's names (``inference_request``,
``inference_response``, ``metadata_model_response``, …) and properties, so the upstream
document (``upstream/open_inference_rest.yaml``) and ours can be compared name by name; ours
narrow them to what this server reads and answers (a ``datatype`` from the supported list,
``null`` read as absent where the server reads it so). Bodies validated by a pydantic model
take its JSON schema (``pydantic_schemas``): one definition, the one the route checks with.
Pure data and functions; pydantic models are imported by the caller, when the document is built.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

NUMERIC = ["UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64"]
NUMERIC += ["FP16", "FP32", "FP64"]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required: list[str], more: bool = True, **properties: Schema) -> Schema:
    """An object schema; ``more=False`` closes it (the server refuses unknown fields)."""
    out: Schema = {"type": "object", "properties": properties, "required": required}
    if not more:
        out["additionalProperties"] = False
    return out


def array(items: Schema, **kw: Any) -> Schema:
    return {"type": "array", "items": items, **kw}


def optional(schema: Schema) -> Schema:
    """A field that may be JSON null (a body's null the server reads as absent)."""
    return {**schema, "type": [schema["type"], "null"]}


STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
NUM: Schema = {"type": "number"}
BOOL: Schema = {"type": "boolean"}
ANY_OBJ: Schema = {"type": "object"}
# A predicted value or class: a number for regressors and numeric labels, a string for labels.
LABEL: Schema = {"type": ["number", "string"]}
_ROW = {"oneOf": [array(NUM), {"type": "object", "additionalProperties": NUM}]}

OPEN_INFERENCE: dict[str, Schema] = {
    "metadata_server_response": obj(
        ["name", "version", "extensions"], name=STR, version=STR, extensions=array(STR)
    ),
    "metadata_tensor": obj(["name", "datatype", "shape"], name=STR, datatype=STR, shape=array(INT)),
    "metadata_model_response": obj(
        ["name", "versions", "platform", "inputs", "outputs"],
        name=STR,
        versions=array(STR),
        platform=STR,
        inputs=array(ref("metadata_tensor")),
        outputs=array(ref("metadata_tensor")),
        parameters={
            "type": "object",
            "description": "features (the input columns in order), classes, registry_status",
        },
    ),
    "parameters": {"type": "object", "description": "free-form parameters of the protocol"},
    "tensor_data": array(
        {"anyOf": [ref("tensor_data"), NUM, STR, BOOL]},
        description="row-major values, flat or nested; must fit the tensor's datatype",
    ),
    "request_input": obj(
        ["name", "shape", "datatype", "data"],
        name=STR,
        shape=array({"type": "integer", "minimum": 0}, maxItems=2),
        datatype={"type": "string", "enum": NUMERIC},
        parameters=optional({"type": "object"}),
        data=ref("tensor_data"),
    ),
    "request_output": obj(["name"], name=STR, parameters=optional({"type": "object"})),
    "inference_request": obj(
        ["inputs"],
        id=optional(STR),
        parameters=optional({"type": "object"}),
        inputs=array(ref("request_input"), minItems=1),
        outputs=optional(array(ref("request_output"), minItems=1)),
    ),
    "response_output": obj(
        ["name", "shape", "datatype", "data"],
        name=STR,
        shape=array(INT),
        datatype={"type": "string", "enum": ["INT64", "FP64", "BYTES"]},
        parameters=ref("parameters"),
        data=ref("tensor_data"),
    ),
    "inference_response": obj(
        ["model_name", "model_version", "id", "outputs"],
        model_name=STR,
        model_version=STR,
        id=STR,
        parameters=ref("parameters"),
        outputs=array(ref("response_output")),
    ),
    # the protocol's error answers are raymaker's {"error": "..."}
    "inference_error_response": ref("Error"),
    "metadata_server_error_response": ref("Error"),
    "metadata_model_error_response": ref("Error"),
}
# ``inference_request`` as the examples phase and a reader see it: iris, one row, four features.
_ROW_OF_IRIS = [5.1, 3.5, 1.4, 0.2]
V2_EXAMPLE = {
    "id": "r1",
    "inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP32", "data": _ROW_OF_IRIS}],
}
V1_EXAMPLE = {"instances": [_ROW_OF_IRIS]}

KSERVE_V1: dict[str, Schema] = {
    "V1PredictRequest": {
        "type": "object",
        "description": 'rows as lists in feature order or objects keyed by feature; "inputs" '
        'is a synonym of "instances"',
        "properties": {
            "instances": array(_ROW, minItems=1),
            "inputs": array(_ROW, minItems=1),
        },
        "anyOf": [{"required": ["instances"]}, {"required": ["inputs"]}],
    },
    "V1PredictResponse": obj(
        ["predictions", "model_name", "model_version"],
        predictions=array(LABEL),
        probabilities=array(array(NUM)),
        classes=array(LABEL),
        model_name=STR,
        model_version=STR,
    ),
    "V1ExplainResponse": obj(
        ["predictions", "explanations", "expected_value", "margins", "feature_names"],
        predictions=array(LABEL),
        explanations=array(ANY_OBJ, description="per row: feature → SHAP value (per output)"),
        expected_value={"type": ["number", "object"]},
        margins=array({"type": ["number", "array"]}),
        output={"type": ["string", "array"]},
        margin_kind=STR,
        method=STR,
        feature_names=array(STR),
        model_name=STR,
        model_version=STR,
    ),
    "V1ModelStatus": obj(
        ["name", "version", "ready", "registry_status"],
        name=STR,
        version=STR,
        ready=BOOL,
        registry_status=STR,
    ),
    "V1ModelList": obj(["models"], models=array(STR)),
}

ENDPOINT: dict[str, Schema] = {
    "Error": obj(["error"], error={"type": "string", "description": "what was wrong, the fix"}),
    "Live": obj(["live"], live=BOOL),
    "Ready": obj(["ready"], ready=BOOL),
    "ModelReady": obj(["name", "version", "ready"], name=STR, version=STR, ready=BOOL),
    "OpenAPIDocument": obj(["openapi", "info", "paths"], openapi=STR, info=ANY_OBJ, paths=ANY_OBJ),
    "LabelsAccepted": obj(
        ["model_name", "accepted", "unmatched", "file"],
        model_name=STR,
        accepted=INT,
        unmatched=INT,
        file=STR,
    ),
    "AsyncAccepted": obj(
        ["id", "status", "status_url"], id=STR, status=STR, status_url=STR, more=False
    ),
    "AsyncStatus": obj(
        ["id", "status", "model", "version", "submitted_at", "updated_at", "attempts"],
        id=STR,
        status={"type": "string", "enum": ["queued", "running", "succeeded", "failed", "expired"]},
        model=STR,
        version=STR,
        submitted_at=STR,
        updated_at=STR,
        attempts=INT,
        error=STR,
        result_url=STR,
        callback=ANY_OBJ,
    ),
    "AsyncResult": {
        "description": "the real-time route's answer, as it was given",
        "anyOf": [ref("V1PredictResponse"), ref("inference_response")],
    },
    "ModelGroup": obj(
        ["name", "versions", "latest", "latest_approved"],
        name=STR,
        versions=INT,
        latest=optional(INT),
        latest_approved=optional(INT),
    ),
    "ModelGroups": obj(["models"], models=array(ref("ModelGroup"))),
    "ModelVersion": obj(
        ["name", "version", "status", "artifact_uri", "manifest_sha256"],
        name=STR,
        version=INT,
        status={"type": "string", "enum": ["Pending", "Approved", "Rejected"]},
        artifact_uri=STR,
        manifest_sha256=STR,
        run_id=STR,
        created_at=INT,
        metrics=ANY_OBJ,
        params=ANY_OBJ,
        lineage=ANY_OBJ,
        history=array(ANY_OBJ),
        served_by=array(STR),
    ),
    "ModelVersions": obj(["name", "versions"], name=STR, versions=array(ref("ModelVersion"))),
    "BatchAccepted": obj(
        ["job_id", "status_url", "status", "model"],
        job_id=STR,
        status_url=STR,
        status=STR,
        model=STR,
        input=STR,
        run_dir=STR,
        output_path=STR,
    ),
    "BatchStatus": obj(
        ["job_id", "status", "model", "progress"],
        job_id=STR,
        status={"type": "string", "enum": ["queued", "running", "succeeded", "failed"]},
        model=STR,
        input=STR,
        run_dir=STR,
        output_path=STR,
        rejects_path=STR,
        submitted_at=STR,
        progress=ANY_OBJ,
        summary=optional(ANY_OBJ),
        reason=optional(STR),
    ),
    "BatchJobs": obj(["jobs"], jobs=array(ref("BatchStatus"))),
    "TrafficChange": {
        **obj(
            [],
            more=False,
            weights={"type": "object", "additionalProperties": {"type": "number", "minimum": 0}},
            shadow={
                "type": ["object", "null"],
                "properties": {"variant": STR, "percent": {"type": "number", "minimum": 0}},
                "required": ["variant"],
                "additionalProperties": False,
            },
        ),
        "minProperties": 1,
    },
    "TrafficTable": obj(
        ["endpoint", "variants", "weights", "shares"],
        endpoint=STR,
        deploy_id=STR,
        variants=array(ANY_OBJ),
        weights={"type": "object", "additionalProperties": NUM},
        shadow=optional(STR),
        shadow_percent=NUM,
        generation=INT,
        shares={"type": "object", "additionalProperties": NUM},
    ),
    "PipelineRunRequest": obj(
        [],
        more=False,
        parameters=optional(
            {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}}
        ),
        key=optional({"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"}),
        reason=optional({"type": "string", "maxLength": 500}),
    ),
    "PipelineRun": obj(
        ["status", "status_hint"],
        status={"type": "string", "enum": ["started", "already_running"]},
        key=STR,
        run_id=optional(STR),
        status_hint=STR,
    ),
    "ModelCache": obj(
        ["replica", "model_set", "servable", "loaded_models", "models"],
        replica=STR,
        model_set=STR,
        servable=INT,
        max_model_bytes=optional(INT),
        max_models=optional(INT),
        loaded_models=INT,
        loaded_bytes=INT,
        loading=INT,
        totals=ANY_OBJ,
        models=array(ANY_OBJ),
    ),
}


def pydantic_schemas(*models: Any) -> dict[str, Schema]:
    """The JSON schemas of pydantic models (and the models they nest), as components."""
    out: dict[str, Schema] = {}
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        out.update(schema.pop("$defs", {}))
        out[model.__name__] = schema
    return out


def all_schemas(*models: Any) -> dict[str, Schema]:
    return {**OPEN_INFERENCE, **KSERVE_V1, **ENDPOINT, **pydantic_schemas(*models)}
