"""``run_explain``: SHAP values of a model version over a dataset, on Ray Data.

    from ray_apps.explain import run_explain
    result = run_explain({"model": "cancer:3", "dataset": "test.parquet", "rows": 500})
    result.importance["log-odds(1)"]["worst_radius"], result.output_dir

Top to bottom: resolve the version and fetch its artifact (checksums checked) → read the first
``rows`` rows of the dataset with Ray Data → ``map_batches`` over a pool of actors, each holding
one :class:`~ray_apps.explain.Explainer` (SHAP's setup and JIT compile paid once per actor) →
in ``<output>/model=<m>/version=<v>/run=<time>/``: ``shap_values.parquet`` (per row),
``importance.json`` (mean |SHAP| per output and feature) and ``summary.png``. ``<output>`` is
``spec.output`` or ``$RAYMAKER_HOME/explain``. Reads, never changes, the registry.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ray_apps import settings
from ray_apps.errors import DataError
from ray_apps.explain.shap_values import column_names, output_names
from ray_apps.explain.spec import ExplainJobSpec, parse_explain_spec
from ray_apps.registry import fetch_artifact, get_version, parse_ref

DEFAULT_CONCURRENCY = 2
_EXPECTED = "__expected."  # the actors' columns carrying each output's expected value


@dataclass(frozen=True)
class ExplainResult:
    output_dir: Path
    rows: int
    method: str  # "tree" | "permutation"
    outputs: list[str]
    importance: dict[str, dict[str, float]]  # output → feature → mean |SHAP|, largest first
    seconds: float


class _ExplainActor:
    """One explainer per actor; a batch of feature rows in, their SHAP values out."""

    def __init__(self, artifact: str, background_rows: int, permutations: int):
        from ray_apps.artifact import load_model
        from ray_apps.explain.shap_values import Explainer

        # One thread per actor: the pool is sized to the cores, and xgboost's SHAP
        # (pred_contribs) would otherwise start a thread per core in every actor.
        model = load_model(artifact).prepare_for_serving()
        self.explainer = Explainer(
            model, background_rows=background_rows, permutations=permutations
        )

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        e = self.explainer.explain(batch)
        frame = e.frame()
        for o, value in enumerate(e.expected_value):  # plain float columns: cheap to move
            frame[f"{_EXPECTED}{o}"] = float(value)
        return frame


def run_explain(spec: ExplainJobSpec | dict | str | Path) -> ExplainResult:
    """Explain the rows and write the report; raises on bad input."""
    import ray

    from ray_apps._ray_runtime import ensure_ray
    from ray_apps.artifact import load_model

    spec = parse_explain_spec(spec)
    artifact, version = _artifact(spec)
    info = load_model(artifact).info  # checks the artifact before Ray starts
    ensure_ray()
    t0 = time.perf_counter()
    pool = spec.concurrency or DEFAULT_CONCURRENCY
    # One block per batch (at least one per actor): a single-file dataset reads as one block,
    # which would leave all but one actor idle.
    blocks = max(pool, min(-(-spec.rows // spec.batch_size), 4 * pool))
    ds = _read(spec.dataset).limit(spec.rows).select_columns(_columns(spec, info))
    ds = ds.repartition(blocks)
    # Row i of shap_values.parquet explains row i of the dataset: keep the input's order.
    ds.context.execution_options.preserve_order = True
    out = ds.map_batches(
        _ExplainActor,
        fn_constructor_kwargs={
            "artifact": str(artifact),
            "background_rows": spec.background_rows,
            "permutations": spec.permutations,
        },
        batch_size=spec.batch_size,
        batch_format="pandas",
        compute=ray.data.ActorPoolStrategy(size=pool),
    )
    try:
        frame = out.to_pandas()
    except ray.exceptions.RayError as err:
        from ray_apps._ray_errors import raymaker_error

        ours = raymaker_error(err)
        if ours is None:
            raise
        raise ours from None
    seconds = time.perf_counter() - t0
    if frame.empty:
        raise DataError(f"dataset {spec.dataset!r} has no rows to explain")
    expected_columns = [c for c in frame.columns if c.startswith(_EXPECTED)]
    expected = [float(frame[c].iloc[0]) for c in expected_columns]
    frame = frame.drop(columns=expected_columns)
    frame = frame.astype("float64")  # Ray hands back pyarrow-backed columns
    return _write(spec, info, version, frame, expected, seconds)


def reports_root(spec: ExplainJobSpec) -> Path:
    """Where the reports of ``spec`` go: ``output`` or ``$RAYMAKER_HOME/explain``."""
    return (
        Path(spec.output.removeprefix("file://"))
        if spec.output
        else settings.home("explanation reports", "the spec's output: (or RAYMAKER_HOME)")
        / "explain"
    )


def _artifact(spec: ExplainJobSpec) -> tuple[Path, str]:
    name, version = parse_ref(spec.model)
    if spec.artifact is not None:
        return Path(spec.artifact), str(version)
    mv = get_version(name, version, tracking_uri=spec.tracking_uri)
    return fetch_artifact(mv), str(mv.version)


def _read(path: str):
    import ray

    lower = path.lower()
    try:
        if lower.endswith((".csv", ".csv.gz")):
            return ray.data.read_csv(path)
        return ray.data.read_parquet(path)
    except FileNotFoundError:
        raise DataError(f"dataset {path!r} does not exist; check the path") from None
    except (OSError, ValueError) as err:
        raise DataError(f"cannot read dataset {path!r} (CSV or Parquet): {err}") from None


def _columns(spec: ExplainJobSpec, info) -> list[str]:
    names = info.feature_names
    schema = _read(spec.dataset).schema()
    have = set(schema.names) if schema is not None else set()
    missing = [f for f in names if f not in have]
    if missing:
        raise DataError(
            f"dataset {spec.dataset!r} lacks the model's feature column(s) {missing[:10]}"
        )
    return names


def _write(spec, info, version: str, frame, expected, seconds: float) -> ExplainResult:
    from ray_apps.explain.plot import summary_png

    features, outputs = info.feature_names, output_names(info)
    columns = column_names(features, outputs)
    importance = np.stack(
        [frame[columns[o]].abs().mean(axis=0).to_numpy() for o in outputs], axis=1
    )
    ranked = {
        out: dict(
            sorted(
                ((f, float(importance[i, o])) for i, f in enumerate(features)),
                key=lambda kv: -kv[1],
            )
        )
        for o, out in enumerate(outputs)
    }
    name = parse_ref(spec.model)[0]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    folder = reports_root(spec) / f"model={name}" / f"version={version}" / f"run={stamp}"
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(folder / "shap_values.parquet", index=False)
    record = {
        "model": name,
        "version": version,
        "dataset": spec.dataset,
        "rows": len(frame),
        "method": info_method(info),
        "explains": "the margin: " + ", ".join(outputs),
        "expected_value": dict(zip(outputs, map(float, expected), strict=True)),
        "importance": ranked,
        "seconds": seconds,
        "computed_at": datetime.now(UTC).isoformat(),
    }
    (folder / "importance.json").write_text(json.dumps(record, indent=2, default=str))
    if spec.plot:
        summary_png(importance, features, outputs, folder / "summary.png")
    return ExplainResult(folder, len(frame), record["method"], outputs, ranked, seconds)


def info_method(info) -> str:
    from ray_apps.learners import get_learner

    return get_learner(info.kind).explainer
