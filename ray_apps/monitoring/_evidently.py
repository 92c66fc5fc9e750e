"""The one module that talks to Evidently; the rest of raymaker sees ``ColumnDrift`` rows.

Per-column drift uses the test Evidently itself picks for the column's type and the size of the
reference (``evidently.legacy.calculations.stattests.registry.get_stattest`` with no method
named): with a reference of at most 1,000 rows — every artifact's baseline sample — K-S for
numeric columns, chi-square (or a Z-test for two values) for categorical ones; with a larger
reference the Wasserstein (numeric) or Jensen-Shannon (categorical) distance. The first kind
returns a p-value and drifts below ``p_value``; the second returns a distance and drifts above
``distance``. One exception: where Evidently picks its ``chisquare`` — a one-sample test that
takes the reference's shares as exact, so its false-alarm rate grows with the window (95 % at
α = 0.05 for 20,000 rows against 1,000) — the two-sample ``chi2_contingency`` of
``_chi2_contingency`` is used instead, registered with Evidently like its own tests.

The drift numbers are computed here, straight from Evidently's tests, rather than read back
from a ``Report``: a ``Report`` renders all of its plotly figures while it runs (6-8 s for 30
columns on the 2-core development machine, against ~0.05 s for the tests), which only the HTML
needs. ``run_report`` then builds the Report with each column's method and threshold pinned
to the ones used here, so the page (``save_html``) and the workspace history
(``add_to_workspace``, for ``evidently ui``) show the same verdicts as the JSON summary.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

# The tests Evidently may pick whose score is a p-value (drift when below the threshold); the
# others it picks (wasserstein, jensenshannon) score a distance (drift when above).
# "chisquare" stays for summaries written before chi2_contingency replaced it.
_P_VALUE_TESTS = frozenset({"ks", "chisquare", "chi2_contingency", "z"})


@dataclass(frozen=True)
class ColumnDrift:
    """Whether one column drifted between reference and current data, by which test."""

    column: str
    kind: str  # "numeric" | "categorical"
    method: str  # the test's name: ks, chi2_contingency, z, wasserstein, jensenshannon, none
    score: float  # a p-value (ks, chi2_contingency, z) or a distance
    threshold: float
    drifted: bool

    @property
    def is_p_value(self) -> bool:
        return self.method in _P_VALUE_TESTS


def column_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    kinds: dict[str, str],
    *,
    p_value: float,
    distance: float,
) -> list[ColumnDrift]:
    """Drift of each column in ``kinds`` (name → "numeric" | "categorical"), in that order."""
    from evidently.legacy.calculations.stattests.registry import get_stattest
    from evidently.legacy.core import ColumnType

    from ray_apps.monitoring._chi2_contingency import chi2_contingency_stat_test

    out = []
    for name, kind in kinds.items():
        ref, cur = _clean(reference[name]), _clean(current[name])
        if ref.empty or cur.empty:  # nothing to compare: a missing-values check says why
            out.append(ColumnDrift(name, kind, "none", float("nan"), float("nan"), False))
            continue
        column_type = ColumnType.Categorical if kind == "categorical" else ColumnType.Numerical
        test = get_stattest(ref, cur, column_type, None)
        if test.name == "chisquare":  # one-sample: false alarms grow with the window
            test = chi2_contingency_stat_test
        threshold = p_value if test.name in _P_VALUE_TESTS else distance
        result = test(ref, cur, column_type, threshold)
        out.append(
            ColumnDrift(
                name, kind, test.name, float(result.drift_score), threshold, bool(result.drifted)
            )
        )
    return out


def run_report(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    drifts: list[ColumnDrift],
    drift_share: float,
    *,
    name: str,
    timestamp: datetime,
    tags: list[str],
):
    """Evidently's drift and data-summary ``Snapshot`` of the drift columns, stamped with
    ``timestamp`` (the window's end: the workspace's history is ordered by it)."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset, DataSummaryPreset

    import ray_apps.monitoring._chi2_contingency  # noqa: F401  registers chi2_contingency by name

    tested = [d for d in drifts if d.method != "none"]
    columns = [d.column for d in drifts]
    definition = DataDefinition(
        numerical_columns=[d.column for d in drifts if d.kind == "numeric"],
        categorical_columns=[d.column for d in drifts if d.kind == "categorical"],
    )
    report = Report(
        [
            DataDriftPreset(
                columns=[d.column for d in tested],
                drift_share=drift_share,
                per_column_method={d.column: d.method for d in tested},
                per_column_threshold={d.column: d.threshold for d in tested},
            ),
            DataSummaryPreset(columns=columns),
        ]
    )
    return report.run(
        current_data=Dataset.from_pandas(current[columns].copy(), data_definition=definition),
        reference_data=Dataset.from_pandas(reference[columns].copy(), data_definition=definition),
        timestamp=timestamp.astimezone(UTC).replace(tzinfo=None),  # Evidently's are naive UTC
        name=name,
        tags=tags,
    )


def save_html(path: Path, snapshot, note: str | None = None) -> None:
    """The snapshot as one HTML file; ``note``, when given, as a line above Evidently's page
    (what the page cannot tell by itself, e.g. that it shows a sample of the window)."""
    snapshot.save_html(str(path))
    if note is not None:
        page = path.read_text(encoding="utf-8")
        banner = f'<p style="font-family: sans-serif; margin: 1em">{html.escape(note)}</p>'
        path.write_text(page.replace("<body>", "<body>" + banner, 1), encoding="utf-8")


def add_to_workspace(folder: str, project: str, description: str, snapshot) -> str:
    """Add ``snapshot`` to the project named ``project`` (made on first use) of the local
    Evidently workspace ``folder``, so ``evidently ui --workspace <folder>`` shows the
    history; returns the snapshot's id."""
    from evidently.ui.workspace import Workspace

    workspace = Workspace.create(folder)
    found = workspace.search_project(project)
    target = found[0] if found else workspace.create_project(project, description=description)
    return str(workspace.add_run(target.id, snapshot).id)


def _clean(values: pd.Series) -> pd.Series:
    """The present values, as Evidently's own drift calculation drops NaN and infinities."""
    if pd.api.types.is_numeric_dtype(values):
        values = values.astype("float64").replace([-np.inf, np.inf], np.nan)
    return values.dropna().reset_index(drop=True)
