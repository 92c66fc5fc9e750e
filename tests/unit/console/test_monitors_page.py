"""The monitors page from real monitor runs (``run_monitor`` in this process, no Ray): three
hourly windows of captured traffic of one version, the first labelled and as trained, the
next two with two columns shifted; the last with Evidently's HTML report, framed in its window's
page and served sandboxed, never from outside the reports root."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from _console import ENV, log_in
from _monitor_data import SHIFTED, artifact_and_window, capture, shifted
from starlette.testclient import TestClient

from console import ConsoleSettings, create_app
from ray_apps import load_model
from ray_apps.capture import write_labels
from ray_apps.monitoring import run_monitor

T0 = datetime(2026, 11, 24, 10, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def monitored(tmp_path_factory) -> tuple[Path, list]:
    """The reports root and the three runs' results, oldest first."""
    folder = tmp_path_factory.mktemp("monitored")
    art, held_out, std = artifact_and_window(folder, labels=True)
    model, root = load_model(art), folder / "capture"
    features = held_out.drop(columns="target")
    for hour, k in enumerate((0, 3, 6)):  # training's distribution, then shifted by k std
        frame = shifted(features, std, k) if k else features
        capture(root, model, frame, T0 + timedelta(hours=hour, minutes=5), f"req-{hour}")
    ids = ["req-0"] * len(held_out)  # the first hour's outcomes arrived, posted to the endpoint
    write_labels(root, "cancer", ids, list(range(len(held_out))), held_out["target"])
    results = []
    for hour in range(3):
        since = T0 + timedelta(hours=hour)
        spec = {
            "model": "cancer:1",
            "artifact": str(art),
            "current": {
                "capture": str(root),
                "since": since.isoformat(),
                "until": (since + timedelta(hours=1)).isoformat(),
            },
            "output": str(folder / "monitor"),
            "html": hour == 2,  # Evidently's report costs seconds: the last window has one
        }
        results.append(run_monitor(spec, now=since + timedelta(hours=1, minutes=1)))
    return folder / "monitor", results


@pytest.fixture()
def client(monitored) -> TestClient:
    root, _ = monitored
    settings = ConsoleSettings(monitor_root=str(root), tracking_uri="sqlite:///unused.db")
    c = TestClient(create_app(settings, environ=ENV), follow_redirects=False)
    assert log_in(c, ENV["RAYMAKER_VIEWER_KEYS"]).status_code == 303
    return c


def test_each_window_with_its_alert_drift_coverage_and_model_quality(monitored, client):
    _, results = monitored
    page = client.get("/monitors").text
    assert 'data-monitor="cancer:1"' in page
    assert '<span class="alert violation">violation</span>' in page  # the latest window's
    rows = re.findall(r'<tr data-model="cancer" data-window="([^"]+)" data-status="(\w+)">', page)
    assert rows == [(r.summary.window.key, r.verdict.status) for r in reversed(results)]
    assert [s for _, s in rows] == ["violation", "violation", "ok"]

    first, shifted_one = results[0].summary, results[1].summary
    assert first.drifted_columns == [] and sorted(shifted_one.drifted_columns) == SHIFTED
    row = _row(page, first.window.key)
    assert row["drifted"] == "none (0 %)"
    assert row["coverage"] == "100 % (170 of 170)"
    mq = first.model_quality
    assert row["quality"] == (
        f"accuracy {mq.metrics['accuracy']:.3g} (trained {mq.baseline['accuracy']:.3g}), "
        f"f1 {mq.metrics['f1']:.3g} (trained {mq.baseline['f1']:.3g})"
    )
    later = _row(page, shifted_one.window.key)
    assert later["coverage"] == "0 % (0 of 170)" and later["quality"] == "–"
    assert later["drifted"].startswith(", ".join(shifted_one.drifted_columns))


