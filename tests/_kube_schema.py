"""Validate a custom resource against its CRD's OpenAPI schema, as the API server would.

``jsonschema`` checks the CRD's ``openAPIV3Schema`` after three translations of Kubernetes'
dialect into plain JSON Schema:

- **Unknown fields are errors.** A CRD schema lists ``properties`` but rarely says
  ``additionalProperties: false``; Kubernetes treats such a (structural) schema as closed anyway:
  it prunes unknown fields on write, and ``kubectl apply`` (``--validate=strict``, the default
  since 1.27) makes the server refuse them instead. A misspelled ``rayStartParam`` would
  otherwise apply cleanly and do nothing. So every object schema with ``properties`` is closed,
  except where the CRD says ``x-kubernetes-preserve-unknown-fields: true`` (Kubernetes keeps
  unknown fields there too).
- ``x-kubernetes-int-or-string: true`` means an integer or a string (``cpu: 4`` or ``"4"``).
- ``nullable: true`` (OpenAPI 3.0) means null is allowed as well; elsewhere Kubernetes drops a
  null field before validating, and so does ``errors``.
- A required field with a ``default`` may be left out: the server fills it in first.

``metadata`` is Kubernetes' ObjectMeta, which the CRD does not describe: only its ``name`` is
checked here. Other ``x-kubernetes-*`` keys (list types, embedded resources, validations in
CEL) are not checked.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

SCHEMAS = Path(__file__).resolve().parents[1] / "cluster" / "schemas" / "kuberay-v1.7.0"
CRD_FILES = {
    "RayCluster": "ray.io_rayclusters.yaml",
    "RayJob": "ray.io_rayjobs.yaml",
    "RayService": "ray.io_rayservices.yaml",
}
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the CRDs are ~1 MB each


def load_yaml(path: str | Path) -> Any:
    return yaml.load(Path(path).read_text(), Loader=_LOADER)


@functools.cache
def crd_schema(kind: str, version: str) -> tuple[dict[str, Any], str]:
    """The strict JSON Schema for ``kind`` at ``version`` and the CRD's ``group``."""
    crd = load_yaml(SCHEMAS / CRD_FILES[kind])
    served = {v["name"]: v for v in crd["spec"]["versions"] if v.get("served")}
    if version not in served:
        raise KeyError(f"{kind} {version} is not served by this CRD; served: {sorted(served)}")
    schema = served[version]["schema"]["openAPIV3Schema"]
    return _strict(schema, root=True), crd["spec"]["group"]


def _strict(node: Any, *, root: bool = False) -> Any:
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict(v) for k, v in node.items()}
    if root:  # ObjectMeta: Kubernetes validates it, the CRD leaves it open
        out["properties"]["metadata"] = {
            "type": "object",
            "anyOf": [{"required": ["name"]}, {"required": ["generateName"]}],
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "generateName": {"type": "string", "minLength": 1},
            },
        }
    if out.get("x-kubernetes-int-or-string") and "anyOf" not in out:
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if out.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    defaulted = {k for k, v in out.get("properties", {}).items() if "default" in v}
    if "required" in out and defaulted:
        out["required"] = [k for k in out["required"] if k not in defaulted]
    preserve = out.get("x-kubernetes-preserve-unknown-fields") is True
    if "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    return out


def errors(manifest: dict[str, Any]) -> list[str]:
    """Every schema violation as ``<path>: <message>``; [] when the manifest is valid."""
    import jsonschema

    kind = manifest.get("kind")
    if kind not in CRD_FILES:
        return [f"kind: {kind!r} is not one of {sorted(CRD_FILES)}"]
    group, _, version = str(manifest.get("apiVersion", "")).partition("/")
    try:
        schema, crd_group = crd_schema(kind, version)
    except KeyError as e:
        return [f"apiVersion: {e.args[0]}"]
    if group != crd_group:
        return [f"apiVersion: group {group!r} is not the CRD's {crd_group!r}"]
    validator = jsonschema.Draft7Validator(schema)
    found = sorted(
        validator.iter_errors(_drop_nulls(manifest)), key=lambda e: list(e.absolute_path)
    )
    return [f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in found]


def _drop_nulls(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _drop_nulls(v) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [_drop_nulls(item) for item in node]
    return node
