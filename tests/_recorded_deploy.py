"""``deploy_without_ray``: what ``serve.deploy.deploy`` records once Serve runs an endpoint's
applications — the traffic table and spec in the traffic store (``record_traffic``), the
versions it serves in the registry — without Ray: for pages and tools that read those records
(the console's tests, ``bench/console.py``), and as the deploys of a rollout's controller."""

from __future__ import annotations

from ray_apps import registry


def deploy_without_ray(spec: dict, host: str = "127.0.0.1", port: int = 8000) -> None:
    from serve.config import endpoint_spec
    from serve.deploy import plan, record_traffic

    parsed = endpoint_spec(spec)
    p = plan(parsed)
    record_traffic(parsed, p, host=host, port=port)
    registry.record_endpoint(parsed.name, p.served(), tracking_uri=p.settings.tracking_uri)


def deploying_without_ray(monkeypatch) -> None:
    """Make the rollout controller's deploys (``serve.deploy.deploy``) Ray-free."""
    import importlib

    module = importlib.import_module("serve.deploy")  # ``serve.deploy`` is also the function
    monkeypatch.setattr(module, "deploy", deploy_without_ray)
