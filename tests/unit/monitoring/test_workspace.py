"""Each checked window's Evidently report lands in a local Evidently workspace, one project per
model, stamped with the window's end: ``evidently ui --workspace <folder>`` shows the history."""

from datetime import UTC, datetime, timedelta

import pytest
from _monitor_data import artifact_and_window, capture, shifted

from ray_apps import load_model
from ray_apps.errors import SpecError
from ray_apps.monitoring import parse_monitor_spec, run_monitor

T0 = datetime(2026, 11, 24, 10, tzinfo=UTC)


def test_windows_are_added_to_the_workspace_in_order(tmp_path):
    from evidently.ui.workspace import Workspace

    art, held_out, std = artifact_and_window(tmp_path)
    model, root = load_model(art), tmp_path / "capture"
    capture(root, model, held_out.head(60), T0 + timedelta(minutes=5), "a")
    capture(root, model, shifted(held_out.tail(60), std, 3.0), T0 + timedelta(hours=1), "b")
    folder = tmp_path / "evidently"
    statuses = []
    for hour in (0, 1):
        since = T0 + timedelta(hours=hour)
        spec = {
            "model": "cancer:1",
            "artifact": str(art),
            "current": {"capture": str(root), "since": since, "until": since + timedelta(hours=1)},
            "output": str(tmp_path / "reports"),
            "workspace": str(folder),
            "html": hour == 0,
        }
        statuses.append(run_monitor(spec, now=T0 + timedelta(hours=3)).verdict.status)
    assert statuses == ["ok", "violation"]
    assert len(list((tmp_path / "reports").rglob("report.html"))) == 1  # html: only asked once

    workspace = Workspace(str(folder))  # as `evidently ui --workspace` opens it
    [project] = workspace.search_project("cancer")
    runs = [workspace.get_run(project.id, r) for r in workspace.list_runs(project.id)]
    runs.sort(key=lambda r: r.timestamp)
    assert [r.timestamp for r in runs] == [datetime(2026, 11, 24, 11), datetime(2026, 11, 24, 12)]
    assert [r.name for r in runs] == [
        "cancer:1 20261124T100000Z--20261124T110000Z",
        "cancer:1 20261124T110000Z--20261124T120000Z",
    ]
    assert [r.tags for r in runs] == [["version=1", "ok"], ["version=1", "violation"]]


def test_a_workspace_is_a_local_folder():
    with pytest.raises(SpecError, match="workspace: .* is a URI; an Evidently workspace is a"):
        parse_monitor_spec({"model": "cancer:1", "workspace": "s3://b/ws"})
