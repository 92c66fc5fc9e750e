"""``ab_readout``: which endpoint variant is better on captured traffic, once labels arrive.

    from ray_apps.experiments import ab_readout

    r = ab_readout("raymaker_data/capture", "cancer", metric="accuracy",
                   weights={"stable": 90, "canary": 10}, since="2026-11-23T10:00")
    r.comparisons[0].decision        # "B better" (the candidate) | "A better" | "no difference yet"
    print(r.render()); r.to_dict()

Rows: the captured answers callers got (status 200, not shadow), grouped by ``variant``, with
the labels (posted to the endpoint, or ``labels=`` any CSV/Parquet with ``request_id``, ``row``
and the label column) joined by request id and row. Each labelled row gets a value, and an
arm's metric is the mean of its rows' values, so the confidence sequence of
``ray_apps.stats.difference_cs`` (always valid: safe to read after every batch of labels)
applies to the difference of two arms:

    accuracy   1 if the prediction is the label, else 0                    higher is better
    log_loss   -log p(label) from the row's probabilities (clipped 1e-15)   lower is better
    rmse       (prediction - label)²: the arm reports sqrt(mean), the
               interval and decision are on the mean squared error          lower is better
    <column>   the labels file's numeric column of that name (a business
               outcome such as revenue per request)                         higher_is_better=

Labels that are no class of the answering version are counted (``unknown_labels``), not scored.
With more than two variants each candidate is compared with the control (``control=``, else
the first key of ``weights``, else the variant with the most requests: the stable one of a
canary), each at alpha / (number of comparisons) (Bonferroni), so the chance of any false
winner stays under ``alpha``. Requests per arm are checked against ``weights`` for a sample
ratio mismatch (``ray_apps.stats.sample_ratio_mismatch``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ray_apps.capture.reader import read_capture
from ray_apps.errors import DataError, NotFoundError, SpecError
from ray_apps.experiments import _traffic
from ray_apps.stats import (
    Decision,
    Interval,
    SampleRatioResult,
    decide,
    difference_cs,
    sample_ratio_mismatch,
)

# Built-in metrics and whether higher is better; any other name is a column of the labels.
METRICS = {"accuracy": True, "log_loss": False, "rmse": False}
_EPS = 1e-15


@dataclass(frozen=True)
class ArmReadout:
    variant: str
    requests: int  # captured requests answered (status 200, not shadow)
    rows: int  # their rows
    labelled: int  # rows with a label
    coverage: float  # labelled / rows
    scored: int  # labelled rows scored (labelled minus unknown labels)
    unknown_labels: int  # labels that are no class of the answering version
    value: float  # the metric over scored rows (nan when none)


@dataclass(frozen=True)
class Comparison:
    control: str  # arm A
    candidate: str  # arm B; the interval is of value(B) - value(A) (MSE for rmse)
    interval: Interval
    decision: Decision
    winner: str | None  # the better variant's name, once decided


@dataclass(frozen=True)
class ABReadout:
    model: str
    metric: str
    higher_is_better: bool
    alpha: float
    since: str | None
    until: str | None
    arms: list[ArmReadout]
    comparisons: list[Comparison]
    sample_ratio: SampleRatioResult | None  # None when no weights were given

    def to_dict(self) -> dict:
        """Plain JSON types; infinite interval ends are None."""
        out = asdict(self)
        for c in out["comparisons"]:
            c["interval"] = {k: _finite(v) for k, v in c["interval"].items()}
        for a in out["arms"]:
            a["value"] = _finite(a["value"])
        return out

    def render(self) -> str:
        """A few lines for the CLI."""
        better = "higher" if self.higher_is_better else "lower"
        lines = [
            f"A/B readout of {self.model}: {self.metric} ({better} is better), "
            f"window [{self.since or '-'}, {self.until or '-'})",
            f"{'variant':<16}{'requests':>10}{'rows':>8}{'labelled':>10}{'coverage':>10}"
            f"{self.metric:>12}",
        ]
        for a in self.arms:
            lines.append(
                f"{a.variant:<16}{a.requests:>10}{a.rows:>8}{a.labelled:>10}{a.coverage:>10.1%}"
                f"{a.value:>12.4f}"
            )
        tested = "MSE" if self.metric == "rmse" else self.metric
        for c in self.comparisons:
            i = c.interval
            lines.append(
                f"{c.candidate} - {c.control} ({tested}): {i.estimate:+.4f} "
                f"[{i.lower:+.4f}, {i.upper:+.4f}] at alpha {i.alpha:g}: {c.decision}"
                + (f" ({c.winner})" if c.winner else "")
            )
        if self.sample_ratio is not None:
            s = self.sample_ratio
            verdict = "MISMATCH: arms did not get their weights' shares" if s.mismatch else "ok"
            lines.append(f"sample ratio: p = {s.p_value:.3g} vs weights: {verdict}")
        return "\n".join(lines)


def ab_readout(
    capture_path: str | Path,
    model: str,
    *,
    labels: str | Path | None = None,
    label: str = "label",
    metric: str = "accuracy",
    higher_is_better: bool | None = None,
    control: str | None = None,
    weights: Mapping[str, float] | None = None,
    alpha: float = 0.05,
    tuning_n: float = 5000,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
) -> ABReadout:
    """Compare the variants of ``model``'s endpoint on ``metric`` over ``[since, until)``."""
    better = _direction(metric, higher_is_better)
    frame = read_capture(capture_path, model, since=since, until=until)
    rows = frame[(frame.status == 200) & ~frame.shadow.astype(bool)]
    if rows.empty:
        raise NotFoundError(
            f"no captured answers of {model} in [{since}, {until}); widen since/until, or "
            "check that the endpoint captures (capture percent > 0)"
        )
    rows = rows[rows.variant.notna()]
    arms = _arms(rows, control, weights, model)
    source = str(labels) if labels is not None else _traffic.posted_labels(capture_path, model)
    if source is None:
        raise NotFoundError(
            f"no labels posted for {model} under {capture_path}; POST them to "
            f"/v1/models/{model}/labels, or pass labels= a CSV/Parquet with request_id, row "
            f"and {label!r}"
        )
    column = label if metric in METRICS else metric
    try:
        y = _traffic.attach_labels(rows, source, column, "the capture")
    except DataError as err:
        if metric in METRICS:
            raise
        raise SpecError(
            f"metric={metric!r} is none of {sorted(METRICS)} nor a column of the labels: {err}"
        ) from None
    if not y.notna().any():
        raise DataError(
            f"none of the {len(rows)} captured answers of {model} has a label in {source} yet; "
            "post labels for their request ids (x-request-id) and rows, then read again"
        )
    values, scored = _values(rows, y, metric, capture_path, model)
    readouts = [_arm(rows, y, values, scored, name, metric) for name in arms]
    cs_alpha = alpha / (len(arms) - 1)
    comparisons = []
    for name in arms[1:]:
        a = values[scored & (rows.variant == arms[0]).to_numpy()]
        b = values[scored & (rows.variant == name).to_numpy()]
        interval = difference_cs(a, b, cs_alpha, tuning_n=tuning_n)
        decision = decide(interval, higher_is_better=better)
        winner = {"B better": name, "A better": arms[0]}.get(decision)
        comparisons.append(Comparison(arms[0], name, interval, decision, winner))
    ratio = None
    if weights is not None:
        counts = rows.groupby("variant").request_id.nunique().to_dict()
        ratio = sample_ratio_mismatch(counts, weights)
    return ABReadout(
        model, metric, better, alpha, _iso(since), _iso(until), readouts, comparisons, ratio
    )


