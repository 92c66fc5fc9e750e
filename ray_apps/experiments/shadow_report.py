"""``shadow_report``: how a shadow variant's answers compare with production's on the same requests.

    from ray_apps.experiments import shadow_report

    r = shadow_report("raymaker_data/capture", "cancer", since="2026-11-23", window_s=3600)
    print(r.render()); r.to_dict(); Path("shadow.html").write_text(r.to_html())

A shadow variant gets a copy of each request and its answer is captured with ``shadow=True``
but never returned. Per window (one for the whole range, or one per ``window_s`` seconds):

- **latency and errors** of each side over ALL its captured requests in the window (not just
  the pairs): p50 and p99 of ``latency_ms`` and the share of requests answered with a status
  other than 200, one value per request (a request's rows share them);
- **agreement** over pairs: a shadow row and the production row of the same request id and row,
  both answered 200. Classifiers: the label-flip rate (predicted classes differ), and
  |Δprobability| = the largest absolute difference over the classes of the row (classes matched
  by name), its mean and p95. Regressors: |Δvalue| of the predictions, mean and p95;
- **KS**: a two-sample Kolmogorov-Smirnov test of the pairs' score distributions. The score is
  the prediction for regressors; for a binary classifier the probability of production's
  second class (the positive one: 1, "yes"); for more classes each model's top probability (its
  confidence). Pairs share their inputs, so a difference is the model's, not the traffic's;
- **labels**, once any arrived for pairs (posted to the endpoint, or ``labels=``): each side's
  accuracy on the labelled pairs and McNemar's test (``ray_apps.stats.mcnemar``; A is
  production, B the shadow); RMSE of each for regressors (no test).
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ray_apps.capture.reader import read_capture
from ray_apps.errors import NotFoundError, SpecError
from ray_apps.experiments import _traffic
from ray_apps.stats import KSResult, McNemarResult, ks_test, mcnemar


@dataclass(frozen=True)
class SideStats:
    requests: int
    p50_ms: float
    p99_ms: float
    error_rate: float  # share of requests answered with a status other than 200


@dataclass(frozen=True)
class ShadowWindow:
    start: str
    end: str
    production: SideStats
    shadow: SideStats
    pairs: int  # rows answered 200 by both
    flip_rate: float | None  # classifiers: share of pairs whose predicted class differs
    mean_abs_delta: float  # |Δprobability| (classifiers) or |Δvalue| (regressors)
    p95_abs_delta: float
    ks: KSResult
    labelled_pairs: int
    production_metric: float | None  # accuracy (classifiers) or rmse on labelled pairs
    shadow_metric: float | None
    mcnemar: McNemarResult | None  # classifiers with labelled pairs


@dataclass(frozen=True)
class ShadowReport:
    model: str
    task: str  # "classification" | "regression"
    shadow: str  # the shadow variant
    production: list[str]  # the variants that answered callers (None: no variant)
    metric: str  # of labelled pairs: "accuracy" or "rmse"
    labels: str | None  # where labels came from
    windows: list[ShadowWindow]

    def to_dict(self) -> dict:
        """Plain JSON types; nan is None."""
        return _plain(asdict(self))

    def render(self) -> str:
        lines = [f"shadow {self.shadow} vs production {self.production} of {self.model}"]
        for w in self.windows:
            p, s = w.production, w.shadow
            lines += [
                f"[{w.start}, {w.end}): {w.pairs} pairs",
                f"  latency p50/p99 ms: production {p.p50_ms:.1f}/{p.p99_ms:.1f}, "
                f"shadow {s.p50_ms:.1f}/{s.p99_ms:.1f}; errors {p.error_rate:.2%} vs "
                f"{s.error_rate:.2%}",
                "  "
                + (f"label flips {w.flip_rate:.2%}, " if w.flip_rate is not None else "")
                + f"|delta| mean {w.mean_abs_delta:.4f} p95 {w.p95_abs_delta:.4f}, "
                f"KS {w.ks.statistic:.3f} (p {w.ks.p_value:.3g})",
            ]
            if w.labelled_pairs:
                test = f", McNemar p {w.mcnemar.p_value:.3g}" if w.mcnemar else ""
                lines.append(
                    f"  {w.labelled_pairs} labelled: {self.metric} production "
                    f"{w.production_metric:.4f}, shadow {w.shadow_metric:.4f}{test}"
                )
        return "\n".join(lines)

    def to_html(self) -> str:
        """One self-contained HTML page: a table with a row per window."""
        head = [
            "window", "pairs", "prod p50/p99 ms", "shadow p50/p99 ms", "prod errors",
            "shadow errors", "label flips", "mean |Δ|", "p95 |Δ|", "KS (p)", "labelled",
            f"prod {self.metric}", f"shadow {self.metric}", "McNemar p",
        ]  # fmt: skip
        body = []
        for w in self.windows:
            p, s = w.production, w.shadow
            cells = [
                f"{w.start} – {w.end}", w.pairs, f"{p.p50_ms:.1f} / {p.p99_ms:.1f}",
                f"{s.p50_ms:.1f} / {s.p99_ms:.1f}", f"{p.error_rate:.2%}", f"{s.error_rate:.2%}",
                "" if w.flip_rate is None else f"{w.flip_rate:.2%}", f"{w.mean_abs_delta:.4f}",
                f"{w.p95_abs_delta:.4f}", f"{w.ks.statistic:.3f} ({w.ks.p_value:.3g})",
                w.labelled_pairs, _num(w.production_metric), _num(w.shadow_metric),
                "" if w.mcnemar is None else f"{w.mcnemar.p_value:.3g}",
            ]  # fmt: skip
            body.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells))
        title = html.escape(f"Shadow {self.shadow} vs production of {self.model}")
        return (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
            "<style>table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px}"
            f"</style></head><body><h1>{title}</h1><table><tr>"
            + "".join(f"<th>{html.escape(h)}</th>" for h in head)
            + "</tr>"
            + "</tr>".join(body)
            + "</tr></table></body></html>"
        )


def shadow_report(
    capture_path: str | Path,
    model: str,
    *,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    window_s: float | None = None,
    shadow: str | None = None,
    labels: str | Path | None = None,
    label: str = "label",
) -> ShadowReport:
    """Compare the shadow variant of ``model``'s endpoint with production over windows."""
    if window_s is not None and window_s <= 0:
        raise SpecError(f"window_s={window_s} must be positive seconds (e.g. 3600), or None")
    frame = read_capture(capture_path, model, since=since, until=until)
    is_shadow = frame.shadow.astype(bool)
    name = _shadow_variant(frame[is_shadow], shadow, model)
    side_b = frame[is_shadow & (frame.variant == name)]
    side_a = frame[~is_shadow]
    if side_a.empty:
        raise NotFoundError(f"no production answers of {model} in [{since}, {until}) to compare")
    pairs = _pairs(side_a, side_b)
    classifier = _traffic.is_classifier(frame)
    source = str(labels) if labels is not None else _traffic.posted_labels(capture_path, model)
    if source is not None and not pairs.empty:
        pairs["label"] = _traffic.attach_labels(pairs, source, label, "the capture")
    else:
        pairs["label"] = None
    classes = {}
    if classifier:
        versions = pd.concat([pairs.version_a, pairs.version_b]).unique()
        classes = {str(v): _traffic.version_classes(capture_path, model, v) for v in versions}
    windows = [
        _window(
            start,
            end,
            *(_inside(f, start, end) for f in (side_a, side_b, pairs)),
            classifier,
            classes,
        )  # fmt: skip
        for start, end in _windows(frame.ts, window_s)
    ]
    production = sorted({str(v) for v in side_a.variant.dropna()})
    task = "classification" if classifier else "regression"
    metric = "accuracy" if classifier else "rmse"
    return ShadowReport(model, task, name, production, metric, source, windows)


