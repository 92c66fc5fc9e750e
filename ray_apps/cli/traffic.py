"""``raymaker traffic …`` and ``raymaker rollout …``: versions side by side on one endpoint.

raymaker traffic show ENDPOINT
raymaker traffic set ENDPOINT prod=90 cand=10          # weights; replicas take them within 1 s
raymaker traffic shadow ENDPOINT cand --percent 50     # --off stops it
raymaker traffic shadow-report ENDPOINT [--json F] [--html F]
raymaker traffic ab-report ENDPOINT --metric accuracy [--json F]
raymaker rollout start ENDPOINT --candidate fair:5 [--strategy canary|linear|all-at-once]
                       [--steps 10,50,100] [--bake 300] [--config rollout.yaml]
raymaker rollout resume|status|abort ENDPOINT

Weights and shadows change the endpoint's traffic table in its traffic store (the default
store under RAYMAKER_HOME, or --store-url). A rollout's start, resume and abort also deploy
(the candidate's replicas, the promoted version): they join the endpoint's Ray through
RAY_ADDRESS, as ``raymaker deploy`` on a cluster does.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated

import typer

from ray_apps.cli.console import console
from ray_apps.errors import SpecError

traffic_app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Variants' weights, shadow and readouts."
)
rollout_app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Guarded rollouts of a new version."
)
Endpoint = Annotated[str, typer.Argument(help="the endpoint (Serve application) name")]
StoreUrl = Annotated[
    str | None, typer.Option(help="the endpoint's traffic_store_url (default: RAYMAKER_HOME's)")
]


def attach(app: typer.Typer) -> None:
    app.add_typer(traffic_app, name="traffic")
    app.add_typer(rollout_app, name="rollout")


def _store(url: str | None):
    from serve.traffic.store import open_store  # imported on use: the CLI starts fast

    return open_store(url)


def _table(store, endpoint: str):
    from ray_apps.errors import NotFoundError

    stored = store.get(endpoint)
    if stored is None or stored.table is None:
        raise NotFoundError(
            f"endpoint {endpoint!r} has no variants in {store.url}; deploy it with variants "
            "(serve/README.md) or start a rollout"
        )
    return stored


def _print_table(data: dict) -> None:
    for v in data["variants"]:
        share = data["shares"][v["name"]]
        where = "endpoint replicas" if v["app"] == data["endpoint"] else f"app {v['app']}"
        shadow = ""
        if data.get("shadow") == v["name"]:
            shadow = f"  shadow {data['shadow_percent']:g}%"
        console.print(
            f"{v['name']:<12} {v['model']}:{v['version']:<4} {share:6.2f}%  ({where}){shadow}"
        )


@traffic_app.command("show")
def show(endpoint: Endpoint, store_url: StoreUrl = None, json_out: bool = False) -> None:
    """The endpoint's variants, their shares and the shadow."""
    from serve.traffic_routes import describe

    data = describe(_table(_store(store_url), endpoint).table)
    if json_out:
        console.print_json(json.dumps(data))
    else:
        _print_table(data)


@traffic_app.command("set")
def set_weights(
    endpoint: Endpoint,
    weights: Annotated[list[str], typer.Argument(help="VARIANT=WEIGHT …, e.g. prod=90 cand=10")],
    store_url: StoreUrl = None,
) -> None:
    """Change the variants' weights (share = weight ÷ sum); no request is dropped."""
    from serve.traffic.table import parse_weights
    from serve.traffic_routes import describe

    parsed = parse_weights(weights)
    store = _store(store_url)
    _table(store, endpoint)
    new = store.change(endpoint, lambda t: t.with_weights(parsed), by=f"cli {getpass.getuser()}")
    _print_table(describe(new))


@traffic_app.command("shadow")
def shadow(
    endpoint: Endpoint,
    variant: Annotated[str | None, typer.Argument(help="the variant to mirror to")] = None,
    percent: Annotated[float, typer.Option(help="share of requests mirrored")] = 100.0,
    off: Annotated[bool, typer.Option("--off", help="stop mirroring")] = False,
    store_url: StoreUrl = None,
) -> None:
    """Mirror a share of requests to a variant that never answers callers."""
    from serve.traffic_routes import describe

    if off == (variant is not None):
        raise SpecError("give a VARIANT to mirror to, or --off to stop mirroring")
    store = _store(store_url)
    _table(store, endpoint)
    new = store.change(
        endpoint, lambda t: t.with_shadow(None if off else variant, percent), by="cli"
    )
    _print_table(describe(new))


def _capture_path(stored) -> str:
    from serve.traffic.api import capture_root

    return capture_root(stored.spec)


@traffic_app.command("shadow-report")
def shadow_report(
    endpoint: Endpoint,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="write the report as JSON")
    ] = None,
    html_path: Annotated[Path | None, typer.Option("--html", help="write it as HTML")] = None,
    window_s: Annotated[float | None, typer.Option(help="split into windows this long")] = None,
    store_url: StoreUrl = None,
) -> None:
    """The shadow against production, from captured answers of the same requests."""
    from ray_apps.experiments import shadow_report as report

    stored = _table(_store(store_url), endpoint)
    model = stored.table.variants[0].model
    r = report(_capture_path(stored), model, window_s=window_s, shadow=stored.table.shadow)
    _write(r.to_dict(), json_path, html_path, r.to_html() if html_path else None)
    console.print(r.render())


