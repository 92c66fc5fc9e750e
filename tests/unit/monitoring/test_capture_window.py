"""A window of captured traffic of a registered version: the reference is that version's
baseline, fetched from the registry with its checksum; failed requests are not judged."""

from datetime import UTC, datetime, timedelta

from _monitor_data import SHIFTED, artifact_and_window, capture, shifted

from ray_apps import load_model, registry
from ray_apps.monitoring import run_monitor
from ray_apps.monitoring.alerts import ExitCode

START = datetime(2026, 11, 24, 10, tzinfo=UTC)


def test_a_capture_window_of_a_registered_version(tmp_path):
    art, held_out, std = artifact_and_window(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    registry.register(art, "cancer", tracking_uri=uri)  # Pending: watching needs no approval
    model, root = load_model(art), tmp_path / "capture"
    for i in range(0, 160, 20):  # 8 requests of 20 rows, 5 minutes apart, from 10:00
        capture(
            root, model, held_out.iloc[i : i + 20], START + timedelta(minutes=5 * i // 20), f"r{i}"
        )
    capture(root, model, held_out.head(1), START + timedelta(minutes=1), "bad", status=400)
    late = shifted(held_out, std, 3.0).head(40)  # 11:10: after the window
    capture(root, model, late, START + timedelta(minutes=70), "late")

    spec = {
        "model": "cancer:1",
        "tracking_uri": uri,
        "current": {
            "capture": str(root),
            "since": "2026-11-24T10:00Z",
            "until": "2026-11-24T11:00Z",
        },
        "output": str(tmp_path / "reports"),
        "html": False,
    }
    result = run_monitor(spec, now=START + timedelta(hours=2))
    s = result.summary
    assert (s.rows, s.failed_rows, s.prediction_source) == (160, 1, "captured")
    assert result.verdict.status == "ok" and result.exit_code == ExitCode.OK, result.line
    assert result.report_dir.endswith(
        "reports/model=cancer/version=1/window=20261124T100000Z--20261124T110000Z"
    )
    assert s.prediction is not None and s.prediction.method in ("z", "chi2_contingency")

    spec["current"]["until"] = "2026-11-24T12:00Z"  # now the shifted request is in
    moved = run_monitor(spec, now=START + timedelta(hours=2))
    assert moved.verdict.status == "violation"
    assert moved.summary.drifted_columns == SHIFTED
