"""``python -m ray_apps.cli …`` is the ``raymaker`` command."""

from ray_apps.cli.app import main

main()
