"""raymaker endpoints: registered models on Ray Serve over KServe V1 and Open Inference V2.

    from serve import EndpointSpec, deploy, undeploy, write_serve_config

    info = deploy({"models": [{"name": "cancer"}], "auth": {"api_key_envs": ["MY_KEYS"]}})
    # POST {info.url}v1/models/cancer:predict   {"instances": [[...], ...]}
    # POST {info.url}v2/models/cancer/infer     {"inputs": [{"name": "input-0", ...}]}
    undeploy(info.name)
    serve_foreground({"models": [{"name": "cancer"}]})  # until SIGINT/SIGTERM, then clean up

    # versions side by side, and a guarded rollout (serve/README.md, "Variants and rollouts")
    set_weights("fair-ep", {"prod": 90, "cand": 10})
    start_rollout({"endpoint": "fair-ep", "candidate": "fair:5"}); run_rollout("fair-ep")

See serve/README.md. Our package is ``serve``; Ray's is always ``from ray import serve``.
"""

from serve.capture import CaptureWriter
from serve.config import EndpointSpec, load_endpoint_spec
from serve.deploy import (
    EndpointInfo,
    deploy,
    serve_config,
    serve_foreground,
    undeploy,
    write_serve_config,
)
from serve.rollout.controller import abort_rollout, rollout_status, run_rollout, start_rollout
from serve.rollout.spec import RolloutSpec
from serve.traffic.api import set_shadow, set_weights, traffic_table

__all__ = [
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
