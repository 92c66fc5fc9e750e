"""``raymaker monitor``: judge one window of a model version's data against its baseline, once.

raymaker monitor cancer:3 --last 1h                      # captured traffic of the last hour
raymaker monitor cancer:3 --since 2026-11-24T10:00Z --until 2026-11-24T11:00Z
raymaker monitor cancer:3 --dataset data/day.parquet     # any CSV/Parquet with the features
raymaker monitor --config monitor.yaml                   # thresholds, webhook, output
raymaker monitor cancer:3 --last 1d --labels labels.csv  # + model quality from late labels
raymaker monitor cancer:3 --every 15m                    # long-lived: each window as it closes

Options override the config file's fields. Exit codes (for cron): 0 ok, 3 violation (alerts
sent), 4 too few rows to judge, 5 violation and the webhook unreachable, 2 bad input, 1 failure.
With ``--every`` it runs until SIGTERM/SIGINT (exit 0), checking the aligned windows
``[k·every, (k+1)·every)`` once each (``--since`` sets the first; a restart catches up missed
ones and repeats none); violations are alerted, not exited on.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from ray_apps.errors import SpecError


def attach(app: typer.Typer) -> None:
    app.command()(monitor)


def monitor(
    model: Annotated[
        str | None, typer.Argument(help='"name:version" (or "name": newest Approved)')
    ] = None,
    config: Annotated[Path | None, typer.Option(help="monitor job YAML")] = None,
    since: Annotated[
        str | None, typer.Option(help="window start, ISO 8601 (UTC if no zone)")
    ] = None,
    until: Annotated[str | None, typer.Option(help="window end (exclusive); default now")] = None,
    last: Annotated[str | None, typer.Option(help="window = the last 15m / 1h / 1d")] = None,
    dataset: Annotated[
        str | None, typer.Option(help="judge a CSV/Parquet dataset instead of capture")
    ] = None,
    capture: Annotated[str | None, typer.Option(help="capture root")] = None,
    artifact: Annotated[
        str | None, typer.Option(help="take the baseline from this artifact folder")
    ] = None,
    output: Annotated[str | None, typer.Option(help="reports root, path or URI")] = None,
    webhook_env: Annotated[
        str | None, typer.Option(help="environment variable holding the webhook URL")
    ] = None,
    html: Annotated[bool, typer.Option(help="write Evidently's HTML report")] = True,
    workspace: Annotated[
        str | None, typer.Option(help="add each report to this Evidently workspace folder")
    ] = None,
    labels: Annotated[
        str | None, typer.Option(help="CSV/Parquet of request_id,label: model quality")
    ] = None,
    every: Annotated[
        str | None, typer.Option(help="run on: check each 15m / 1h / 1d window as it closes")
    ] = None,
    lateness: Annotated[
        str, typer.Option(help="with --every: wait this long after a window closes")
    ] = "30s",
) -> None:
    """Drift and data quality of one window against the version's training baseline."""
    from ray_apps.monitoring import run_monitor
    from ray_apps.monitoring.schedule import parse_duration
    from ray_apps.monitoring.spec import parse_monitor_spec
    from ray_apps.spec import load_yaml

    now = datetime.now(UTC)
    data: dict[str, Any] = load_yaml(config) if config else {}
    current = dict(data.get("current") or {})
    if every is not None:
        if last is not None or until is not None:
            raise SpecError(
                "--every checks each window as it closes: drop --last/--until "
                "(--since sets where the schedule starts)"
            )
        current.pop("until", None)
        if since is not None:
            current["since"] = since
    elif last is not None:
        if since is not None or until is not None:
            raise SpecError("--last ends the window now: give --last, or --since/--until")
        current.update(
            since=(now - parse_duration(last, "--last")).isoformat(), until=now.isoformat()
        )
    else:
        current.update({k: v for k, v in {"since": since, "until": until}.items() if v})
    current.update({k: v for k, v in {"dataset": dataset, "capture": capture}.items() if v})
    data = {**data, "current": current}
    options = {"model": model, "artifact": artifact, "output": output, "workspace": workspace}
    for key, value in options.items():
        if value is not None:
            data[key] = value
    if labels is not None:
        data["labels"] = {**(data.get("labels") or {}), "path": labels}
    if webhook_env is not None:
        data["alerts"] = {**(data.get("alerts") or {}), "webhook": {"url_env": webhook_env}}
    if not html:
        data["html"] = False
    if "model" not in data:
        raise SpecError("name the model version to watch: raymaker monitor <name:version>")
    spec = parse_monitor_spec(data, source=str(config) if config else "raymaker monitor")
    _log_to_stdout()
    if every is not None:
        _schedule(spec, parse_duration(every), parse_duration(lateness, "--lateness", zero=True))
        return
    result = run_monitor(spec, now=now)
    print(f"[raymaker] report {result.report_dir}", flush=True)
    _on_alert(spec, result)
    raise typer.Exit(int(result.exit_code))


def _on_alert(spec, result) -> None:
    """Start ``spec.on_alert``'s pipeline for a violation, once per key (the closed loop)."""
    if spec.on_alert is None or result.verdict.status != "violation":
        return
    from pipelines import TriggerSpec, start_once
    from ray_apps.errors import RaymakerError

    what = "; ".join(v.message for v in result.verdict.violations[:3])
    name, _, version = spec.model.partition(":")
    # What the alert knows, for the pipeline's parameters: the serving version to beat, the
    # window's report.
    facts = {"model": spec.model, "name": name, "version": version, "report": result.report_dir}
    parameters = {k: _alert_facts(v, facts) for k, v in spec.on_alert.parameters.items()}
    trigger = TriggerSpec(
        pipeline=spec.on_alert.pipeline,
        parameters=parameters,
        key=spec.on_alert.key or name,
    )
    try:
        outcome = start_once(
            trigger, storage=None, reason=f"monitor {spec.model}: {what}", wait_s=10
        )
    except RaymakerError as err:  # the alert stands (exit 3); the loop's start failed, said
        print(f"[raymaker] on_alert: could not start {spec.on_alert.pipeline}: {err}", flush=True)
        return
    print(f"[raymaker] on_alert: {outcome.message}", flush=True)


def _alert_facts(value: Any, facts: dict[str, str]) -> Any:
    """``"${alert.model}"`` (model, name, version, report) in a parameter, filled in."""
    if not isinstance(value, str):
        return value
    for key, fact in facts.items():
        value = value.replace(f"${{alert.{key}}}", str(fact))
    return value


def _schedule(spec, every, lateness) -> None:
    """Run the schedule until SIGTERM/SIGINT, which end it between windows (exit 0)."""
    from ray_apps.monitoring.scheduler import run_schedule

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    since = spec.current.since
    spec = spec.model_copy(update={"current": spec.current.model_copy(update={"since": None})})
    run_schedule(
        spec,
        every,
        since=since,
        lateness=lateness,
        stop=stop,
        on_result=lambda r: _on_alert(spec, r),
    )


def _log_to_stdout() -> None:
    """The job's log lines (outcome, each violation, webhook retries) as the command's output."""
    logger = logging.getLogger("raymaker.monitor")
    if not logger.handlers:
        handler = _Stdout()
        handler.setFormatter(logging.Formatter("[raymaker] %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


class _Stdout(logging.StreamHandler):
    """A handler writing to whatever ``sys.stdout`` is when a line is logged (not when the
    handler was made): a second command in one process (a notebook, tests) still shows it."""

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, _value) -> None:
        pass
