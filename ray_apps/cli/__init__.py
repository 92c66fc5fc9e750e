"""The edges: the ``raymaker`` command line and the ``python -m ray_apps.<job>`` entry points.

    raymaker train --config examples/train_mlp.yaml        # commands in jobs.py
    raymaker tune --config examples/tune_xgboost.yaml
    raymaker registry list | show | register | approve | reject   # registry.py
    raymaker deploy cancer --api-key-env MY_KEYS                  # deploy.py
    raymaker batch --config batch.yaml                            # batch.py
    raymaker console [--port 8765]                 # web_console.py (the ``console`` package)

Each command calls the same library function a notebook calls and prints with ``console``.
This package sits above the layers: it is the one place in ``ray_apps`` that may import
``serve``, ``tuning``, ``pipelines`` and ``console`` (the import-linter contracts in
pyproject.toml say so).
"""

from ray_apps.cli.app import app, main, run_job

__all__ = ["app", "main", "run_job"]
