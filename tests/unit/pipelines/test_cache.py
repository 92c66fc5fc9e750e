"""Step cache keys follow content, not names or times: a file rewritten in place is a miss,
a file only touched is a hit, and where a job writes is not part of what it reads."""

from __future__ import annotations

import json
import os

import pytest
import yaml

from pipelines.cache import cache_key, code_version, fresh


def _key(inputs: dict, kind: str = "train", code: str = "v1") -> str:
    return cache_key(kind, inputs, code)[0]


@pytest.fixture()
def csv(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("x,y\n1,0\n2,1\n")
    return path


def _job(tmp_path, **fields) -> str:
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump({"name": "job", **fields}))
    return str(path)


def test_equal_inputs_give_the_same_key_whatever_the_order_of_their_keys():
    first = {"config": "examples/none.yaml", "overrides": {"a": 1, "b": [1, 2]}}
    second = {"overrides": {"b": [1, 2], "a": 1}, "config": "examples/none.yaml"}
    assert _key(first) == _key(second)


def test_the_kind_the_inputs_and_the_code_version_are_each_part_of_the_key():
    base = _key({"model": "m"})
    assert _key({"model": "n"}) != base
    assert _key({"model": "m"}, kind="register") != base
    assert _key({"model": "m"}, code="v2") != base


def test_a_file_rewritten_in_place_changes_the_key(csv):
    before, contents = cache_key("train", {"data": str(csv)}, "v1")
    assert contents == {str(csv): contents[str(csv)]}
    csv.write_text("x,y\n1,1\n2,0\n")  # same path, same size, other bytes
    assert _key({"data": str(csv)}) != before


def test_a_file_only_touched_keeps_its_key(csv):
    before = _key({"data": str(csv)})
    stat = csv.stat()
    os.utime(csv, ns=(stat.st_atime_ns + 10**10, stat.st_mtime_ns + 10**10))
    assert csv.stat().st_mtime_ns != stat.st_mtime_ns
    assert _key({"data": str(csv)}) == before


def test_a_job_file_is_keyed_on_the_content_of_the_data_it_names(tmp_path, csv):
    inputs = {"config": _job(tmp_path, dataset={"source": str(csv), "label": "y"})}
    before, contents = cache_key("train", inputs, "v1")
    assert str(csv) in contents
    csv.write_text("x,y\n9,9\n")
    assert _key(inputs) != before


@pytest.mark.parametrize("writes", ["storage", "output", "tracking_uri"])
def test_where_a_job_writes_is_not_content(tmp_path, writes):
    out = tmp_path / "out"
    out.mkdir()
    (out / "result.json").write_text("{}")
    in_overrides = {"config": _job(tmp_path), "overrides": {writes: str(out)}}
    in_job_file = {"config": _job(tmp_path, **{writes: str(out)})}
    before = [_key(in_overrides), _key(in_job_file)]
    (out / "result.json").write_text('{"a": 1}')
    (out / "another.json").write_text("{}")
    assert [_key(in_overrides), _key(in_job_file)] == before


def test_the_same_folder_under_another_key_is_content(tmp_path):
    folder = tmp_path / "inputs"
    folder.mkdir()
    (folder / "a.txt").write_text("one")
    before = _key({"data": str(folder)})
    (folder / "a.txt").write_text("two")
    assert _key({"data": str(folder)}) != before


def test_an_artifact_is_keyed_on_its_manifest_only(tmp_path):
    artifact = tmp_path / "artifact"
    artifact.mkdir()
    (artifact / "model.bin").write_bytes(b"weights")
    manifest = artifact / "MANIFEST.json"
    manifest.write_text(json.dumps({"model.bin": "sha-1"}))
    before, contents = cache_key("evaluate", {"artifact": str(artifact)}, "v1")
    assert contents[str(artifact)].startswith("manifest:")
    # Files the manifest does not list (a log, a cache) do not change what the artifact is.
    (artifact / "model.bin").write_bytes(b"other weights")
    (artifact / "notes.txt").write_text("seen")
    assert _key({"artifact": str(artifact)}, kind="evaluate") == before
    manifest.write_text(json.dumps({"model.bin": "sha-2"}))
    assert _key({"artifact": str(artifact)}, kind="evaluate") != before


def test_strings_that_are_not_local_paths_are_only_inputs(tmp_path):
    _, contents = cache_key(
        "evaluate",
        {"data": "sklearn:breast_cancer", "artifact": "s3://bucket/a", "x": str(tmp_path / "no")},
        "v1",
    )
    assert contents == {}


def test_the_code_version_is_stable_within_a_process():
    assert code_version() == code_version()
    assert len(code_version()) == 16


@pytest.mark.parametrize(
    ("expire_after_s", "now", "expected"),
    [
        (None, 10**9, True),  # never expires
        (60.0, 1_030.0, True),  # within
        (60.0, 1_060.0, True),  # exactly at the limit
        (60.0, 1_061.0, False),  # past
    ],
)
def test_fresh(expire_after_s, now, expected):
    assert fresh({"created_at": 1_000.0}, expire_after_s, now) is expected
