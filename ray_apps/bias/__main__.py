"""Bias entry point, for ``ray job submit`` (the command lives in ``ray_apps.cli``).

    ray job submit --working-dir . -- python -m ray_apps.bias --config bias.yaml
    python -m ray_apps.bias cancer:3 --dataset test.parquet --sensitive sex --positive-label 1

Same options and exit codes as ``raymaker bias`` (0 done, 2 bad input, 1 failure). Set
``RAYMAKER_HOME`` (or ``output:``) to shared storage on a cluster: reports must outlive the
job's working directory.
"""

if __name__ == "__main__":
    from ray_apps.cli import run_job

    run_job("bias")
