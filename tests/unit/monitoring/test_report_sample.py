"""A window larger than ``report_rows``: the drift verdicts use every row, Evidently's report (the
HTML page, the workspace run) a seeded sample of ``report_rows`` rows, and the page says so."""

import json
from pathlib import Path

import pandas as pd
from _monitor_data import artifact_and_window, write

from ray_apps.monitoring import run_monitor
from ray_apps.monitoring._evidently import column_drift


def test_the_report_shows_a_sample_and_the_verdicts_use_every_row(tmp_path):
    from evidently.ui.workspace import Workspace

    art, held_out, _ = artifact_and_window(tmp_path)
    window = pd.concat([held_out] * 8, ignore_index=True)  # 1,360 rows
    spec = {
        "model": "cancer:1",
        "artifact": str(art),
        "current": {"dataset": write(window, tmp_path / "day.parquet")},
        "output": str(tmp_path / "reports"),
        "workspace": str(tmp_path / "ws"),
        "report_rows": 1000,
    }
    result = run_monitor(spec)
    summary = result.summary
    assert summary.rows == len(window) == 1360

    # Every column's test ran on all 1,360 rows: the same scores as testing them directly.
    reference = pd.read_parquet(art / "baseline.parquet")
    kinds = {c.column: c.kind for c in summary.columns}
    direct = column_drift(reference, window, kinds, p_value=summary.p_value_threshold, distance=0.1)
    assert [(d.column, d.score) for d in direct] == [(c.column, c.score) for c in summary.columns]

    # The report drew 1,000 rows, and its page and workspace run say so.
    page = (Path(result.report_dir) / "report.html").read_text()
    assert "a seeded sample of 1,000 of the window&#x27;s 1,360 rows" in page
    workspace = Workspace(str(tmp_path / "ws"))
    [project] = workspace.search_project("cancer")
    [run_id] = workspace.list_runs(project.id)
    run = workspace.get_run(project.id, run_id)
    assert run.name.endswith("(sample of 1,000 of 1,360 rows)")
    assert run.tags[-1] == "sample=1000/1360"
    [rows] = [
        r["value"]
        for r in json.loads(run.json())["metric_results"].values()
        if r.get("display_name") == "Row count in dataset"
    ]
    assert rows == 1000
