"""What every handler needs, built once per app: settings, keys, the cookie signer, the places
to read from (resolved from the embedded defaults where not given) and the rate tracker."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from console.auth import Credentials
from console.readers.endpoint_metrics import RateTracker
from console.session import Signer
from console.settings import ConsoleSettings


@dataclass(frozen=True)
class Places:
    storage: str  # run storage: training and tuning runs, pipelines/
    tracking_uri: str  # the MLflow store holding the registry
    monitor_root: str
    evaluation_root: str

    @classmethod
    def resolve(cls, settings: ConsoleSettings) -> Places:
        from ray_apps import settings as defaults
        from ray_apps import tracking

        def home(what: str, folder: str) -> str:
            return str(defaults.home(what) / folder)

        return cls(
            storage=settings.storage or defaults.storage_path(),
            tracking_uri=tracking.resolve_uri(settings.tracking_uri),
            monitor_root=settings.monitor_root or home("monitor reports", "monitor"),
            evaluation_root=settings.evaluation_root or home("evaluation reports", "evaluation"),
        )


@dataclass(frozen=True)
class ConsoleContext:
    settings: ConsoleSettings
    credentials: Credentials
    signer: Signer
    places: Places
    rates: RateTracker


def context_of(request: Request) -> ConsoleContext:
    return request.app.state.console
