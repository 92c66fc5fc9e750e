"""Tuning job entry point, for ``ray job submit``.

    ray job submit --working-dir . -- python -m ray_apps.tune --config examples/tune_xgboost.yaml
    python -m ray_apps.tune --resume <run-name>

Same options and exit codes as ``raymaker tune``.
"""

import sys

from ray_apps.cli import main

if __name__ == "__main__":
    main(["tune", *sys.argv[1:]])
