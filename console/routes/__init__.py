"""One module of routes per resource; ``ROUTES`` is all of them, in the order they match."""

from console.routes import endpoints, login, models, monitors, pipelines, runs

ROUTES = [
    *login.routes,
    *models.routes,
    *runs.routes,
    *endpoints.routes,
    *monitors.routes,
    *pipelines.routes,
]

__all__ = ["ROUTES"]
