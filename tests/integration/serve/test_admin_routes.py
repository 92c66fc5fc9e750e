"""Registry writes need an admin credential over real HTTP, and a version rejected while it
serves is flagged: in its metadata, in the registry (served by which endpoint), in the replica's
log and in a Prometheus gauge. The replica keeps serving it (revoking is the operator's call)."""

import re
from pathlib import Path

import httpx
import pytest
from _factories import xgboost_artifact
from _serve_helpers import KEY, PORT, wait_for

from ray_apps import registry
from serve import deploy, undeploy

ADMIN_KEY = "admin-key-9876543210"
AUTH = {"Authorization": f"Bearer {KEY}"}
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
REJECT = "/admin/registry/models/fair/versions/1:reject"
DECISION = {"by": "alice", "reason": "bias found"}


@pytest.fixture()
def fair(endpoint, tmp_path, monkeypatch):
    """fair:1, Approved, served by endpoint fair-ep with inference and admin keys."""
    monkeypatch.setenv("RAYMAKER_TEST_ADMIN_KEYS", ADMIN_KEY)
    mv = registry.register(xgboost_artifact(tmp_path / "art"), "fair")
    registry.approve("fair", mv.version, by="tests")
    spec = {
        "name": "fair-ep",
        "route_prefix": "/fair",
        "models": [{"name": "fair", "version": mv.version}],
        "auth": {
            "api_key_envs": ["RAYMAKER_TEST_KEYS"],
            "admin_key_envs": ["RAYMAKER_TEST_ADMIN_KEYS"],
        },
        "registry_check_interval_s": 1,
    }
    deploy(spec, port=PORT)
    return mv.version


def _replica_logs() -> str:
    import ray

    logs = Path(ray._private.worker.global_worker.node.get_logs_dir_path()) / "serve"
    return "".join(p.read_text(errors="replace") for p in logs.glob("replica_fair-ep_*.log"))


def _gauge(model: str) -> float | None:
    import ray

    port = ray._private.worker.global_worker.node.metrics_export_port
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    pattern = rf'^ray_raymaker_served_version_approved\{{[^}}]*model="{model}"[^}}]*\}} (\S+)$'
    values = re.findall(pattern, text, flags=re.M)
    return float(values[-1]) if values else None


def test_inference_key_cannot_decide_admin_can_and_rejected_version_is_flagged(fair, client):
    r = client.post(f"/fair{REJECT}", headers=AUTH, json=DECISION)
    assert r.status_code == 403 and "needs an admin credential" in r.json()["error"]
    r = client.post("/fair/registry/models/fair/versions/1:reject", headers=AUTH, json=DECISION)
    assert r.status_code == 404 and "/admin/registry" in r.json()["error"]  # the path
    assert registry.get_version("fair", 1).status == "Approved"
    assert registry.get_version("fair", 1).served_by == ["fair-ep"]
    wait_for(lambda: _gauge("fair") == 1.0, 60, "the approved gauge at 1")

    r = client.post(f"/fair{REJECT}", headers=ADMIN, json=DECISION)
    assert r.status_code == 200 and r.json()["status"] == "Rejected"

    def flagged():
        meta = client.get("/fair/v1/models/fair", headers=AUTH).json()
        return meta["registry_status"] == "Rejected"

    wait_for(flagged, 30, "GET /v1/models/fair to say Rejected")
    v2 = client.get("/fair/v2/models/fair", headers=AUTH).json()
    assert v2["parameters"]["registry_status"] == "Rejected"
    ok = client.post("/fair/v1/models/fair:predict", headers=AUTH, json={"instances": [[1] * 4]})
    assert ok.status_code == 200  # still served: withdrawing it is the operator's decision
    wait_for(lambda: _gauge("fair") == 0.0, 60, "the approved gauge at 0")
    warning = "fair:1 served by endpoint fair-ep is now Rejected"
    wait_for(lambda: warning in _replica_logs(), 30, "the replica's warning")
    assert _replica_logs().count(warning) == 1  # once per change, not per health check

    undeploy("fair-ep")
    assert registry.get_version("fair", 1).served_by == []