@traffic_app.command("ab-report")
def ab_report(
    endpoint: Endpoint,
    metric: Annotated[str, typer.Option(help="accuracy | log_loss | rmse | a label column")] = (
        "accuracy"
    ),
    labels: Annotated[str | None, typer.Option(help="labels file (default: posted labels)")] = None,
    alpha: float = 0.05,
    json_path: Annotated[Path | None, typer.Option("--json", help="write the readout")] = None,
    store_url: StoreUrl = None,
) -> None:
    """Each variant's metric on labelled traffic, with an always-valid test of the gap."""
    from ray_apps.experiments import ab_readout

    stored = _table(_store(store_url), endpoint)
    table = stored.table
    r = ab_readout(
        _capture_path(stored),
        table.variants[0].model,
        labels=labels,
        metric=metric,
        weights={n: table.weights.get(n, 0.0) for n in table.names if n != table.shadow},
        control=table.local,
        alpha=alpha,
    )
    _write(r.to_dict(), json_path, None, None)
    console.print(r.render())


def _write(data: dict, json_path: Path | None, html_path: Path | None, html: str | None) -> None:
    if json_path is not None:
        json_path.write_text(json.dumps(data, indent=1, default=str))
        console.print(f"wrote {json_path}")
    if html_path is not None and html is not None:
        html_path.write_text(html)
        console.print(f"wrote {html_path}")


# -- rollouts ---------------------------------------------------------------------------------
def _need_ray() -> None:
    from ray_apps._ray_runtime import ensure_ray, joins_a_cluster

    if not joins_a_cluster():
        raise SpecError(
            "a rollout deploys to the endpoint's Ray: set RAY_ADDRESS to its cluster (the "
            "address `ray start --head` printed), or deploy it on the local cluster of "
            "raymaker up, as for raymaker deploy on a cluster"
        )

    ensure_ray()


def _follow(endpoint: str, store) -> None:
    from serve.rollout.controller import run_rollout

    def show(d: dict) -> None:
        console.print(f"[{d['action']}] {d['percent']:g}% candidate: {d['reason']}", markup=False)

    record = run_rollout(endpoint, store=store, on_decision=show)
    status = record["state"]["status"]
    console.print(f"rollout {status}: {record['state']['reason']}")
    if status != "promoted":
        raise typer.Exit(1)


@rollout_app.command("start")
def start(
    endpoint: Endpoint,
    candidate: Annotated[str | None, typer.Option(help="model:version to roll out")] = None,
    strategy: Annotated[str | None, typer.Option(help="canary | linear | all-at-once")] = None,
    steps: Annotated[str | None, typer.Option(help="candidate percents, e.g. 10,50,100")] = None,
    bake: Annotated[float | None, typer.Option(help="seconds each step bakes")] = None,
    config: Annotated[Path | None, typer.Option(help="rollout YAML (serve/README.md)")] = None,
    store_url: StoreUrl = None,
    follow: Annotated[bool, typer.Option(help="run the rollout here until it ends")] = True,
) -> None:
    """Start a guarded rollout; it runs here, printing each decision (Ctrl-C: resume later)."""
    from ray_apps.spec import load_yaml
    from serve.rollout.controller import start_rollout

    data = dict(load_yaml(config)) if config is not None else {}
    data["endpoint"] = endpoint
    for key, value in (("candidate", candidate), ("strategy", strategy), ("bake_s", bake)):
        if value is not None:
            data[key] = value
    if steps is not None:
        try:
            data["steps"] = [float(s) for s in steps.split(",")]
        except ValueError as err:
            raise SpecError(f"--steps {steps!r}: write percents like 10,50,100") from err
    if "candidate" not in data:
        raise SpecError("give the version to roll out: --candidate <model>:<version>")
    _need_ray()
    store = _store(store_url)
    record = start_rollout(data, store=store)
    console.print(
        f"rollout of {record['spec']['candidate']} on {endpoint}: {record['state']['reason']}"
    )
    if follow:
        _follow(endpoint, store)


@rollout_app.command("resume")
def resume(endpoint: Endpoint, store_url: StoreUrl = None) -> None:
    """Continue a rollout whose controller stopped, where it was."""
    _need_ray()
    _follow(endpoint, _store(store_url))


@rollout_app.command("status")
def status(endpoint: Endpoint, store_url: StoreUrl = None) -> None:
    """The rollout's state and its decisions so far."""
    from serve.rollout.controller import rollout_status

    record = rollout_status(endpoint, store=_store(store_url))
    console.print(
        f"{record['spec']['candidate']}: {record['state']['status']} — {record['state']['reason']}"
    )
    for h in record["history"]:
        console.print(f"  [{h['action']}] {h['percent']:g}%  {h['reason']}", markup=False)


@rollout_app.command("abort")
def abort(
    endpoint: Endpoint,
    reason: Annotated[str, typer.Option(help="why; kept in the rollout's history")] = "operator",
    store_url: StoreUrl = None,
) -> None:
    """Roll back now: the stable version takes all traffic, the candidate is removed."""
    from serve.rollout.controller import abort_rollout

    _need_ray()
    record = abort_rollout(endpoint, reason=reason, store=_store(store_url))
    console.print(f"rollout {record['state']['status']}: {record['state']['reason']}")
