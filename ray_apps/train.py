"""Training job entry point, for ``ray job submit`` (the command lives in ``ray_apps.cli``).

    ray job submit --working-dir . -- python -m ray_apps.train --config examples/train_mlp.yaml
    python -m ray_apps.train --resume <run-name>

Same options and exit codes as ``raymaker train``.
"""

if __name__ == "__main__":
    from ray_apps.cli import run_job

    run_job("train")
