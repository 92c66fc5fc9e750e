"""Monitor job entry point, for ``ray job submit`` (same as ``python -m ray_apps.monitoring``).

    ray job submit --working-dir . -- python -m ray_apps.monitor --config monitor.yaml
    raymaker submit monitor --config monitor.yaml --address http://head:8265

Same options and exit codes as ``raymaker monitor``.
"""

if __name__ == "__main__":
    from ray_apps.cli import run_job

    run_job("monitor")
