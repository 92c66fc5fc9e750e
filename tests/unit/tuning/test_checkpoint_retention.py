import json
import pickle
from pathlib import Path

from tuning.checkpoint_retention import prune, read_state, referenced
from tuning.state_backup import StateBackup, _backup_of


def _state(path: Path, trials: dict[str, int | None]) -> dict:
    """An experiment state shaped like Tune's: the checkpoint manager pickled as hex."""
    rows = []
    for name, index in trials.items():
        manager = {"latest": f"/runs/x/{name}/checkpoint_{index:06d}"} if index is not None else {}
        runtime = {
            "checkpoint_manager": {
                "_type": "CLOUDPICKLE_FALLBACK",
                "value": pickle.dumps(manager).hex(),
            }
        }
        rows.append([json.dumps({"relative_logdir": name}), json.dumps(runtime)])
    path.write_text(json.dumps({"trial_data": rows}))
    return json.loads(path.read_text())


def _trial(run: Path, name: str, indices: range) -> Path:
    for i in indices:
        (run / name / f"checkpoint_{i:06d}").mkdir(parents=True)
    return run / name


def _left(folder: Path) -> list[int]:
    return sorted(int(p.name.split("_")[1]) for p in folder.glob("checkpoint_*"))


def test_referenced_reads_the_pickled_checkpoint_manager(tmp_path):
    state = _state(tmp_path / "s.json", {"a": 7, "b": None})
    assert referenced(state) == {"a": 7, "b": None}


def test_prune_keeps_everything_the_older_state_still_restores(tmp_path):
    run = tmp_path / "run"
    a, b, c = (_trial(run, n, range(6)) for n in "abc")
    new = _state(tmp_path / "new.json", {"a": 5, "b": 4, "c": None})
    old = _state(tmp_path / "old.json", {"a": 3, "b": 4, "c": 2})

    deleted = prune(run, [new, old])

    assert _left(a) == [3, 4, 5]  # the older state restores from 3: 3 stays
    assert _left(b) == [4, 5]  # 5 is newer than any state knows (a kill right after it)
    assert _left(c) == list(range(6))  # one state restores c from scratch: keep all
    assert len(deleted) == 3 + 4


def test_prune_leaves_a_trial_one_state_does_not_list(tmp_path):
    run = tmp_path / "run"
    a = _trial(run, "a", range(3))
    new = _state(tmp_path / "new.json", {"a": 2})
    old = _state(tmp_path / "old.json", {})
    prune(run, [new, old])
    assert _left(a) == [0, 1, 2]


def test_a_state_caught_mid_write_prunes_nothing_and_is_not_backed_up(tmp_path):
    run = tmp_path / "run"
    a = _trial(run, "a", range(4))
    state = run / "experiment_state-2026-11-23_15-22-47.json"
    good = _state(state, {"a": 3})
    backup = StateBackup(str(run))

    text = state.read_text()
    state.write_text("")  # Tune copies the state in place: a reader can catch it empty...
    backup.on_step_end(iteration=1, trials=[])
    state.write_text(text[: len(text) // 2])  # ...or half written
    backup.on_step_end(iteration=2, trials=[])
    assert read_state(state) is None
    assert _left(a) == [0, 1, 2, 3]
    assert not _backup_of(state).exists()

    state.write_text(text)  # once whole, it is copied and the older checkpoints go
    backup.on_step_end(iteration=3, trials=[])
    assert json.loads(_backup_of(state).read_text()) == good
    assert _left(a) == [3]
