"""Runs, endpoints, monitors and pipelines pages, each read from what the jobs wrote."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from _console import ENV, MODEL, log_in
from _endpoint_traffic import EndpointTraffic, serving
from starlette.testclient import TestClient

from console import create_app
from ray_apps import registry

SVG = "{http://www.w3.org/2000/svg}"


def _svgs(html: str) -> list[ET.Element]:
    out, rest = [], html
    while "<svg" in rest:
        start = rest.index("<svg")
        end = rest.index("</svg>", start) + len("</svg>")
        out.append(ET.fromstring(rest[start:end]))
        rest = rest[end:]
    return out


def test_runs_list_the_training_run_and_show_its_curves_and_verdicts(world, console_client):
    client = console_client("viewer")
    runs = client.get("/runs").text
    assert f'data-run="{world.run_name}"' in runs and ">finished<" in runs

    page = client.get(f"/runs/{world.run_name}").text
    loss, accuracy, rules = _svgs(page)
    drawn = {p.get("data-series") for p in loss.iter(f"{SVG}polyline")}
    assert drawn == {"train_loss", "val_loss"}
    assert {p.get("data-series") for p in accuracy.iter(f"{SVG}polyline")} == {"val_accuracy"}
    assert {ln.get("data-rule") for ln in rules.iter(f"{SVG}line") if ln.get("data-rule")} == {
        "loss_not_decreasing",
        "nonfinite",
    }
    assert 'data-rule="nonfinite"><td>nonfinite</td><td class="ok">ok</td>' in page

    report = client.get(f"/runs/{world.run_name}/health_report")
    assert report.status_code == 200 and "<svg" in report.text
    assert report.headers["content-security-policy"].startswith("sandbox")
    assert client.get("/runs/no-such-run").status_code == 404
    dots = client.get("/runs/%2E%2E")  # ".." as a run name reaches the route, and is refused
    assert dots.status_code == 404 and "is one name, not a path" in dots.text


def test_monitors_list_judged_windows_with_their_alert_and_report(console_client):
    client = console_client("viewer")
    page = client.get("/monitors").text
    assert re.search(f'data-model="{MODEL}" data-window="[^"]+" data-status="violation"', page)
    assert "mean radius (50 %)" in page
    link = page[page.index('class="report" href="/monitors/') + 21 :].split('"')[0]
    report = client.get(link)
    assert report.status_code == 200 and "evidently report" in report.text
    assert "sandbox" in report.headers["content-security-policy"]
    sneaky = client.get("/monitors/cancer/1/%2E%2E/report")
    assert sneaky.status_code == 404 and "is one name, not a path" in sneaky.text


def test_pipelines_list_runs_and_draw_one_runs_dag(world, console_client):
    client = console_client("viewer")
    page = client.get("/pipelines").text
    assert f'data-run="{world.pipeline_run}"' in page and "stop: skipped" in page
    dag = client.get(f"/pipelines/{world.pipeline_run}").text
    (svg,) = _svgs(dag)
    steps = {
        g.get("data-step"): g.get("data-state") for g in svg.iter(f"{SVG}g") if g.get("data-step")
    }
    assert steps == {"gate": "succeeded", "stop": "skipped"}


def test_endpoints_show_live_counts_error_rate_latency_and_rate(world, registry_uri):
    registry.record_endpoint("cancer-ep", [(MODEL, 1)], tracking_uri=registry_uri)  # a deploy
    traffic = EndpointTraffic()
    for ms in (3, 4, 8):
        traffic.call("cancer-ep", MODEL, "1", ms)
    traffic.call("cancer-ep", MODEL, "1", 40, code=500, replica="r2")
    now = [1_000_000.0]
    with serving(traffic) as url:
        settings = world.settings(tracking_uri=registry_uri, metrics_urls=(url,))
        client = TestClient(create_app(settings, environ=ENV, clock=lambda: now[0]))
        log_in(client, ENV["RAYMAKER_VIEWER_KEYS"])
        first = _row(client.get("/endpoints").text)
        assert first["requests"] == "4" and first["errors"] == "1"
        assert first["error-rate"] == "25.0 %" and first["rate"] == "–"
        assert 2 <= float(first["p50"]) <= 5 and 20 <= float(first["p99"]) <= 50
        assert 'href="/models/cancer/versions/1">cancer:1</a>' in client.get("/endpoints").text

        for _ in range(6):
            traffic.call("cancer-ep", MODEL, "1", 2)
        now[0] += 4
        second = _row(client.get("/endpoints").text)
        assert second["requests"] == "10" and second["errors"] == "1"
        assert float(second["rate"]) == 1.5  # 6 requests in 4 s


def test_an_unreachable_metrics_source_is_said_not_raised(world, registry_uri):
    settings = world.settings(
        tracking_uri=registry_uri, metrics_urls=("http://127.0.0.1:9/metrics",), scrape_timeout_s=1
    )
    client = TestClient(create_app(settings, environ=ENV))
    log_in(client, ENV["RAYMAKER_ADMIN_KEYS"])
    page = client.get("/endpoints")
    assert (
        page.status_code == 200 and "metrics not read from http://127.0.0.1:9/metrics" in page.text
    )


def _row(html: str) -> dict[str, str]:
    start = html.index('<tr data-model="cancer" data-variant="-">')
    row = html[start : html.index("</tr>", start)]
    cells = {}
    for cls in ("requests", "rate", "errors", "error-rate", "p50", "p99"):
        at = row.index(f'<td class="{cls}">') + len(f'<td class="{cls}">')
        cells[cls] = row[at : row.index("</td>", at)]
    return cells


def test_a_tuning_job_shows_its_leaderboard(world, registry_uri, tmp_path):
    """A tuning job's folder as ``tuning.runner`` leaves it: its saved job and leaderboard."""
    from ray_apps.training.run_log import RunLog
    from tuning import leaderboard

    run_dir = tmp_path / "runs" / "tune-20260101-000000-abcdef"
    RunLog(str(run_dir)).save_job({"tune_spec": {"name": "tune", "train": {}}})
    rows = [
        {"trial": 2, "source": "this job", "objective": 0.91, "epochs": 3, "stopped_early": False,
         "stopped_by_rule": None, "config": {"lr": 0.01}},
        {"trial": 1, "source": "this job", "objective": 0.85, "epochs": 1, "stopped_early": True,
         "stopped_by_rule": None, "config": {"lr": 0.5}},
    ]  # fmt: skip
    leaderboard.save(rows, str(run_dir))
    settings = world.settings(tracking_uri=registry_uri, storage=str(tmp_path / "runs"))
    client = TestClient(create_app(settings, environ=ENV))
    log_in(client, ENV["RAYMAKER_VIEWER_KEYS"])
    assert 'data-run="tune-20260101-000000-abcdef"' in client.get("/runs").text
    page = client.get("/runs/tune-20260101-000000-abcdef").text
    board = page[page.index('<table id="leaderboard">') :]
    assert board.index("<td>0.91</td>") < board.index("<td>0.85</td>")  # as saved: best first
    assert "<th>lr</th>" in board and "<td>yes</td>" in board
