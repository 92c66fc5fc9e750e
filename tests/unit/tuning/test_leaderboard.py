"""The tuning plot goes straight into the run folder, local or remote: no local copy left."""

from pathlib import Path

import fsspec
from _fake_remote import use_fake_remote

from tuning import leaderboard

ROWS = [
    {"trial": i, "source": "this job", "objective": v, "epochs": e, "stopped_early": e < 3}
    for i, (v, e) in enumerate([(0.5, 3), (0.7, 1), (0.6, 3)])
]


def test_the_plot_is_written_in_the_run_folder(tmp_path, monkeypatch):
    temp = use_fake_remote(monkeypatch, tmp_path)
    local = leaderboard.plot(ROWS, str(tmp_path / "run"), "accuracy", "max", 3)
    assert local == str(tmp_path / "run" / "tuning.png")
    remote = leaderboard.plot(ROWS, "memory://runs/run", "accuracy", "max", 3)
    assert remote == "memory://runs/run/tuning.png"
    with fsspec.open(remote, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    fsspec.filesystem("memory").rm("/runs", recursive=True)
    assert Path(local).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list(temp.iterdir()) == []
