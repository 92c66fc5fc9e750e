"""The graph as an SVG picture: well-formed XML, one box per step, one arrow per dependency,
columns by distance from a root, and boxes colored by a run's states."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

from pipelines import load_pipeline, validate
from pipelines.record import RunRecord, StepRecord
from pipelines.svg import STATE_COLORS, render_svg
from ray_apps.cli import main

NS = {"svg": "http://www.w3.org/2000/svg"}
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "pipeline_retrain.yaml"

SPEC = load_pipeline(
    {
        "name": "shapes",
        "steps": {
            "gate": {"kind": "condition", "with": {"all": [{"left": 1, "op": "<", "right": 2}]}},
            "note": {"kind": "fail", "with": {"message": "<b> & 'quoted' \"text\""}},
            "stop": {
                "kind": "fail",
                "if": "not ${steps.gate.outputs.passed}",
                "with": {"message": "closed"},
            },
            "last": {"kind": "fail", "after": ["gate", "stop"], "with": {"message": "x"}},
        },
    }
)
GRAPH = validate(SPEC)
EDGES = {("gate", "stop"), ("gate", "last"), ("stop", "last")}


def _parse(text: str) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return root


def _boxes(root: ET.Element) -> dict[str, ET.Element]:
    return {g.get("data-step"): g for g in root.iterfind(".//svg:g[@class='step']", NS)}


def _texts(box: ET.Element) -> list[str]:
    return [t.text for t in box.iterfind("svg:text", NS)]


def _x(box: ET.Element) -> float:
    return float(box.find("svg:rect", NS).get("x"))


def test_one_box_per_step_with_its_name_and_kind():
    boxes = _boxes(_parse(render_svg(GRAPH, SPEC)))
    assert list(boxes) == list(GRAPH.order)
    for name, box in boxes.items():
        assert _texts(box) == [name, SPEC.steps[name].kind]
        assert box.find("svg:rect", NS).get("rx") == "8"
        assert box.get("data-state") is None


def test_one_arrow_per_dependency_from_upstream_to_downstream():
    root = _parse(render_svg(GRAPH, SPEC))
    edges = root.findall(".//svg:path[@class='edge']", NS)
    assert {(e.get("data-from"), e.get("data-to")) for e in edges} == EDGES
    assert len(edges) == len(EDGES)
    assert all(e.get("marker-end") == "url(#arrow)" for e in edges)
    assert root.find(".//svg:marker[@id='arrow']", NS) is not None


def test_columns_follow_the_longest_distance_from_a_root():
    boxes = _boxes(_parse(render_svg(GRAPH, SPEC)))
    # gate and note are roots; stop waits for gate; last waits for stop, two steps from gate.
    assert _x(boxes["gate"]) == _x(boxes["note"]) < _x(boxes["stop"]) < _x(boxes["last"])


def _points(edge: ET.Element) -> list[tuple[float, float]]:
    """The points of a path written as ``M x,y C x,y x,y x,y [L x,y C …]``."""
    return [(float(x), float(y)) for x, y in re.findall(r"(-?[\d.]+),(-?[\d.]+)", edge.get("d"))]


def _edges(root: ET.Element) -> dict[tuple[str, str], ET.Element]:
    return {
        (e.get("data-from"), e.get("data-to")): e
        for e in root.iterfind(".//svg:path[@class='edge']", NS)
    }


def test_every_arrow_points_right_from_its_upstream_box_to_its_downstream_box():
    root = _parse(render_svg(GRAPH, SPEC))
    boxes = _boxes(root)
    for (up, down), edge in _edges(root).items():
        (x1, _), *_, (x2, _) = _points(edge)
        assert x1 == _x(boxes[up]) + float(boxes[up].find("svg:rect", NS).get("width"))
        assert x1 < x2 <= _x(boxes[down])


def test_an_arrow_that_skips_a_column_passes_above_the_boxes_between():
    root = _parse(render_svg(GRAPH, SPEC))
    stop = float(_boxes(root)["stop"].find("svg:rect", NS).get("y"))
    # gate → last skips stop's column: drawn behind stop, it would read as stop → last twice.
    assert min(y for _, y in _points(_edges(root)[("gate", "last")])) < stop
    assert len(_points(_edges(root)[("gate", "stop")])) == 4  # next column: one curve


def _record(spec, steps: dict[str, StepRecord]) -> RunRecord:
    return RunRecord(
        run_id=f"{spec.name}-20260101-000000-abcdef",
        pipeline=spec.name,
        spec=spec.model_dump(mode="json", by_alias=True, exclude_none=True),
        parameters={},
        created_at=0.0,
        state="failed",
        steps=steps,
    )


def test_text_is_escaped_for_xml():
    spec = load_pipeline(
        {"name": "esc", "steps": {"a": {"kind": "fail", "with": {"message": "m"}}}}
    )
    run = _record(spec, {"a": StepRecord(state="failed", error="<boom> & \"'", ended_at=1.0)})
    root = _parse(render_svg(validate(spec), spec, run))
    assert _boxes(root)["a"].find("svg:title", NS).text == "a: <boom> & \"'"


def test_a_run_colors_each_box_by_its_state_and_shows_state_and_duration():
    run = _record(
        SPEC,
        {
            "gate": StepRecord(state="succeeded", started_at=10.0, ended_at=22.34),
            "note": StepRecord(state="running", started_at=10.0),
            "stop": StepRecord(state="failed", started_at=30.0, ended_at=30.0 + 125, error="no"),
            "last": StepRecord(state="blocked", reason="stop did not succeed"),
        },
    )
    root = _parse(render_svg(GRAPH, SPEC, run))
    boxes = _boxes(root)
    for name, box in boxes.items():
        state = run.steps[name].state
        assert box.get("data-state") == state
        assert box.find("svg:rect", NS).get("fill") == STATE_COLORS[state]
    assert _texts(boxes["gate"])[2] == "succeeded · 12.3 s"
    assert _texts(boxes["stop"])[2] == "failed · 2 min 05 s"
    assert _texts(boxes["note"])[2] == "running"
    assert _texts(boxes["last"])[2] == "blocked"
    assert boxes["last"].find("svg:title", NS).text == "last: stop did not succeed"
    assert run.run_id in root.find("svg:title", NS).text


def test_every_state_has_its_own_color():
    states = ["succeeded", "cached", "skipped", "failed", "blocked", "running", "pending"]
    assert list(STATE_COLORS) == states
    assert len(set(STATE_COLORS.values())) == len(states)
    assert STATE_COLORS["pending"] == "#ffffff"


def test_the_example_pipeline_draws():
    spec = load_pipeline(EXAMPLE)
    root = _parse(render_svg(validate(spec), spec))
    assert list(_boxes(root)) == list(validate(spec).order)


def _cli(capsys, *argv) -> tuple[int, str]:
    code = 0
    try:
        main(list(argv))
    except SystemExit as exited:
        code = exited.code
    return code, capsys.readouterr().out


def test_the_cli_writes_the_picture_of_a_file(capsys, tmp_path):
    file = tmp_path / "shapes.yaml"
    file.write_text(yaml.safe_dump(SPEC.model_dump(mode="json", by_alias=True, exclude_none=True)))
    picture = tmp_path / "pictures" / "shapes.svg"
    code, out = _cli(capsys, "pipeline", "graph", str(file), "--svg", str(picture))
    assert code == 0
    assert out.splitlines()[-1] == f"wrote {picture}"
    assert list(_boxes(_parse(picture.read_text()))) == list(GRAPH.order)


def test_the_cli_writes_the_picture_of_a_run_with_its_states(capsys, tmp_path):
    file = tmp_path / "gated.yaml"
    file.write_text(
        yaml.safe_dump(
            {
                "name": "gated",
                "steps": {
                    "gate": {
                        "kind": "condition",
                        "with": {"all": [{"left": 1, "op": ">", "right": 2}]},
                    },
                    "stop": {
                        "kind": "fail",
                        "if": "not ${steps.gate.outputs.passed}",
                        "with": {"message": "closed"},
                    },
                },
            }
        )
    )
    storage = str(tmp_path / "runs")
    code, out = _cli(capsys, "pipeline", "run", str(file), "--storage", storage)
    assert code == 1
    run_id = out.split("pipeline run ", 1)[1].split()[0]
    picture = tmp_path / "run.svg"
    code, out = _cli(
        capsys, "pipeline", "graph", run_id, "--storage", storage, "--svg", str(picture)
    )
    assert code == 0 and out.splitlines()[-1] == f"wrote {picture}"
    boxes = _boxes(_parse(picture.read_text()))
    assert {name: box.get("data-state") for name, box in boxes.items()} == {
        "gate": "succeeded",
        "stop": "failed",
    }
    assert boxes["stop"].find("svg:rect", NS).get("fill") == STATE_COLORS["failed"]
