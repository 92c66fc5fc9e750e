"""Evaluation job entry point, for ``ray job submit`` (same as ``python -m ray_apps.evaluation``).

    ray job submit --working-dir . -- python -m ray_apps.evaluate --config evaluate.yaml
    raymaker submit evaluate --config evaluate.yaml --address http://head:8265

Same options and exit codes as ``raymaker evaluate``.
"""

if __name__ == "__main__":
    from ray_apps.cli import run_job

    run_job("evaluate")
