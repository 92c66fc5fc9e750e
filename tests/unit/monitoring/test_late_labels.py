"""Model quality from ground-truth labels that arrive after the predictions, joined to a real
capture window by request id (and row), against the artifact's own test metrics."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from _monitor_data import artifact_and_window, capture
from sklearn.metrics import accuracy_score, f1_score

from ray_apps import load_model
from ray_apps.errors import DataError
from ray_apps.monitoring import run_monitor
from ray_apps.monitoring.alerts import ExitCode
from ray_apps.monitoring.labels import join_labels, model_quality

T0 = datetime(2026, 11, 24, 10, tzinfo=UTC)


@pytest.fixture(scope="module")
def window(tmp_path_factory):
    """170 held-out rows captured from 10:00: 40 single-row requests, then 13 of 10 rows."""
    folder = tmp_path_factory.mktemp("labels")
    art, held_out, _ = artifact_and_window(folder, labels=True)
    model, root = load_model(art), folder / "capture"
    sizes = [1] * 40 + [10] * 13
    keys, start = [], 0
    for i, n in enumerate(sizes):
        part = held_out.iloc[start : start + n]
        capture(root, model, part, T0 + timedelta(seconds=10 * i), f"req-{i}")
        keys += [(f"req-{i}", r, y) for r, y in enumerate(part["target"])]
        start += n
    truth = pd.DataFrame(keys, columns=["request_id", "row", "label"])
    x = held_out[model.info.feature_names]
    return art, root, truth, np.asarray(model.predict(x)), folder


def spec(art, root, labels, tmp_path):
    return {
        "model": "cancer:1",
        "artifact": str(art),
        "current": {"capture": str(root), "since": T0.isoformat(), "until": "2026-11-24T11:00Z"},
        "labels": {"path": str(labels)},
        "output": str(tmp_path / "reports"),
        "html": False,
    }


def test_labels_arriving_later_give_the_window_its_model_quality(window, tmp_path):
    art, root, truth, predicted, _ = window
    labels = tmp_path / "labels.csv"
    truth.head(12).to_csv(labels, index=False)  # by 11:05 the labels of 12 rows arrived
    early = run_monitor(spec(art, root, labels, tmp_path), now=T0 + timedelta(minutes=65))
    mq = early.summary.model_quality
    assert (mq.labeled_rows, mq.unlabeled_rows) == (12, 158)
    assert early.verdict.status == "ok"  # 12 < min_labels: model quality not judged yet

    truth.sample(frac=1, random_state=0).to_csv(labels, index=False)  # all, in any order
    later = run_monitor(spec(art, root, labels, tmp_path), now=T0 + timedelta(days=1))
    mq = later.summary.model_quality
    y = truth["label"].to_numpy()
    assert (mq.labeled_rows, mq.unlabeled_rows, mq.unknown_labels) == (170, 0, 0)
    assert mq.metrics["accuracy"] == pytest.approx(accuracy_score(y, predicted))
    assert mq.metrics["f1"] == pytest.approx(f1_score(y, predicted))
    assert mq.baseline == {k: load_model(art).metrics[k] for k in ("accuracy", "f1")}
    assert later.verdict.status == "ok", [v.message for v in later.verdict.violations]
    stored = (tmp_path / "reports").rglob("summary.json")
    assert '"labeled_rows": 170' in next(stored).read_text()  # the re-run replaced the summary


def test_concept_drift_is_caught_by_the_labels_when_the_features_do_not_move(window, tmp_path):
    art, root, truth, _, _ = window
    flipped = truth.copy()
    rng = np.random.default_rng(0)
    turn = rng.random(len(truth)) < 0.3  # the world changed: 30 % of outcomes differ
    flipped.loc[turn, "label"] = 1 - flipped.loc[turn, "label"]
    labels = tmp_path / "labels.parquet"
    flipped.to_parquet(labels, index=False)
    result = run_monitor(spec(art, root, labels, tmp_path), now=T0 + timedelta(days=1))
    assert result.summary.drifted_columns == []  # same inputs
    kinds = {(v.kind, v.column) for v in result.verdict.violations}
    assert ("model_quality", "accuracy") in kinds and ("model_quality", "f1") in kinds
    message = next(v.message for v in result.verdict.violations if v.column == "accuracy")
    assert "on 170 labelled rows is" in message and "worse than the model's 0.976" in message
    assert result.exit_code == ExitCode.VIOLATION


def test_a_multi_row_request_needs_the_row_column():
    window = pd.DataFrame({"request_id": ["a", "b", "b"], "row": [0, 0, 1]})
    only_a = pd.DataFrame({"request_id": ["a"], "label": [1]})
    assert join_labels(window, only_a, "capture").tolist()[0] == 1
    with pytest.raises(DataError, match="request 'b' has 2 rows in the window, and the labels"):
        join_labels(window, pd.DataFrame({"request_id": ["b"], "label": [1]}), "capture")
    rows = pd.DataFrame({"request_id": ["b", "b", "b"], "row": [1, 0, 1], "label": [5, 6, 7]})
    assert join_labels(window, rows, "capture").tolist()[1:] == [6, 7]  # the last wins


def test_regression_quality_with_numbers():
    mq = model_quality(
        "regression",
        [],
        predictions=pd.Series([1.0, 2.0, 3.0, 4.0]),
        labels=pd.Series([1.0, 4.0, None, 4.0]),
        baseline={"rmse": 1.0, "mae": 0.5, "r2": 0.9},
        source="x",
    )
    assert mq.metrics == pytest.approx({"rmse": np.sqrt(4 / 3), "mae": 2 / 3})
    assert (mq.labeled_rows, mq.unlabeled_rows) == (3, 1)
    assert mq.worsening("rmse") == pytest.approx(np.sqrt(4 / 3) - 1)
    assert mq.worsening("mae") == pytest.approx((2 / 3 - 0.5) / 0.5)


def test_the_cli_takes_labels_and_says_what_they_scored(window, tmp_path, capsys):
    from ray_apps.cli import main

    art, root, truth, _, _ = window
    labels = tmp_path / "labels.csv"
    truth.to_csv(labels, index=False)
    argv = ["monitor", "cancer:1", "--artifact", str(art), "--capture", str(root)]
    argv += ["--since", "2026-11-24T10:00Z", "--until", "2026-11-24T11:00Z"]
    argv += ["--labels", str(labels), "--output", str(tmp_path / "r"), "--no-html"]
    main(argv)  # returns: exit 0
    out = capsys.readouterr().out
    assert "; 170 rows labelled: accuracy 0.9" in out and ", f1 0.9" in out
    with pytest.raises(SystemExit) as exited:
        main([*argv[:-5], "--labels", str(tmp_path / "none.csv")])
    assert exited.value.code == 2
    assert "labels.path" in capsys.readouterr().err


def test_labels_posted_to_the_endpoint_are_read_without_a_labels_path(window, tmp_path):
    import shutil

    from ray_apps.capture import labels_folder, write_labels

    art, root, truth, predicted, _ = window
    root = shutil.copytree(root, tmp_path / "capture")  # the module's window stays label-free
    wrong = 1 - truth["label"]  # posted first, then corrected by a later call
    write_labels(root, "cancer", truth.request_id, truth.row, wrong, now=T0 + timedelta(hours=1))
    write_labels(
        root, "cancer", truth.request_id, truth.row, truth.label, now=T0 + timedelta(hours=2)
    )
    run = spec(art, root, "unused", tmp_path)
    del run["labels"]
    mq = run_monitor(run, now=T0 + timedelta(days=1)).summary.model_quality
    assert mq.labels == str(labels_folder(root, "cancer"))
    assert (mq.labeled_rows, mq.unlabeled_rows) == (170, 0)
    y = truth["label"].to_numpy()
    assert mq.metrics["accuracy"] == pytest.approx(accuracy_score(y, predicted))
