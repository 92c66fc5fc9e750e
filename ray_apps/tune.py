"""Tuning job entry point, for ``ray job submit`` (the command lives in ``ray_apps.cli``).

    ray job submit --working-dir . -- python -m ray_apps.tune --config examples/tune_xgboost.yaml
    python -m ray_apps.tune --resume <run-name>

Same options and exit codes as ``raymaker tune``.
"""

if __name__ == "__main__":
    from ray_apps.cli import run_job

    run_job("tune")
