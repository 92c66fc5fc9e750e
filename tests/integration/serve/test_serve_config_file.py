"""The generated Serve config deploys through the controller exactly as `serve deploy` does."""

import yaml
from _serve_helpers import PORT, wait_for

from serve import write_serve_config


def test_generated_config_deploys_and_serves(endpoint, iris, client, tmp_path):
    from ray.serve.context import _get_global_client
    from ray.serve.schema import ServeDeploySchema

    spec = {"name": "from-yaml", "models": [{"name": iris, "version": 2}]}
    path = write_serve_config(spec, tmp_path / "serve.yaml", port=PORT)
    config = ServeDeploySchema.model_validate(yaml.safe_load(path.read_text()))
    _get_global_client().deploy_apps(config, _blocking=True)  # what `serve deploy` submits

    def answered():
        r = client.post("/v1/models/iris:predict", json={"instances": [[5.1, 3.5, 1.4, 0.2]]})
        return r.status_code == 200 and r.json()

    assert wait_for(answered, 60, "the app deployed from the config")["model_version"] == "2"
