"""Deploy job entry point, for ``ray job submit``: serve registered models on the cluster.

    ray job submit --working-dir . -- python -m ray_apps.deploy --config endpoint.yaml
    raymaker submit deploy --config endpoint.yaml --address http://head:8265 --no-wait

Same options and exit codes as ``raymaker deploy``; the job runs until ``ray job stop``.
"""

if __name__ == "__main__":
    from ray_apps.cli import run_job

    run_job("deploy")
