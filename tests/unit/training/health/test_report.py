"""The health report: its charts drawn from the numbers (read back from the SVG), fired rules at
their epochs, NaN and infinity as marked gaps, escaped text, a line per rank — and whole runs in
this process (real torch, the MLflow store of the tests) that write it, log it and name it."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

import ray_apps.training.health
from ray_apps import tracking
from ray_apps.cli import main
from ray_apps.errors import StoppedByRule
from ray_apps.training import run_training
from ray_apps.training.health import render_health_report
from ray_apps.training.run_log import RunLog

SVG = "{http://www.w3.org/2000/svg}"


def _charts(html: str) -> dict[str, ET.Element]:
    """Each chart's ``<svg>`` by its figure's ``data-signal``, parsed as XML (well-formed)."""
    found = re.findall(
        r'<figure class="chart" id="chart-[^"]+" data-signal="([^"]+)">(.*?)</figure>', html, re.S
    )
    return {
        signal: ET.fromstring(re.search(r"<svg.*</svg>", body, re.S).group(0))
        for signal, body in found
    }


def _lines(svg: ET.Element, series: str) -> list[list[tuple[float, float]]]:
    """The (x, y) pixels of each polyline of ``series``, one list per unbroken stretch."""
    return [
        [tuple(map(float, p.split(","))) for p in line.get("points").split()]
        for line in svg.iter(f"{SVG}polyline")
        if line.get("data-series") == series
    ]


def _rows(**series) -> list[dict]:
    n = len(next(iter(series.values())))
    return [{"epoch": e + 1, **{k: v[e] for k, v in series.items()}} for e in range(n)]


def test_a_falling_loss_is_drawn_falling_in_proportion():
    losses = [4.0, 2.0, 1.0, 0.5]
    history = _rows(train_loss=losses, val_loss=[4.5, 2.5, 1.5, 1.4])
    linear = render_health_report(history, [], [], run_id="r", state="finished", log_y=False)
    ((points,),) = [_lines(_charts(linear)["loss"], "train_loss")]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    assert xs == sorted(xs) and len(set(xs)) == 4  # one point per epoch, left to right
    assert ys == sorted(ys)  # SVG y grows downwards: a falling loss goes down the page
    # Linear: pixel drops are in proportion to the loss's drops.
    for y, loss in zip(ys, losses, strict=True):
        expected = (losses[0] - loss) / (losses[0] - losses[-1])
        assert (y - ys[0]) / (ys[-1] - ys[0]) == pytest.approx(expected, abs=0.01)

    # Log scale: a loss halving every epoch falls by equal steps.
    logged = render_health_report(history, [], [], run_id="r", state="finished", log_y=True)
    ((points,),) = [_lines(_charts(logged)["loss"], "train_loss")]
    steps = [b[1] - a[1] for a, b in zip(points, points[1:], strict=False)]
    assert steps == pytest.approx([steps[0]] * 3, abs=0.15) and steps[0] > 0
    assert "log scale" in ET.tostring(_charts(logged)["loss"], encoding="unicode")


def test_gradients_spanning_decades_get_a_log_axis_by_themselves():
    history = _rows(train_loss=[1.0, 0.9, 0.8], grad_norm=[1.0, 1e-3, 1e-6])
    charts = _charts(render_health_report(history, [], [], run_id="r", state="finished"))
    as_text = {k: ET.tostring(v, encoding="unicode") for k, v in charts.items()}
    assert "log scale" in as_text["grad_norm"] and "1e-06" in as_text["grad_norm"]
    assert "log scale" not in as_text["loss"]
    assert "grad_abs_mean" not in charts and "update_ratio" not in charts  # not reported


def test_a_fired_rule_shows_at_its_epoch_and_the_others_say_ok():
    history = _rows(train_loss=[1.0, 0.8, 0.7, 0.6, 0.5], val_loss=[1.0, 0.9, 1.0, 1.1, 1.2])
    fired = {
        "rule": "overfit",
        "epoch": 4,
        "value": 0.8,
        "message": "val_loss 1.1 is 83% above train_loss",
        "actions": ["tag"],
    }
    html = render_health_report(
        history, [fired], ["nonfinite", "overfit"], run_id="r", state="finished"
    )
    rules = _charts(html)["rules"]
    marks = [p for p in rules.iter(f"{SVG}path") if p.get("class") == "fired"]
    assert [(m.get("data-rule"), m.get("data-x")) for m in marks] == [("overfit", "4")]
    assert "overfit fired at epoch 4: val_loss 1.1" in marks[0].find(f"{SVG}title").text
    lanes = {
        (line.get("data-rule"), line.get("data-state"))
        for line in rules.iter(f"{SVG}line")
        if line.get("class") == "lane"
    }
    assert lanes == {("nonfinite", "ok"), ("overfit", "ok"), ("overfit", "fired")}
    assert re.search(r'data-rule="nonfinite"><td>nonfinite</td><td class="ok">ok</td>', html)
    assert re.search(r'data-rule="overfit">.*fired at epoch 4</td><td>tag</td>', html)


def test_nan_and_infinity_break_the_line_and_are_marked_and_listed():
    history = _rows(
        train_loss=[1.0, 0.9, math.nan, 0.7, 0.6],
        val_loss=[1.1, 1.0, 0.95, math.inf, 0.9],
        grad_norm=[math.nan] * 5,  # nothing drawable at all
    )
    html = render_health_report(history, [], ["nonfinite"], run_id="r", state="failed")
    charts = _charts(html)
    train = _lines(charts["loss"], "train_loss")
    assert [len(stretch) for stretch in train] == [2, 2]  # epochs 1-2, then 4-5
    assert [len(stretch) for stretch in _lines(charts["loss"], "val_loss")] == [3, 1]
    gaps = {
        (g.get("data-series"), g.get("data-x"))
        for g in charts["loss"].iter(f"{SVG}g")
        if g.get("class") == "gap"
    }
    assert gaps == {("train_loss", "3"), ("val_loss", "4")}
    assert "train_loss is nan at epoch 3: not drawn" in html
    assert "val_loss is inf at epoch 4: not drawn" in html
    assert _lines(charts["grad_norm"], "grad_norm") == []
    assert len(re.findall(r"grad_norm is nan at epoch \d: not drawn", html)) == 5
    assert "nan," not in html and ",nan" not in html and "inf," not in html  # no such pixel


def test_every_text_is_escaped():
    hostile = "<script>alert('x')</script>"
    history = _rows(train_loss=[1.0, 0.5])
    fired = {"rule": "nonfinite", "epoch": 2, "message": f"bad {hostile} & worse", "actions": []}
    html = render_health_report(
        history, [fired], ["nonfinite"], run_id=f"run{hostile}", state=f"stopped {hostile}"
    )
    assert "<script" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "<title>health report: run&lt;script&gt;" in html
    assert "bad &lt;script&gt;" in html and "&amp; worse" in html
    _charts(html)  # every chart still parses


def test_each_rank_gets_its_own_step_time_line():
    history = [
        {"epoch": e, "rank0_step_time_s": 0.01, "rank1_step_time_s": 0.011, "rank2_step_time_s": s}
        for e, s in [(1, 0.01), (2, 0.03), (3, 0.05)]
    ]
    svg = _charts(render_health_report(history, [], [], run_id="r", state="finished"))
    step = svg["step_time"]
    assert {line.get("data-series") for line in step.iter(f"{SVG}polyline")} == {
        "rank 0",
        "rank 1",
        "rank 2",
    }
    (slow,) = _lines(step, "rank 2")
    assert [y for _, y in slow] == sorted([y for _, y in slow], reverse=True)  # it slows down
    # The health watch's list form, and one process's own step time, draw the same way.
    listed = [
        {"epoch": 1, "rank_step_time_s": [0.1, 0.2]},
        {"epoch": 2, "rank_step_time_s": [0.1, 0.3]},
    ]
    step = _charts(render_health_report(listed, [], [], run_id="r", state="finished"))["step_time"]
    assert len(_lines(step, "rank 1")) == 1 and len(_lines(step, "rank 0")) == 1
    alone = _rows(step_time_s=[0.2, 0.25])
    step = _charts(render_health_report(alone, [], [], run_id="r", state="finished"))["step_time"]
    assert len(_lines(step, "rank 0")) == 1


def test_the_health_package_exports_the_report():
    assert {"render_health_report", "write_health_report"} <= set(ray_apps.training.health.__all__)


# -- whole runs in this process -----------------------------------------------------------------


def _job(tmp_path, name: str, lr: float, health: dict | None) -> dict:
    job = {
        "name": name,
        "dataset": {"source": "sklearn:diabetes"},
        "model": {"kind": "torch", "params": {"hidden_sizes": [16]}},
        "hyperparameters": {"epochs": 3, "batch_size": 64, "lr": lr, "optimizer": "sgd"},
        "scaling": {"num_workers": 1},
        "checkpoint": {"every": 1, "keep": 1},
        "storage": str(tmp_path / "runs"),
    }
    return job if health is None else {**job, "health": health}


def _cli(capsys, *argv) -> str:
    try:
        main(list(argv))
    except SystemExit as exited:
        assert exited.code == 0
    return capsys.readouterr().out


def test_a_finished_run_writes_its_report_logs_it_to_mlflow_and_names_it(tmp_path, capsys):
    import ray

    health = {"rules": ["nonfinite", "overfit"], "actions": ["tag"]}
    result = run_training(_job(tmp_path, "reported", 0.01, health))
    assert not ray.is_initialized()  # trained in this process

    path = Path(result.run_dir) / "health_report.html"
    assert result.health_report == str(path) and path.is_file()
    html = path.read_text()
    signals = re.findall(r'data-signal="([^"]+)"', html)
    assert sorted(signals) == sorted(
        ["loss", "grad_norm", "grad_abs_mean", "update_ratio", "epoch_time", "step_time", "rules"]
    )  # one chart per signal
    loss = _charts(html)["loss"]
    assert len(_lines(loss, "train_loss")[0]) == 3 and len(_lines(loss, "val_loss")[0]) == 3
    assert "state: finished" in html
    assert re.search(r'data-rule="nonfinite"><td>nonfinite</td><td class="ok">ok', html)

    client = MlflowClient(tracking_uri=result.tracking_uri)
    logged = [a.path for a in client.list_artifacts(result.mlflow_run_id, "health")]
    assert logged == ["health/health_report.html"]
    copy = client.download_artifacts(
        result.mlflow_run_id, "health/health_report.html", str(tmp_path)
    )
    assert Path(copy).read_text() == html

    assert RunLog(result.run_dir).health_report() == str(path)
    assert f"[raymaker] health report: {path}" in capsys.readouterr().out
    shown = _cli(capsys, "runs", "show", result.run_name, "--storage", str(tmp_path / "runs"))
    assert f"health report: {path}" in shown


def test_a_run_stopped_by_a_rule_gets_its_report_and_one_without_health_none(tmp_path, capsys):
    stop = {"rules": ["nonfinite"], "actions": ["stop"]}
    with pytest.raises(StoppedByRule) as stopped:
        run_training(_job(tmp_path, "stops", 5.0, stop))  # SGD at 5.0 diverges
    path = tmp_path / "runs" / stopped.value.run / "health_report.html"
    assert f"Its health report: {path}." in str(stopped.value)
    html = path.read_text()
    assert f"state: stopped by rule nonfinite at epoch {stopped.value.epoch}" in html
    marks = re.findall(r'class="fired" data-rule="nonfinite" data-x="(\d+)"', html)
    assert marks == [str(stopped.value.epoch)]
    assert "is nan at epoch" in html or "is inf at epoch" in html  # the bad epoch, marked
    assert f"[raymaker] health report: {path}" in capsys.readouterr().out

    plain = run_training(_job(tmp_path, "plain", 0.01, None))
    assert plain.health_report is None
    assert not (Path(plain.run_dir) / "health_report.html").exists()
    assert RunLog(plain.run_dir).health_report() is None
    assert "health report" not in capsys.readouterr().out


def test_a_run_that_fails_after_an_epoch_gets_its_report_and_one_before_none(tmp_path, monkeypatch):
    import ray_apps.training.runner as runner

    def fails_after(epochs: int):
        def fit(spec, config, frames):
            for epoch in range(1, epochs + 1):
                RunLog(config.run_dir).epoch_done(epoch, {"train_loss": 1.0 / epoch})
            raise RuntimeError("worker lost")

        return fit

    health = {"rules": ["nonfinite"]}
    monkeypatch.setattr(runner, "fit_local", fails_after(2))
    with pytest.raises(RuntimeError, match="worker lost"):
        run_training(_job(tmp_path, "fails", 0.01, health))
    (run_dir,) = (tmp_path / "runs").iterdir()
    html = (run_dir / "health_report.html").read_text()
    assert "state: failed (RuntimeError)" in html
    assert len(_lines(_charts(html)["loss"], "train_loss")[0]) == 2
    job = RunLog(str(run_dir)).job()
    client = MlflowClient(tracking_uri=tracking.resolve_uri(None))
    run = client.get_run(job["mlflow_run_id"])
    assert run.info.status == "FAILED"
    assert [a.path for a in client.list_artifacts(run.info.run_id, "health")] == [
        "health/health_report.html"
    ]

    monkeypatch.setattr(runner, "fit_local", fails_after(0))
    with pytest.raises(RuntimeError):
        run_training(_job(tmp_path / "early", "fails-early", 0.01, health))
    (run_dir,) = (tmp_path / "early" / "runs").iterdir()
    assert not (run_dir / "health_report.html").exists()  # nothing to draw
