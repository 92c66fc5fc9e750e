"""Monitor entry point, for ``ray job submit`` (the command lives in ``ray_apps.cli``).

    ray job submit --working-dir . -- python -m ray_apps.monitoring --config monitor.yaml
    python -m ray_apps.monitoring cancer:3 --last 1h
    ray job submit --working-dir . -- python -m ray_apps.monitoring cancer:3 --every 15m

Same options and exit codes as ``raymaker monitor`` (0 ok, 3 violation, 4 too few rows,
5 violation with the webhook unreachable, 2 bad input, 1 failure); with ``--every`` it runs
until SIGTERM (``ray job stop``) and exits 0. Set ``RAYMAKER_HOME`` (or
``output:``) to shared storage on a cluster: reports must outlive the job's working directory.
"""

if __name__ == "__main__":
    from ray_apps.cli import run_job

    run_job("monitor")
