"""Batch transform on real Ray Data: exactly-once output, rejects (bad values and CSV lines that
are not rows), approval, worker and driver deaths (a driver that started its own Ray takes that
Ray along), and a console without Ray's actor-restart warning. Inputs are a few hundred iris
rows in CSV and Parquet files, some rows bad."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from _factories import xgboost_artifact
from _serve_helpers import wait_for

from ray_apps import load_model, run_batch
from ray_apps.data import load_dataset
from ray_apps.errors import ApprovalError, DataError
from ray_apps.registry import approve, register
from ray_apps.spec import DatasetSpec

MODEL = "iris-batch"


@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    """v1 Approved, v2 Pending: two real registered XGBoost artifacts."""
    root = tmp_path_factory.mktemp("batch-artifacts")
    v1 = register(xgboost_artifact(root / "v1", rounds=3), MODEL)
    approve(MODEL, v1.version, by="test", reason="batch tests")
    v2 = register(xgboost_artifact(root / "v2", rounds=6), MODEL)
    return v1, v2


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    data = load_dataset(DatasetSpec(source="sklearn:iris")).train
    return data.drop(columns=["target"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, rows) -> Path:
    """Two CSV files (one with a word and an empty cell) and a Parquet file of 4 row groups
    (one NaN): 106 + 50 + 200 rows."""
    folder = tmp_path_factory.mktemp("batch-input")
    bad = rows.astype(object)
    bad.loc[5, "sepal_width_cm"] = "n/a"
    bad.loc[40, "petal_length_cm"] = None
    bad.to_csv(folder / "a.csv", index=False)
    rows.head(50).to_csv(folder / "b.csv", index=False)
    tiled = pd.concat([rows, rows], ignore_index=True).head(200)
    tiled.loc[120, "petal_width_cm"] = np.nan
    pq.write_table(pa.Table.from_pandas(tiled), folder / "c.parquet", row_group_size=50)
    return folder


def _job(inputs: Path, name: str, **extra) -> dict:
    return {
        "name": name,
        "model": MODEL,
        "input": str(inputs),
        "rows_per_unit": 100,
        "concurrency": 2,
        **extra,
    }


def _input_ids(inputs: Path) -> set[tuple[str, int]]:
    ids = set()
    for path in sorted(inputs.iterdir()):
        n = pq.read_metadata(path).num_rows if path.suffix == ".parquet" else len(pd.read_csv(path))
        ids |= {(str(path), i) for i in range(n)}
    return ids


def _read(folder: str) -> pd.DataFrame:
    parts = sorted(Path(folder).glob("part-*.parquet"))
    return pd.concat([pq.read_table(p).to_pandas() for p in parts], ignore_index=True)


def _ids(frame: pd.DataFrame) -> list[tuple[str, int]]:
    return list(zip(frame["source_file"], frame["source_row"].astype(int), strict=True))


def _assert_exactly_once(result, expected: set) -> tuple[pd.DataFrame, pd.DataFrame]:
    out, rej = _read(result.output_dir), _read(result.rejects_dir)
    ids = _ids(out) + _ids(rej)
    assert len(ids) == len(set(ids)), "a row was written twice"
    assert set(ids) == expected
    s = result.summary
    assert (s.rows_in, s.rows_out, s.rows_rejected) == (len(ids), len(out), len(rej))
    assert json.loads(Path(result.run_dir, "summary.json").read_text()) == s.to_dict()
    return out, rej


def test_every_row_once_with_model_predictions_and_rejects(ray_session, versions, inputs, rows):
    v1, _ = versions
    result = run_batch(_job(inputs, "all"))
    out, rej = _assert_exactly_once(result, _input_ids(inputs))

    assert sorted(rej["reason"]) == [
        "NaN in feature 'petal_width_cm'",
        "empty value in feature 'petal_length_cm'",
        "non-numeric value in feature 'sepal_width_cm'",
    ]
    assert result.summary.rows_in == 356 and result.summary.units == 4
    assert result.summary.model == {
        "name": MODEL,
        "version": v1.version,
        "manifest_sha256": v1.manifest_sha256,
    }
    # keep=all: the input columns ride along; predictions are the model's on the same rows.
    features = load_model(v1.artifact_uri).info.feature_names
    assert set(out.columns) >= {*features, "prediction", "probabilities", "model", "version"}
    expected = load_model(v1.artifact_uri).predict(out[features].astype(float))
    np.testing.assert_array_equal(out["prediction"].to_numpy(), expected)
    assert set(out["version"]) == {v1.version}


def test_keep_id_and_a_forced_pending_version(ray_session, versions, inputs):
    _, v2 = versions
    with pytest.raises(ApprovalError, match=f"raymaker registry approve {MODEL}:{v2.version}"):
        run_batch(_job(inputs, "refused", model=f"{MODEL}:{v2.version}"))

    result = run_batch(_job(inputs, "forced", model=f"{MODEL}:{v2.version}", force=True, keep="id"))
    out, _ = _assert_exactly_once(result, _input_ids(inputs))
    assert list(out.columns) == [
        "source_file",
        "source_row",
        "prediction",
        "probabilities",
        "model",
        "version",
    ]
    assert set(out["version"]) == {v2.version}


def test_a_killed_worker_is_retried_and_the_output_stays_exactly_once(
    ray_session, versions, inputs
):
    result = run_batch(_job(inputs, "killed", inject={"at_unit": 1}))
    assert Path(result.run_dir, "faults", "unit-1").is_file()  # the worker did die
    _assert_exactly_once(result, _input_ids(inputs))


# The C++ core worker's warning about Ray Data's actors (see ray_apps/batch/_restart_warning.py).
RESTART_WARNING = "has constructor arguments in the object store"
# Marks every process a test's driver starts, its own Ray's included (all inherit it).
MARK = "RAYMAKER_TEST_DRIVER"


def _marked(mark: str) -> dict[int, str]:
    """``{pid: command line}`` of the live processes whose environment carries ``mark``."""
    entry = f"{MARK}={mark}".encode()
    found = {}
    for proc in Path("/proc").iterdir():
        try:
            if not proc.name.isdigit() or entry not in (proc / "environ").read_bytes().split(b"\0"):
                continue
            if (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue  # killed, waiting for its parent to reap it
            found[int(proc.name)] = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds processes in /proc")
def test_a_killed_driver_takes_its_ray_along_and_a_resume_finishes_exactly_once(
    ray_session, versions, rows, tmp_path
):
    """A CLI driver that started its own Ray is SIGKILLed after its first unit commits: no
    process of that Ray is left after a bounded wait; a resume scores only the rest, removes
    the temporary parts a dead writer left, and prints no actor-restart warning."""
    # 40 units of 40 rows, scored a row at a time by one actor: seconds of work to die in.
    big = tmp_path / "input"
    big.mkdir()
    frame = pd.concat([rows] * 16, ignore_index=True).head(1600)
    pq.write_table(pa.Table.from_pandas(frame), big / "big.parquet", row_group_size=40)
    storage = tmp_path / "runs"
    config = tmp_path / "job.yaml"
    job = _job(big, "orphan", concurrency=1, rows_per_unit=40, batch_size=1, output=str(storage))
    config.write_text(yaml.safe_dump(job))
    mark = uuid.uuid4().hex
    own_ray = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}  # starts its own
    log = tmp_path / "driver.log"
    with log.open("w") as sink:
        driver = subprocess.Popen(
            [sys.executable, "-m", "ray_apps.cli", "batch", "--config", str(config)],
            env={**own_ray, MARK: mark},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        run_dir = _wait_for_a_committed_unit(storage, driver, log, timeout_s=240)
        its_ray = _marked(mark)
    finally:
        driver.kill()  # SIGKILL, the driver process only: the driver dies mid-job
        driver.wait()
    killed = time.monotonic()
    names = " ".join(its_ray.values())
    assert "gcs_server" in names and "raylet" in names and "ray::" in names, its_ray
    try:
        wait_for(lambda: not _marked(mark), 30, "the killed driver's Ray to go")
    except AssertionError:
        raise AssertionError(f"the killed driver's Ray stayed 30 s: {_marked(mark)}") from None
    print(f"[test] {len(its_ray)} processes of the killed driver's Ray gone in "
          f"{time.monotonic() - killed:.1f} s")  # fmt: skip
    assert RESTART_WARNING not in log.read_text()
    before = _committed_files(run_dir)
    assert not (run_dir / "summary.json").exists()
    assert 0 < len(before) // 2 < 40, "the driver finished before it could be killed"
    # A writer that dies mid-part leaves its temporary file (unit 39 is not committed yet).
    (run_dir / "output").mkdir(exist_ok=True)
    (run_dir / "output" / ".part-00039.parquet.tmp-0dead0ff").write_bytes(b"half a part")

    # Resumed through the CLI (on the session's Ray): progress per unit scored now, the line.
    resumed = subprocess.run(
        [sys.executable, "-m", "ray_apps.cli", "batch", "--resume", run_dir.name]
        + ["--storage", str(storage)],
        env={**os.environ, "RAY_ADDRESS": ray_session},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert RESTART_WARNING not in resumed.stderr
    lines = resumed.stdout.strip().splitlines()
    assert lines[-1] == "rows in 1600 = rows out 1600 + rejected 0"
    progress = [line for line in lines if line.startswith("[raymaker] unit ")]
    # Only units not yet committed are scored (a unit in flight when the driver died may have
    # committed since).
    assert 0 < len(progress) <= 40 - len(before) // 2
    after = _committed_files(run_dir)
    assert {p: after[p] for p in before} == before  # committed units were not redone
    out = _read(str(run_dir / "output"))
    assert sorted(out["source_row"]) == list(range(1600))
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["rows_out"] == 1600 and summary["units"] == 40
    assert not [p.name for p in run_dir.rglob(".*.tmp-*")], "a temporary file was left"


def _committed_files(run_dir: Path) -> dict[str, tuple[int, int]]:
    """(inode, mtime) of every committed unit's stats file and output part."""
    found = {}
    for marker in (run_dir / "units").glob("part-*.json"):
        part = run_dir / "output" / marker.name.removesuffix(".json")
        for p in (marker, part):
            found[str(p)] = (p.stat().st_ino, p.stat().st_mtime_ns)
    return found


