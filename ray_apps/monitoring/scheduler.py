"""``run_schedule``: a long-lived monitor that checks every aligned window once, as it closes.

    from ray_apps.monitoring.scheduler import run_schedule
    run_schedule({"model": "cancer:3"}, timedelta(minutes=15))   # until ``stop`` is set

    raymaker monitor cancer:3 --every 15m
    ray job submit --working-dir . -- python -m ray_apps.monitoring cancer:3 --every 15m

Each turn reads which windows are checked from storage (``summary.json`` present), asks the
pure ``schedule.next_window`` for the next one, and either runs ``run_monitor`` on it or sleeps
until it closes. Nothing is kept in memory between turns, so killing the process at any point
and starting it again (same spec, same storage) goes on where the reports say it stopped.
``stop`` (a ``threading.Event``; the CLI sets it on SIGTERM/SIGINT) ends the loop between
windows, never inside one. The clock and the sleep are parameters: tests run days of windows
in a second.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ray_apps.errors import NotFoundError, SpecError
from ray_apps.monitoring.delivery import webhook_secret, webhook_url
from ray_apps.monitoring.job import MonitorResult, reports_root, run_monitor
from ray_apps.monitoring.schedule import first_start, next_window
from ray_apps.monitoring.spec import MonitorJobSpec, parse_monitor_spec
from ray_apps.monitoring.summary import Window
from ray_apps.monitoring.window import default_capture_root
from ray_apps.registry import get_version, parse_ref

log = logging.getLogger("raymaker.monitor")

_STAMP = "%Y%m%dT%H%M%SZ"


def _utcnow() -> datetime:
    return datetime.now(UTC)


def run_schedule(
    spec: MonitorJobSpec | dict | str,
    every: timedelta,
    *,
    since: datetime | None = None,
    lateness: timedelta = timedelta(seconds=30),
    stop: threading.Event | None = None,
    clock: Callable[[], datetime] = _utcnow,
    sleep: Callable[[float], object] | None = None,
    retry_s: float = 60.0,
    on_result: Callable[[MonitorResult], None] | None = None,
) -> int:
    """Check each window of length ``every`` as it closes, until ``stop`` is set.

    Returns the number of windows this process checked. A run that fails (storage down, no
    capture yet) is logged and its window retried after ``retry_s``; a bad spec or an
    unknown model or version fails before the first window.
    """
    if every <= timedelta(0):
        raise ValueError(f"every must be positive, got {every}")
    spec = _pinned(parse_monitor_spec(spec))
    if spec.alerts.webhook is not None:
        webhook_url(spec.alerts.webhook)  # an unset url_env fails now, not at the first alert
        webhook_secret(spec.alerts.webhook)
    stop = stop or threading.Event()
    sleep = sleep or stop.wait  # a SIGTERM wakes the sleeper at once
    start = first_start(since, checked_windows(spec, every), every, clock())
    log.info(
        "%s: every %s from %s (windows already checked are skipped)",
        spec.model,
        _human(every),
        start.isoformat(),
    )
    done = 0
    while not stop.is_set():
        due = next_window(checked_windows(spec, every), start, every, lateness)
        now = clock()
        if not due.ready(now):
            log.info(
                "next window %s: checking at %s", _key(due.since, due.until), due.at.isoformat()
            )
            sleep((due.at - now).total_seconds())
            continue
        window = spec.current.model_copy(update={"since": due.since, "until": due.until})
        try:
            result = run_monitor(spec.model_copy(update={"current": window}), now=now)
        except SpecError:  # the spec will not heal by waiting
            raise
        except Exception as err:  # noqa: BLE001 - storage down, no capture yet: the window
            _retry(due, err, sleep, retry_s)  # is not checked, so it is tried again later
            continue
        done += 1
        if on_result is not None:
            on_result(result)
    log.info("%s: stopped after %d windows", spec.model, done)
    return done


def checked_windows(spec: MonitorJobSpec, every: timedelta) -> set[datetime]:
    """Starts of the windows of length ``every`` whose ``summary.json`` is on storage."""
    import pyarrow.fs as pafs

    name, version = parse_ref(spec.model)
    folder = f"{reports_root(spec).rstrip('/')}/model={name}/version={version}"
    fs, path = pafs.FileSystem.from_uri(folder if "://" in folder else _absolute(folder))
    found = fs.get_file_info(pafs.FileSelector(path, allow_not_found=True, recursive=True))
    out = set()
    for info in found:
        parent, _, leaf = info.path.rpartition("/")
        if leaf != "summary.json" or parent.rpartition("/")[0] != path.rstrip("/"):
            continue
        key = parent.rpartition("/")[2].removeprefix("window=")
        since = _parse_since(key)
        if since is not None and key == _window(spec, since, since + every).key:
            out.add(since)
    return out


def _window(spec: MonitorJobSpec, since: datetime, until: datetime) -> Window:
    c = spec.current
    if c.dataset is not None:
        return Window("dataset", c.dataset, since, until)
    return Window("capture", str(c.capture or default_capture_root()), since, until)


def _parse_since(key: str) -> datetime | None:
    try:
        return datetime.strptime(key.split("--", 1)[0], _STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


def _pinned(spec: MonitorJobSpec) -> MonitorJobSpec:
    """The spec with its version fixed: "cancer" (newest Approved) is resolved once, so a
    schedule keeps judging the version it started on, and its reports stay in one folder."""
    name, version = parse_ref(spec.model)
    if spec.artifact is not None:
        if "://" not in spec.artifact and not Path(spec.artifact).is_dir():
            raise NotFoundError(f"artifact {spec.artifact!r} is not a folder; pass an artifact")
        return spec
    version = get_version(name, version, tracking_uri=spec.tracking_uri).version  # exists?
    return spec.model_copy(update={"model": f"{name}:{version}"})


def _retry(due, err: Exception, sleep, retry_s: float) -> None:
    log.error(
        "window %s failed (%s: %s); retrying in %ss",
        _key(due.since, due.until),
        type(err).__name__,
        err,
        retry_s,
    )
    sleep(retry_s)


def _key(since: datetime, until: datetime) -> str:
    return f"{since.strftime(_STAMP)}--{until.strftime(_STAMP)}"


def _human(every: timedelta) -> str:
    s = int(every.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s % size == 0:
            return f"{s // size}{unit}"
    return f"{s}s"


def _absolute(path: str) -> str:
    return str(Path(path).resolve())
