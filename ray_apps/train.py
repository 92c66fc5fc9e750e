"""Training job entry point, for ``ray job submit``.

    ray job submit --working-dir . -- python -m ray_apps.train --config examples/train_mlp.yaml
    python -m ray_apps.train --resume <run-name>

Same options and exit codes as ``raymaker train``.
"""

import sys

from ray_apps.cli import main

if __name__ == "__main__":
    main(["train", *sys.argv[1:]])
