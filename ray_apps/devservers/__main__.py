"""Start the local S3 store and PostgreSQL until Ctrl-C; ``raymaker dev-servers`` is the same.

python -m ray_apps.devservers [--dir raymaker_data/dev-servers]
source raymaker_data/dev-servers/env.sh   # in each shell, before `ray start` or submit
"""

if __name__ == "__main__":
    from ray_apps.cli import run_job

    run_job("dev-servers")