def _shadow_variant(shadows: pd.DataFrame, wanted: str | None, model: str) -> str:
    names = sorted({str(v) for v in shadows.variant.dropna()})
    if not names:
        raise NotFoundError(
            f"no shadow answers of {model} in this window; give its endpoint a shadow variant "
            "and capture, or widen since/until"
        )
    if wanted is None and len(names) > 1:
        raise SpecError(f"{model} has shadow variants {names}; pass shadow= one of them")
    if wanted is not None and wanted not in names:
        raise SpecError(f"shadow={wanted!r} answered nothing here; shadow variants: {names}")
    return wanted or names[0]


def _pairs(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Rows both sides answered 200, one per request id and row, suffixed _a and _b."""
    cols = ["request_id", "row", "ts", "version", "prediction"]
    cols += ["probabilities"] if "probabilities" in a else []
    ok_a = a.loc[a.status == 200, cols].drop_duplicates(["request_id", "row"])
    ok_b = b.loc[b.status == 200, [c for c in cols if c != "ts"]]
    pairs = ok_a.merge(ok_b.drop_duplicates(["request_id", "row"]), on=["request_id", "row"],
                       suffixes=("_a", "_b"))  # fmt: skip
    return pairs.reset_index(drop=True)


def _windows(ts: pd.Series, window_s: float | None) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    if ts.empty:
        return []
    first, last = ts.min(), ts.max()
    if window_s is None:
        return [(first, last + pd.Timedelta(microseconds=1))]
    step = pd.Timedelta(seconds=window_s)
    start = pd.Timestamp(0, tz="UTC") + ((first - pd.Timestamp(0, tz="UTC")) // step) * step
    out = []
    while start <= last:
        out.append((start, start + step))
        start += step
    return out


def _inside(rows: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    return rows[(rows.ts >= start) & (rows.ts < end)]


def _side(rows: pd.DataFrame) -> SideStats:
    per_request = rows.drop_duplicates("request_id")
    if per_request.empty:
        return SideStats(0, float("nan"), float("nan"), float("nan"))
    latency = per_request.latency_ms.to_numpy(dtype=float)
    return SideStats(
        len(per_request),
        float(np.percentile(latency, 50)),
        float(np.percentile(latency, 99)),
        float((per_request.status != 200).mean()),
    )


def _window(start, end, a, b, pairs, classifier: bool, classes) -> ShadowWindow:
    flip, delta, score_a, score_b = None, np.array([]), np.array([]), np.array([])
    if len(pairs) and classifier:
        pred_a, pred_b = _traffic.as_text(pairs.prediction_a), _traffic.as_text(pairs.prediction_b)
        flip = float((pred_a != pred_b).mean())
        order = list(classes[str(pairs.version_a.iloc[0])])
        order += sorted({c for n in classes.values() for c in n} - set(order))
        pa = _traffic.probability_matrix(_side_rows(pairs, "a"), classes, order)
        pb = _traffic.probability_matrix(_side_rows(pairs, "b"), classes, order)
        delta = np.abs(pa - pb).max(axis=1)
        score_a, score_b = (pa[:, 1], pb[:, 1]) if len(order) == 2 else (pa.max(1), pb.max(1))
    elif len(pairs):
        score_a = pairs.prediction_a.to_numpy(dtype=float)
        score_b = pairs.prediction_b.to_numpy(dtype=float)
        delta = np.abs(score_a - score_b)
    labelled = pairs[pairs.label.notna()] if len(pairs) else pairs
    metric_a = metric_b = test = None
    if len(labelled) and classifier:
        truth = _traffic.as_text(labelled.label)
        right_a = (truth == _traffic.as_text(labelled.prediction_a)).to_numpy()
        right_b = (truth == _traffic.as_text(labelled.prediction_b)).to_numpy()
        metric_a, metric_b = float(right_a.mean()), float(right_b.mean())
        test = mcnemar(right_a, right_b)
    elif len(labelled):
        truth = pd.to_numeric(labelled.label, errors="coerce").to_numpy(dtype=float)
        metric_a = float(np.sqrt(np.nanmean((labelled.prediction_a.astype(float) - truth) ** 2)))
        metric_b = float(np.sqrt(np.nanmean((labelled.prediction_b.astype(float) - truth) ** 2)))
    return ShadowWindow(
        start.isoformat(),
        end.isoformat(),
        _side(a),
        _side(b),
        len(pairs),
        flip,
        float(delta.mean()) if len(delta) else float("nan"),
        float(np.percentile(delta, 95)) if len(delta) else float("nan"),
        ks_test(score_a, score_b),
        len(labelled),
        metric_a,
        metric_b,
        test,
    )


def _side_rows(pairs: pd.DataFrame, side: str) -> pd.DataFrame:
    return pd.DataFrame(
        {"version": pairs[f"version_{side}"], "probabilities": pairs[f"probabilities_{side}"]}
    )


def _num(v: float | None) -> str:
    return "" if v is None else f"{v:.4f}"


def _plain(v):
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v
