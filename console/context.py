"""What every handler needs, built once per app: settings, keys, the cookie signer, the places
to read from (resolved from the embedded defaults where not given), the registry's snapshot,
the rate tracker, the traffic stores opened so far, the readouts computed and the clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.requests import Request

from console.auth import Credentials
from console.readers.endpoint_metrics import RateTracker
from console.readers.experiments import Readouts
from console.readers.registry_reads import RegistryReads
from console.readers.traffic import TrafficStores
from console.session import Signer
from console.settings import ConsoleSettings


@dataclass(frozen=True)
class Places:
    storage: str  # run storage: training and tuning runs, pipelines/
    tracking_uri: str  # the MLflow store holding the registry
    monitor_root: str
    evaluation_root: str
    traffic_store_url: str  # endpoints' variants, live statistics and rollouts

    @classmethod
    def resolve(cls, settings: ConsoleSettings) -> Places:
        from ray_apps import settings as defaults
        from ray_apps import tracking
        from serve.traffic.store import default_url

        def home(what: str, folder: str) -> str:
            return str(defaults.home(what) / folder)

        return cls(
            storage=settings.storage or defaults.storage_path(),
            tracking_uri=tracking.resolve_uri(settings.tracking_uri),
            monitor_root=settings.monitor_root or home("monitor reports", "monitor"),
            evaluation_root=settings.evaluation_root or home("evaluation reports", "evaluation"),
            traffic_store_url=settings.traffic_store_url
            or default_url(str(defaults.home("the traffic store"))),
        )


@dataclass(frozen=True)
class ConsoleContext:
    settings: ConsoleSettings
    credentials: Credentials
    signer: Signer
    places: Places
    rates: RateTracker
    registry: RegistryReads
    stores: TrafficStores = field(default_factory=TrafficStores)
    readouts: Readouts = field(default_factory=Readouts)
    clock: Callable[[], float] = time.time


def context_of(request: Request) -> ConsoleContext:
    return request.app.state.console
