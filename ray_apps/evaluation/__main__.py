"""Evaluation entry point, for ``ray job submit`` (the command lives in ``ray_apps.cli``).

    ray job submit --working-dir . -- python -m ray_apps.evaluation --config evaluate.yaml
    python -m ray_apps.evaluation cancer:3 --data data/test.parquet --min accuracy=0.9
    python -m ray_apps.evaluation --artifact runs/x/artifact --register cancer --config e.yaml

Same options and exit codes as ``raymaker evaluate`` (0 passed, 3 the gate failed, 2 bad
input, 1 failure). Set ``RAYMAKER_HOME`` (or ``output:``) to shared storage on a cluster.
"""

if __name__ == "__main__":
    from ray_apps.cli import run_job

    run_job("evaluate")
