"""The model registry with approval, on MLflow's model registry (see ``registry.py``)."""

from ray_apps.registry._copies import release_fetched
from ray_apps.registry.approval import Decision, deployable, transition
from ray_apps.registry.endpoints import (
    mark_served,
    mark_unserved,
    record_endpoint,
    served_endpoints,
    served_versions,
)
from ray_apps.registry.registry import (
    ModelVersion,
    all_versions,
    approve,
    fetch_artifact,
    get_version,
    list_models,
    list_versions,
    load_version,
    model_summary,
    parse_ref,
    register,
    reject,
    resolve_for_deploy,
)

__all__ = [
    "Decision",
    "ModelVersion",
    "all_versions",
    "approve",
    "deployable",
    "fetch_artifact",
    "get_version",
    "list_models",
    "list_versions",
    "load_version",
    "mark_served",
    "model_summary",
    "mark_unserved",
    "parse_ref",
    "register",
    "record_endpoint",
    "reject",
    "release_fetched",
    "resolve_for_deploy",
    "served_endpoints",
    "served_versions",
    "transition",
]