def _direction(metric: str, higher_is_better: bool | None) -> bool:
    if metric not in METRICS:
        return True if higher_is_better is None else higher_is_better
    if higher_is_better is not None and higher_is_better != METRICS[metric]:
        raise SpecError(
            f"higher_is_better={higher_is_better} contradicts metric={metric!r} "
            f"({'higher' if METRICS[metric] else 'lower'} is better); leave it unset"
        )
    return METRICS[metric]


def _arms(
    rows: pd.DataFrame, control: str | None, weights: Mapping[str, float] | None, model: str
) -> list[str]:
    """The variants, the control first."""
    found = rows.groupby("variant").request_id.nunique().sort_values(ascending=False, kind="stable")
    names = list(found.index)
    if len(names) < 2:
        raise DataError(
            f"an A/B readout compares 2 or more variants; the answers of {model} in this window "
            f"came from {names}; give the endpoint two variants with weights, or widen the window"
        )
    if control is None and weights:
        control = next(iter(weights))
    control = control if control is not None else names[0]
    if control not in names:
        raise SpecError(f"control={control!r} answered no request here; variants: {names}")
    return [control, *sorted(n for n in names if n != control)]


def _values(
    rows: pd.DataFrame, y: pd.Series, metric: str, capture_path, model: str
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's value and whether it is scored (labelled, and a known class)."""
    has = y.notna().to_numpy()
    if metric not in METRICS:
        values = pd.to_numeric(y, errors="coerce").to_numpy(dtype=float)
        if np.isnan(values[has]).any():
            raise DataError(f"labels column {metric!r} must be numeric to be a metric")
        return np.nan_to_num(values), has
    classifier = _traffic.is_classifier(rows)
    if metric == "rmse":
        if classifier:
            raise SpecError(f"metric='rmse' needs a regressor; {model} is a classifier: accuracy")
        truth = pd.to_numeric(y, errors="coerce").to_numpy(dtype=float)
        pred = pd.to_numeric(rows.prediction, errors="coerce").to_numpy(dtype=float)
        return np.nan_to_num((pred - truth) ** 2), has & ~np.isnan(truth)
    if not classifier:
        raise SpecError(f"metric={metric!r} needs a classifier; {model} is a regressor: rmse")
    classes = {
        str(v): _traffic.version_classes(capture_path, model, v) for v in rows.version.unique()
    }
    truth = _traffic.as_text(y)
    known = np.array(
        [t is not None and t in classes[str(v)] for t, v in zip(truth, rows.version, strict=True)]
    )
    if metric == "accuracy":
        return (truth == _traffic.as_text(rows.prediction)).to_numpy(dtype=float), known
    order = sorted({c for names in classes.values() for c in names})
    probs = _traffic.probability_matrix(rows, classes, order)
    at = np.array([order.index(t) if k else 0 for t, k in zip(truth, known, strict=True)])
    p_true = probs[np.arange(len(rows)), at]
    return -np.log(np.clip(p_true, _EPS, 1.0)), known


def _arm(rows, y, values, scored, name: str, metric: str) -> ArmReadout:
    mine = (rows.variant == name).to_numpy()
    n_rows, labelled = int(mine.sum()), int((y.notna().to_numpy() & mine).sum())
    v = values[scored & mine]
    value = float(v.mean()) if len(v) else float("nan")
    if metric == "rmse" and len(v):
        value = float(np.sqrt(value))
    return ArmReadout(
        name,
        int(rows.request_id[mine].nunique()),
        n_rows,
        labelled,
        labelled / n_rows,
        len(v),
        labelled - len(v),
        value,
    )


def _finite(v):
    return (
        float(v)
        if isinstance(v, float) and np.isfinite(v)
        else (None if isinstance(v, float) else v)
    )


def _iso(t: datetime | str | None) -> str | None:
    return None if t is None else (t.isoformat() if isinstance(t, datetime) else str(t))