def _wait_for_a_committed_unit(storage: Path, driver, log: Path, timeout_s: float) -> Path:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert driver.poll() is None, f"the batch driver exited early: {log.read_text()[-2000:]}"
        runs = list(storage.glob("orphan-*")) if storage.exists() else []
        if runs and any((runs[0] / "units").glob("part-*.json")):
            return runs[0]
        time.sleep(0.05)
    raise AssertionError(f"no unit committed within {timeout_s}s")


def test_strict_fails_naming_the_first_rejected_row(ray_session, versions, inputs):
    with pytest.raises(DataError, match="strict batch job: .*rejected.*feature") as err:
        run_batch(_job(inputs, "strict", strict=True), progress=lambda line: None)
    assert "set strict: false" in str(err.value)
    runs = list(Path(os.environ["RAYMAKER_HOME"], "runs").glob("strict-*"))
    assert len(runs) == 1 and not (runs[0] / "summary.json").exists()
    assert not (runs[0] / "rejects").exists()


@pytest.fixture(scope="module")
def csv_lines(tmp_path_factory, rows) -> tuple[Path, set, dict]:
    """Five CSV files of the iris rows; lines with a field missing or one too many in three of
    them. Returns the folder, every row's id, and the reason of each bad line by its id."""
    folder = tmp_path_factory.mktemp("batch-lines")
    n = len(rows.columns)
    few, many = ",".join(["5.1"] * (n - 1)), ",".join(["5.1"] * (n + 1))
    bad_lines = {"f1.csv": {3: few}, "f3.csv": {0: many, 50: few, 51: many}, "f5.csv": {95: few}}
    ids, bad = set(), {}
    for i in range(1, 6):
        name = f"f{i}.csv"
        lines = rows.head(96).to_csv(index=False).splitlines()
        for row, line in bad_lines.get(name, {}).items():
            lines[row + 1] = line
            bad[(str(folder / name), row)] = f"expected {n} fields, got {line.count(',') + 1}"
        (folder / name).write_text("\n".join(lines) + "\n")
        ids |= {(str(folder / name), row) for row in range(96)}
    return folder, ids, bad


def test_csv_lines_that_are_not_rows_are_rejected_with_file_row_and_reason(
    ray_session, versions, csv_lines, rows
):
    folder, ids, bad = csv_lines
    result = run_batch(_job(folder, "lines"), progress=lambda line: None)
    out, rej = _assert_exactly_once(result, ids)  # and the summary adds up
    assert {(f, r): why for f, r, why in rej[["source_file", "source_row", "reason"]].values} == bad
    assert result.summary.rows_in == 480 and result.summary.rows_rejected == len(bad) == 5
    assert result.summary.rejected_by_reason == {"expected 4 fields, got 3": 3,
                                                 "expected 4 fields, got 5": 2}  # fmt: skip
    # every other row scored, with its own values under its own number
    for (file, row), got in out.set_index(["source_file", "source_row"]).iterrows():
        assert got["sepal_length_cm"] == rows.iloc[row]["sepal_length_cm"], (file, row)

    with pytest.raises(DataError) as err:
        run_batch(_job(folder, "lines-strict", strict=True), progress=lambda line: None)
    named = [
        f"{f} line {r + 2} (source_row {r}) is not a row: {why}" for (f, r), why in bad.items()
    ]
    assert any(f"first: {line};" in str(err.value) for line in named), str(err.value)
