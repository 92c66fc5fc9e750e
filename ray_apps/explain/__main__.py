"""Explanation entry point, for ``ray job submit`` (the command lives in ``ray_apps.cli``).

    ray job submit --working-dir . -- python -m ray_apps.explain --config explain.yaml
    python -m ray_apps.explain cancer:3 --dataset test.parquet --rows 500

Same options and exit codes as ``raymaker explain`` (0 done, 2 bad input, 1 failure). Set
``RAYMAKER_HOME`` (or ``output:``) to shared storage on a cluster: reports must outlive the
job's working directory.
"""

if __name__ == "__main__":
    from ray_apps.cli import run_job

    run_job("explain")
