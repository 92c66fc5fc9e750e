"""``raymaker evaluate``: an offline evaluation report of a model on labelled rows, and its gate.

raymaker evaluate cancer:3 --data data/test.parquet --min accuracy=0.9
raymaker evaluate --config evaluate.yaml                   # slices, tests, thresholds
raymaker evaluate --artifact runs/x/artifact --data sklearn:breast_cancer
raymaker evaluate --artifact runs/x/artifact --register cancer --config evaluate.yaml
                                                           # registers it; Rejected if it fails

Options override the config file's fields. Exit codes: 0 the gate passed, 3 the gate failed
(with --register: the version was registered as Rejected), 2 bad input, 1 failure.
"""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from ray_apps.errors import SpecError


class ExitCode(IntEnum):
    PASSED = 0
    FAILED = 1
    BAD_INPUT = 2
    GATE_FAILED = 3


def attach(app: typer.Typer) -> None:
    app.command()(evaluate)


def evaluate(
    model: Annotated[
        str | None, typer.Argument(help='"name:version" (or "name": newest Approved)')
    ] = None,
    config: Annotated[Path | None, typer.Option(help="evaluation job YAML")] = None,
    data: Annotated[
        str | None, typer.Option(help="labelled CSV/Parquet, or sklearn:<name> (its test split)")
    ] = None,
    label: Annotated[str | None, typer.Option(help="label column (default: the model's)")] = None,
    artifact: Annotated[str | None, typer.Option(help="evaluate this artifact folder")] = None,
    slice_: Annotated[
        list[str] | None, typer.Option("--slice", help="a column to slice by (repeatable)")
    ] = None,
    min_: Annotated[
        list[str] | None, typer.Option("--min", help="metric=value the gate needs (repeatable)")
    ] = None,
    max_: Annotated[
        list[str] | None, typer.Option("--max", help="metric=value not to exceed (repeatable)")
    ] = None,
    register: Annotated[
        str | None, typer.Option(help="register --artifact under this model name, gated")
    ] = None,
    output: Annotated[str | None, typer.Option(help="reports root, path or URI")] = None,
    html: Annotated[bool, typer.Option(help="write report.html")] = True,
) -> None:
    """Evaluate a model on labelled rows: metrics, slices, calibration, behavioural tests."""
    from ray_apps.evaluation import parse_evaluation_spec, register_evaluated, run_evaluation
    from ray_apps.spec import load_yaml

    spec: dict[str, Any] = load_yaml(config) if config else {}
    if data is not None or label is not None:
        spec["data"] = {**(spec.get("data") or {}), **_set(source=data, label=label)}
    spec.update(_set(model=model, artifact=artifact, output=output))
    if slice_:
        spec["slices"] = {**(spec.get("slices") or {}), "columns": slice_}
    thresholds = dict(spec.get("thresholds") or {})
    for key, pairs in (("min", min_), ("max", max_)):
        if pairs:
            thresholds[key] = {**(thresholds.get(key) or {}), **_pairs(pairs, f"--{key}")}
    if thresholds:
        spec["thresholds"] = thresholds
    if not html:
        spec["html"] = False
    if "data" not in spec:
        raise SpecError("name the labelled rows: --data <file.parquet|sklearn:name>")
    source = str(config) if config else "raymaker evaluate"
    if register is not None:
        if artifact is None and not spec.get("artifact"):
            raise SpecError("--register registers an artifact: give --artifact <folder>")
        spec.pop("model", None)
        parsed = parse_evaluation_spec(spec, source=source)
        mv, result = register_evaluated(parsed.artifact, register, parsed)
        _show(result)
        print(f"[raymaker] registered {mv.ref} ({mv.status})", flush=True)
    else:
        result = run_evaluation(parse_evaluation_spec(spec, source=source))
        _show(result)
    raise typer.Exit(int(ExitCode.PASSED if result.passed else ExitCode.GATE_FAILED))


def _show(result) -> None:
    r = result.report
    print(f"[raymaker] {result.line}")
    for s in r.worst_slices[:3]:
        print(f"[raymaker] worst slice {s.column}={s.slice} ({s.size} rows): "
              f"{r.metric}={s.metrics[r.metric]:.4g}")  # fmt: skip
    if r.calibration is not None:
        c = r.calibration
        print(f"[raymaker] calibration: Brier {c.brier:.4g}, ECE {c.expected_error:.4g}")
    if r.robustness is not None:
        for lv in r.robustness.levels:
            print(f"[raymaker] noise {lv.noise:g} std: {r.metric}={lv.value:.4g} "
                  f"(drop {lv.drop:.4g})")  # fmt: skip
    for i in r.invariance:
        print(f"[raymaker] invariance {i.feature!r}: change rate {i.change_rate:.1%}")
    for d in r.directional:
        print(f"[raymaker] directional {d.feature!r} +{d.delta:g}: "
              f"violation rate {d.violation_rate:.1%}")  # fmt: skip
    for reason in result.reasons:
        print(f"[raymaker] gate: {reason}")
    print(f"[raymaker] report {result.report_dir}", flush=True)


def _set(**values) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _pairs(pairs: list[str], option: str) -> dict[str, float]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise SpecError(f"{option} {pair!r}: write metric=value, e.g. {option} accuracy=0.9")
    return out