def test_drifted_columns_over_time_are_charts(monitored, client):
    _, results = monitored
    share, columns = _svgs(client.get("/monitors").text)
    (line,) = share.iter(f"{SVG}polyline")
    assert line.get("data-series") == "drifted share %"
    assert len(line.get("points").split()) == 3  # one point a window
    dots = {}
    for c in columns.iter(f"{SVG}circle"):
        dots.setdefault(c.get("data-row"), []).append((float(c.get("data-x")), c.get("data-on")))
    assert sorted(dots) == SHIFTED  # a row per column that ever drifted
    for column in SHIFTED:  # hours since the first window: drifted in the 2nd and 3rd
        assert dots[column] == [(0.0, "false"), (1.0, "true"), (2.0, "true")]
    texts = "".join(columns.itertext())
    assert "window start, hours since 2026-11-24 10:00 UTC" in texts


def test_a_window_page_frames_its_evidently_report_sandboxed(monitored, client):
    _, results = monitored
    key = results[2].summary.window.key
    base = f"/monitors/cancer/1/{key}"
    page = client.get(base)
    assert page.status_code == 200
    assert page.headers["content-security-policy"].endswith("frame-src 'self'")
    assert f'<iframe class="report" id="report" src="{base}/report" sandbox="allow-scripts"' in (
        page.text
    )
    drifted = set(re.findall(r'data-column="([^"]+)" data-drifted="true"', page.text))
    assert drifted == set(SHIFTED)
    assert "0 of 170 rows labelled" in page.text

    report = client.get(f"{base}/report")
    written = Path(results[2].report_dir, "report.html").read_bytes()  # Evidently's page
    assert report.status_code == 200 and report.content == written and b"<script" in written
    csp = report.headers["content-security-policy"]
    assert csp.startswith("sandbox allow-scripts;") and csp.endswith("frame-ancestors 'self'")
    assert report.headers["x-frame-options"] == "SAMEORIGIN"

    first = client.get(f"/monitors/cancer/1/{results[0].summary.window.key}")
    assert (
        'id="no-report"' in first.text
        and "frame-src" not in first.headers["content-security-policy"]
    )
    labelled = re.search(
        r'data-metric="accuracy"><td>accuracy</td><td class="value">([^<]+)', first.text
    )
    assert labelled.group(1) == f"{results[0].summary.model_quality.metrics['accuracy']:.4g}"


def test_no_report_is_served_from_outside_the_root(monitored, client, tmp_path):
    root, results = monitored
    key = results[2].summary.window.key
    for path in (
        "/monitors/cancer/1/%2E%2E/report",
        "/monitors/cancer/%2E%2E/x/report",
        f"/monitors/..%2F..%2Fetc/1/{key}/report",
        "/monitors/cancer/1/nothing/report",
    ):
        assert client.get(path).status_code == 404, path
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "report.html").write_text("<html>not a report of this root</html>")
    (root / "model=cancer" / "version=1" / "window=linked").symlink_to(outside)
    try:
        refused = client.get("/monitors/cancer/1/linked/report")
        assert refused.status_code == 404 and "outside" in refused.text
    finally:
        os.unlink(root / "model=cancer" / "version=1" / "window=linked")


def test_a_summary_being_replaced_is_left_out(monitored, client):
    root, results = monitored
    half = root / "model=cancer" / "version=1" / "window=half-written"
    half.mkdir()
    (half / "summary.json").write_text('{"model": "cancer", "verd')
    try:
        page = client.get("/monitors")
        assert page.status_code == 200 and "half-written" not in page.text
        assert page.text.count('data-model="cancer" data-window=') == len(results)
    finally:
        (half / "summary.json").unlink()
        half.rmdir()


def _row(html: str, key: str) -> dict[str, str]:
    start = html.index(f'data-window="{key}"')
    body = html[start : html.index("</tr>", start)]
    found = re.findall(r'<td class="(\w+)">(.*?)</td>', body, re.S)
    return {cls: re.sub(r"<[^>]+>", "", text).strip() for cls, text in found}


def _svgs(html: str) -> list[ET.Element]:
    return [ET.fromstring(m) for m in re.findall(r"<svg.*?</svg>", html, re.S)]
