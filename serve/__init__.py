"""raymaker endpoints: registered models on Ray Serve over KServe V1 and Open Inference V2.

    from serve import EndpointSpec, deploy, undeploy, write_serve_config

    info = deploy({"models": [{"name": "cancer"}], "auth": {"api_key_envs": ["MY_KEYS"]}})
    # POST {info.url}v1/models/cancer:predict   {"instances": [[...], ...]}
    # POST {info.url}v2/models/cancer/infer     {"inputs": [{"name": "input-0", ...}]}
    undeploy(info.name)
    serve_foreground({"models": [{"name": "cancer"}]})  # until SIGINT/SIGTERM, then clean up

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

__all__ = [
    "CaptureWriter",
    "EndpointInfo",
    "EndpointSpec",
    "deploy",
    "load_endpoint_spec",
    "serve_config",
    "serve_foreground",
    "undeploy",
    "write_serve_config",
]
