"""An endpoint's A/B readout and shadow report, computed when its page is asked for by the
functions ``raymaker traffic ab-report`` and ``shadow-report`` call
(``ray_apps.experiments``), over the answers the endpoint captured
(``serve.traffic.api.capture_root`` of the spec its last deploy recorded), with the same
arguments: the variants' weights, the first variant as the control, the table's shadow.

Neither is stored anywhere: both read the model's capture (Parquet, with pandas: 0.3-1 s for a
few hundred requests on 2 cores). ``Readouts`` keeps each result with the capture's state it
read (every file's size and time, from one directory listing) and hands it out again while that
state holds, or while it is younger than ``MAX_AGE_S`` on an endpoint whose capture grows
every flush: the page says when it was computed. What keeps one from being computed (no labels
posted yet, no shadow answers captured) is shown as its message.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from console.readers.traffic import EndpointTraffic
from ray_apps.errors import RaymakerError
from ray_apps.experiments import METRICS, ABReadout, ShadowReport
from serve.traffic.api import capture_root

T = TypeVar("T")
MAX_AGE_S = 30.0
KEEP = 32  # results kept (two an endpoint)


@dataclass(frozen=True)
class Outcome(Generic[T]):
    result: T | None
    message: str | None = None  # why there is no result
    computed_at: float = 0.0  # time.time() of the computation


class Readouts:
    """Results by what they were computed from, while the capture they read holds."""

    def __init__(self, clock: Callable[[], float] = time.time, max_age_s: float = MAX_AGE_S):
        self._clock, self._max_age_s = clock, max_age_s
        self._kept: OrderedDict[tuple, tuple[object, Outcome]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple, stamp: object, compute: Callable[[], Outcome]) -> Outcome:
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None:
            young = self._clock() - kept[1].computed_at < self._max_age_s
            if kept[0] == stamp or young:
                return kept[1]
        outcome = compute()
        with self._lock:
            self._kept[key] = (stamp, outcome)
            self._kept.move_to_end(key)
            while len(self._kept) > KEEP:
                self._kept.popitem(last=False)
        return outcome


def capture_stamp(root: str, model: str) -> tuple:
    """Every file under the model's capture folder (answers and posted labels): name, size,
    modification time; () when there is none."""
    import fsspec

    from ray_apps.capture.labels import labels_folder

    folder = f"{root.rstrip('/')}/model={model}"
    if "://" not in root:
        folder = str(labels_folder(root, model).parent)
    fs, base = fsspec.core.url_to_fs(folder)
    try:
        found = fs.find(base, detail=True)
    except (FileNotFoundError, NotADirectoryError):
        return ()
    return tuple(sorted((n, d.get("size"), _mtime(d)) for n, d in found.items()))


def _mtime(detail: dict[str, Any]) -> Any:
    return detail.get("mtime") or detail.get("LastModified") or detail.get("updated")


def ab_readout_of(
    traffic: EndpointTraffic, metric: str, kept: Readouts
) -> Outcome[ABReadout] | None:
    """The readout of ``metric`` between the variants that answer callers; None for an
    endpoint with fewer than two of them."""
    from ray_apps.experiments import ab_readout

    answering = [v for v in traffic.variants if not v.shadow]
    if len(answering) < 2:
        return None
    root, model = capture_root(traffic.deployed), answering[0].model
    weights = {v.name: v.weight for v in answering}
    args = {"metric": metric, "weights": weights, "control": answering[0].name}
    key = ("ab", traffic.name, root, model, metric, tuple(weights.items()))
    compute = lambda: _outcome(lambda: ab_readout(root, model, **args))  # noqa: E731
    return kept.get(key, capture_stamp(root, model), compute)


def shadow_report_of(traffic: EndpointTraffic, kept: Readouts) -> Outcome[ShadowReport] | None:
    """The shadow against production over the whole capture; None without a shadow."""
    from ray_apps.experiments import shadow_report

    if traffic.shadow is None:
        return None
    root, model, shadow = capture_root(traffic.deployed), traffic.variants[0].model, traffic.shadow
    key = ("shadow", traffic.name, root, model, shadow)
    compute = lambda: _outcome(lambda: shadow_report(root, model, shadow=shadow))  # noqa: E731
    return kept.get(key, capture_stamp(root, model), compute)


def _outcome(compute: Callable[[], Any]) -> Outcome:
    now = time.time()
    try:
        return Outcome(compute(), computed_at=now)
    except RaymakerError as err:
        return Outcome(None, str(err), computed_at=now)


def metric_for(given: str | None, task_metrics: dict[str, float]) -> str:
    """``given`` when it is a readout metric; else rmse for a regressor (its test metrics
    have rmse), accuracy otherwise."""
    if given in METRICS:
        return given
    return "rmse" if "rmse" in task_metrics else "accuracy"
