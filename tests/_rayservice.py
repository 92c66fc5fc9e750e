"""Regenerate cluster/kuberay-rayservice.yaml the documented way, on a real (SQLite) registry.

The committed file holds a placeholder where the digest of an inference key goes, so that no
key anyone can read here opens a real endpoint: ``regenerate`` swaps the digest of its random
key for that placeholder. ``python tests/_rayservice.py`` rewrites the file.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER = "sha256-of-YOUR-INFERENCE-KEY"
# What the pods see (kuberay-raycluster.yaml and the raymaker-cluster Secret).
POD_ENV = {"RAYMAKER_HOME": "/mnt/raymaker", "RAYMAKER_STORAGE": "s3://YOUR-BUCKET/raymaker/runs"}


def regenerate(workdir: Path) -> str:
    from _factories import xgboost_artifact

    from ray_apps import registry
    from serve.kuberay import render

    uri = f"sqlite:///{workdir / 'mlflow.db'}"
    registry.register(xgboost_artifact(workdir / "artifact"), "cancer", tracking_uri=uri)
    registry.approve("cancer", 1, by="cluster-manifests", tracking_uri=uri)
    key = secrets.token_urlsafe(32)
    saved = {k: os.environ.get(k) for k in [*POD_ENV, "RAYMAKER_API_KEYS"]}
    os.environ.update(POD_ENV, RAYMAKER_API_KEYS=key)
    try:
        text = render("cluster/endpoint.yaml", "cluster/kuberay-raycluster.yaml", registry_uri=uri)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k)
            else:
                os.environ[k] = v
    digest = hashlib.sha256(key.encode()).hexdigest()
    assert digest in text and key not in text
    return text.replace(digest, PLACEHOLDER)


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    with tempfile.TemporaryDirectory() as tmp:
        Path("cluster/kuberay-rayservice.yaml").write_text(regenerate(Path(tmp)))
