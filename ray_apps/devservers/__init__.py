"""Local servers for shared storage and tracking: an S3 store and PostgreSQL, for tests and
for trying the cluster setup on one machine.

    python -m ray_apps.devservers            # or: raymaker dev-servers
    from ray_apps.devservers import start_object_store, start_postgres
"""

from ray_apps.devservers.object_store import ObjectStore, start_object_store
from ray_apps.devservers.postgres import Postgres, start_postgres

__all__ = ["ObjectStore", "Postgres", "start_object_store", "start_postgres"]
