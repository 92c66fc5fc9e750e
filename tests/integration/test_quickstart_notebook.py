"""examples/quickstart.ipynb runs top to bottom in a fresh kernel, as a user's would.

The kernel is this virtual environment's Python (a kernelspec written under ``tmp_path``, so
no Jupyter setting of the user's is read or written), in a ``tmp_path`` working directory with
``RAYMAKER_HOME`` there and no ``RAY_ADDRESS``: the notebook starts a local Ray of its own
beside this session's. Every check reads a figure the notebook computed and printed.
"""

from __future__ import annotations

import ast
import json
import os
import re
import sys
from pathlib import Path

import pytest
from _serve_helpers import wait_for
from _sockets import free_port, listening

pytestmark = pytest.mark.integration

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "quickstart.ipynb"
PORT_LINE = "PORT = 8000"


def _kernel_env(tmp_path: Path) -> dict[str, str]:
    """This process's environment, with Jupyter's and raymaker's state under ``tmp_path``
    and nothing that would make the notebook join this session's Ray."""
    # RAY_*: this session's address (which would make the notebook join it) and its Serve's
    # HAProxy paths; MLFLOW_*: a tracking store other than the notebook's own SQLite one.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "MLFLOW_"))}
    env.pop("RAYMAKER_STORAGE", None)
    env.update(
        RAYMAKER_HOME=str(tmp_path / "raymaker_data"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "jupyter" / "runtime"),
        JUPYTER_DATA_DIR=str(tmp_path / "jupyter" / "data"),
        JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter" / "config"),
        IPYTHONDIR=str(tmp_path / "ipython"),
        MPLCONFIGDIR=str(tmp_path / "matplotlib"),
        PYTHONPATH=os.pathsep.join([str(NOTEBOOK.parents[1]), env.get("PYTHONPATH", "")]),
    )
    return env


def _run(notebook, tmp_path: Path, env: dict[str, str]):
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    spec_dir = tmp_path / "jupyter" / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec_dir / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "raymaker venv", "language": "python"})
    )
    specs = KernelSpecManager(kernel_dirs=[str(spec_dir.parent)], ensure_native_kernel=False)
    km = KernelManager(
        kernel_name="python3",
        kernel_spec_manager=specs,
        connection_file=str(tmp_path / "jupyter" / "kernel-connection.json"),
    )
    client = NotebookClient(notebook, km=km, timeout=300, kernel_name="python3", allow_errors=False)
    # cleanup_kc: shut the kernel down afterwards, also when a cell failed (a NotebookClient
    # given its kernel manager would leave the kernel running).
    return client.execute(cwd=str(tmp_path), env=env, cleanup_kc=True)


def _processes_with_home(home: str) -> list[str]:
    """Processes whose environment holds this ``RAYMAKER_HOME``: the kernel and every Ray
    process it started inherit it, and nothing else on the machine has it."""
    import psutil

    found = []
    for p in psutil.process_iter(["name"]):
        try:
            if p.environ().get("RAYMAKER_HOME") == home:
                found.append(f"{p.info['name']} (pid {p.pid})")
        except (psutil.Error, OSError):
            continue  # gone meanwhile, or another user's
    return found


def _text(notebook) -> str:
    """The printed output of every cell, in order."""
    out = []
    for cell in notebook.cells:
        for o in cell.get("outputs", []):
            if o.get("output_type") == "stream" and o.get("name") == "stdout":
                out.append(o["text"])
    return "".join(out)


def _one(pattern: str, text: str) -> re.Match:
    found = re.search(pattern, text, re.MULTILINE)
    assert found is not None, f"no line matching {pattern!r} in the notebook's output:\n{text}"
    return found


def test_the_quickstart_notebook_runs_the_whole_lifecycle(tmp_path):
    import nbformat

    notebook = nbformat.read(NOTEBOOK, as_version=4)  # committed clean (tests/unit/test_examples)
    setup = next(c for c in notebook.cells if PORT_LINE in c.source)
    port = free_port()  # 8000 may be taken on this machine
    setup.source = setup.source.replace(PORT_LINE, f"PORT = {port}")

    env = _kernel_env(tmp_path)
    done = _run(notebook, tmp_path, env)
    text = _text(done)

    assert "[raymaker] training in this process" in text  # small data: no worker group
    assert float(_one(r"^trained: test accuracy ([0-9.]+)", text)[1]) >= 0.9
    # the leaderboard, best (lowest valid_logloss) first, and the best model's test accuracy
    board = re.findall(r"^trial \d+: valid_logloss ([0-9.]+) \{", text, re.MULTILINE)
    assert len(board) == 4 and board == sorted(board, key=float), board
    trials = _one(r"^tuning: (\d+) trials; best test accuracy ([0-9.]+)", text)
    assert int(trials[1]) == 4 and float(trials[2]) >= 0.9
    assert _one(r"^registry: quickstart-cancer:1 (\w+)$", text)[1] == "Approved"

    v1 = _one(r"^V1 (\d+): 5 rows -> predictions (\[.*\])$", text)
    v2 = _one(r"^V2 (\d+): 5 rows -> predict (\[.*\])$", text)
    assert v1[1] == v2[1] == "200"
    predicted = json.loads(v1[2])
    assert len(predicted) == 5 and set(predicted) <= {0, 1}
    assert json.loads(v2[2]) == predicted  # one model, two protocols

    assert int(_one(r"^captured: (\d+) rows since", text)[1]) == 200
    drift = _one(r"^drift: (\d+) rows judged; drifted columns (\[.*\])$", text)
    assert int(drift[1]) == 200
    assert {"mean_texture", "mean_smoothness"} <= set(ast.literal_eval(drift[2])), drift[2]
    report = Path(_one(r"^report: (.+)$", text)[1])
    assert report.is_dir() and report.is_relative_to(tmp_path / "raymaker_data")

    assert _one(r"^explain (\d+): tree SHAP", text)[1] == "200"
    explained = re.findall(
        r"^  predicted (\d): margin (\S+) = (\S+) \+ SHAP sum (\S+) over (\d+) features",
        text,
        re.MULTILINE,
    )
    assert [int(p) for p, *_ in explained] == predicted[:3], explained  # the same rows
    for _, margin, base, shap_sum, features in explained:
        assert int(features) == 30  # a SHAP value per feature
        assert abs(float(base) + float(shap_sum) - float(margin)) < 2e-3  # they add up

    assert "[raymaker] local Ray started" in text  # its own Ray, not this session's
    assert "shut down; Ray running: False" in text
    assert not listening(port), f"the notebook left port {port} listening"
    wait_for(
        lambda: not _processes_with_home(env["RAYMAKER_HOME"]),
        30,
        "the notebook's kernel and Ray processes to exit",
    )
    # The notebook wrote under RAYMAKER_HOME and MLflow's ./mlruns (the embedded default's
    # artifact copies); the rest is the kernel's, where _kernel_env put it.
    written = {p.name for p in tmp_path.iterdir()}
    assert written <= {"raymaker_data", "mlruns", "jupyter", "ipython", "matplotlib"}, written
