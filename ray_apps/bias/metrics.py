"""Bias metrics of one facet against the rest, with SageMaker Clarify's formulas and signs.

Clarify compares a facet *d* (here: the rows of one group of the sensitive column) with the
rest *a* (all other rows), one group at a time. With n the rows, q the share of positive
labels, q̂ the share of positive predictions, and TPR/TNR/FPR/FNR from each side's confusion
counts:

    CI   = (na − nd) / (na + nd)       class imbalance                 (pre-training)
    DPL  = qa − qd                     difference in proportions of labels   (pre-training)
    DI   = q̂d / q̂a                     disparate impact                (post-training)
    DPPL = q̂a − q̂d                     difference in positive proportions in predicted labels
    AD   = ACCa − ACCd                 accuracy difference
    RD   = TPRa − TPRd                 recall difference
    SD   = TNRd − TNRa                 specificity difference
    FPRD = FPRd − FPRa                 false-positive-rate difference   (not Clarify's: = −SD)
    FNRD = FNRd − FNRa                 false-negative-rate difference   (not Clarify's: = RD)

A positive CI, DPL, DPPL, AD or RD, or a DI below 1, is a bias against the facet (in Clarify's
reading, the positive label is the favourable outcome). Where Clarify answers 0 for 0/0 and a
large number for x/0, a metric here is ``None`` with the reason (a facet with no positive
labels has no recall): a number there would read as "no bias" or "huge bias" in a table.
Label-based metrics use the rows that have a label; CI, DI and DPPL use all rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PRE_TRAINING = ("CI", "DPL")
POST_TRAINING = ("DI", "DPPL", "AD", "RD", "SD", "FPRD", "FNRD")
METRICS = PRE_TRAINING + POST_TRAINING


@dataclass(frozen=True)
class SideCounts:
    """Row counts of one side (the facet, or the rest)."""

    rows: int
    predicted_positive: int
    labelled: int  # rows with a label: the confusion counts below are over these
    labelled_positive: int
    tp: int
    fp: int
    fn: int
    tn: int


@dataclass(frozen=True)
class FacetBias:
    """The metrics of one facet value against the rest; ``undefined`` says why one is None."""

    facet: str
    counts: SideCounts  # the facet d
    rest: SideCounts  # the rest a
    metrics: dict[str, float | None] = field(default_factory=dict)
    undefined: dict[str, str] = field(default_factory=dict)


def side_counts(pred: np.ndarray, label: np.ndarray | None) -> SideCounts:
    """Counts of one side: ``pred`` is True where the prediction is the positive label;
    ``label`` is 1.0 / 0.0 for positive / negative labels and NaN where there is none."""
    pred = np.asarray(pred, dtype=bool)
    y = np.full(len(pred), np.nan) if label is None else np.asarray(label, dtype=float)
    has = ~np.isnan(y)
    pos, neg = has & (y == 1.0), has & (y == 0.0)
    return SideCounts(
        rows=len(pred),
        predicted_positive=int(pred.sum()),
        labelled=int(has.sum()),
        labelled_positive=int(pos.sum()),
        tp=int((pos & pred).sum()),
        fp=int((neg & pred).sum()),
        fn=int((pos & ~pred).sum()),
        tn=int((neg & ~pred).sum()),
    )


def facet_bias(
    facet: str, in_facet: np.ndarray, pred: np.ndarray, label: np.ndarray | None
) -> FacetBias:
    """Clarify's metrics of the rows ``in_facet`` (d) against the others (a)."""
    in_facet = np.asarray(in_facet, dtype=bool)
    pred = np.asarray(pred, dtype=bool)
    y = None if label is None else np.asarray(label, dtype=float)
    d = side_counts(pred[in_facet], None if y is None else y[in_facet])
    a = side_counts(pred[~in_facet], None if y is None else y[~in_facet])
    values, why = _metrics(facet, d, a, has_labels=y is not None)
    return FacetBias(facet, d, a, values, why)


def _ratio(num: int | float, den: int | float) -> float | None:
    return None if den == 0 else num / den


def _metrics(
    facet: str, d: SideCounts, a: SideCounts, *, has_labels: bool
) -> tuple[dict[str, float | None], dict[str, str]]:
    values: dict[str, float | None] = dict.fromkeys(METRICS)
    why: dict[str, str] = {}
    if d.rows == 0 or a.rows == 0:
        side = f"group {facet!r}" if d.rows == 0 else f"the rest (all groups but {facet!r})"
        return values, dict.fromkeys(METRICS, f"{side} has no rows: nothing to compare")
    values["CI"] = (a.rows - d.rows) / (a.rows + d.rows)
    qd_hat, qa_hat = d.predicted_positive / d.rows, a.predicted_positive / a.rows
    values["DPPL"] = qa_hat - qd_hat
    values["DI"] = _ratio(qd_hat, qa_hat)
    if values["DI"] is None:
        why["DI"] = "the rest has no positive predictions (DI = q̂d / q̂a with q̂a = 0)"
    labelled = [m for m in METRICS if m not in ("CI", "DI", "DPPL")]
    if not has_labels or d.labelled == 0 or a.labelled == 0:
        reason = (
            "no labels given"
            if not has_labels
            else f"{'group ' + repr(facet) if d.labelled == 0 else 'the rest'} has no labelled rows"
        )
        why.update(dict.fromkeys(labelled, reason))
        return values, why
    values["DPL"] = a.labelled_positive / a.labelled - d.labelled_positive / d.labelled
    acc = lambda s: (s.tp + s.tn) / s.labelled  # noqa: E731
    values["AD"] = acc(a) - acc(d)
    tpr = {s: _ratio(c.tp, c.tp + c.fn) for s, c in (("d", d), ("a", a))}
    tnr = {s: _ratio(c.tn, c.tn + c.fp) for s, c in (("d", d), ("a", a))}
    if None in tpr.values():
        side = f"group {facet!r}" if tpr["d"] is None else "the rest"
        reason = f"{side} has no rows with a positive label: its recall (TPR) is undefined"
        why.update(dict.fromkeys(("RD", "FNRD"), reason))
    else:
        values["RD"] = tpr["a"] - tpr["d"]
        values["FNRD"] = (1 - tpr["d"]) - (1 - tpr["a"])
    if None in tnr.values():
        side = f"group {facet!r}" if tnr["d"] is None else "the rest"
        reason = f"{side} has no rows with a negative label: its specificity (TNR) is undefined"
        why.update(dict.fromkeys(("SD", "FPRD"), reason))
    else:
        values["SD"] = tnr["d"] - tnr["a"]
        values["FPRD"] = (1 - tnr["d"]) - (1 - tnr["a"])
    return values, why
