"""Pins the public surface of ``serve`` and ``ray_apps.registry``."""

import serve
from ray_apps import registry


def test_serve_public_names():
    assert sorted(serve.__all__) == [
        "CaptureWriter",
        "EndpointInfo",
        "EndpointSpec",
        "RolloutSpec",
        "abort_rollout",
        "deploy",
        "load_endpoint_spec",
        "rollout_status",
        "run_rollout",
        "serve_config",
        "serve_foreground",
        "set_shadow",
        "set_weights",
        "start_rollout",
        "traffic_table",
        "undeploy",
        "write_serve_config",
    ]


def test_registry_public_names():
    assert sorted(registry.__all__) == [
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
        "mark_unserved",
        "model_summary",
        "parse_ref",
        "record_endpoint",
        "register",
        "reject",
        "release_fetched",
        "resolve_for_deploy",
        "served_endpoints",
        "served_versions",
        "transition",
    ]
    for mod in (serve, registry):
        for name in mod.__all__:
            assert getattr(mod, name) is not None
