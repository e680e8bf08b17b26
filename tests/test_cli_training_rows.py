"""A checkpoint knows which rows trained it: ``evaluate`` never scores them without saying so.

One small run (60 training rows, 20 validation rows of data.csv) is trained once for the module;
each test evaluates its checkpoint on another form of the data: the same file, its rows shuffled,
its columns reordered, a renamed copy, some training rows changed, copies of training rows, a
file that is all training rows, and a checkpoint from elsewhere. The expected rows are worked out
here from the split and the row contents with plain Python sets, not with the code under test.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from evalstudio.cli import main

MODEL = """
import torch.nn as nn

def build_model(n_features=4):
    return nn.Sequential(nn.Linear(n_features, 8), nn.ReLU(), nn.Linear(8, 1))
"""
N, N_VAL = 80, 20


def run_cli(*argv: str) -> int:
    return main(list(argv))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """data.csv (80 rows, no repeats), model.py, and run/best.pt trained on 60 rows + 20 validation rows."""
    root = tmp_path_factory.mktemp("rows")
    rng = np.random.default_rng(0)
    y = np.arange(N) % 2
    frame = pd.DataFrame((rng.normal(size=(N, 4)) + 1.5 * y[:, None]).round(5), columns=["a", "b", "c", "d"])
    frame["label"] = np.where(y == 1, "yes", "no")
    frame.to_csv(root / "data.csv", index=False)
    (root / "model.py").write_text(MODEL)
    torch.set_num_threads(1)
    assert run_cli("train", "--model", str(root / "model.py"), "--data", str(root / "data.csv"), "--epochs", "2",
                   "--val-fraction", "0.25", "--device", "cpu", "--out", str(root / "run"), "--quiet") == 0
    yield root


def _content(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    """Each row as (label, a, b, c, d) with the values as float32, the way the CSV reader parses them."""
    return [(r.label, *(float(np.float32(r[c])) for c in "abcd")) for _, r in frame.iterrows()]


def _training_and_validation(root: Path) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    """The run's training and validation row contents, from its split (seeded, stratified)."""
    from evalstudio.core.data.dataset import load_csv
    from evalstudio.core.training.splits import split_validation

    tr, va = split_validation(load_csv(root / "data.csv"), 0.25, 0)
    rows = _content(pd.read_csv(root / "data.csv"))
    return {rows[i] for i in tr}, {rows[i] for i in va}


def evaluate(root: Path, data: Path | str, *extra: str, checkpoint: str = "run/best.pt") -> tuple[int, dict[str, Any]]:
    out = root / "out.json"
    out.unlink(missing_ok=True)
    if not (root / "model.py").exists():
        (root / "model.py").write_text(MODEL)
    rc = run_cli("evaluate", "--model", str(root / "model.py"), "--checkpoint", str(root / checkpoint),
                 "--data", str(data), "--device", "cpu", "--json", str(out), *extra)
    return rc, (json.loads(out.read_text()) if out.exists() else {})


def _scored_rows(root: Path, data: Path, *extra: str) -> list[int]:
    pred = root / "pred.csv"
    assert evaluate(root, data, "--predictions", str(pred), "--quiet", *extra)[0] == 0
    return [int(r["row"]) for r in csv.DictReader(pred.open())]


def test_same_file_leaves_out_the_training_rows_and_says_so_first(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, js = evaluate(run_dir, run_dir / "data.csv")
    assert rc == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"rows:   60 of {N} rows trained this checkpoint and are left out; scoring the other 20"
    assert "20 of the scored rows chose this checkpoint (its validation rows)" in lines[1]
    assert "slightly optimistic" in lines[1]
    assert "this checkpoint was trained on data.csv (this very file: same SHA-256)" in lines[2]
    assert js["leakage"] == {**js["leakage"], "rows_in_file": N, "training_rows": 60, "validation_rows": 20,
                             "scored": 20, "included_training_rows": False}
    assert js["n_samples"] == 20 and "optimistic" not in js
    # exactly the validation rows were scored
    _, val = _training_and_validation(run_dir)
    rows = _content(pd.read_csv(run_dir / "data.csv"))
    scored = _scored_rows(run_dir, run_dir / "data.csv")
    assert sorted(rows[r - 1] for r in scored) == sorted(val)


def test_shuffled_rows_reordered_columns_and_a_renamed_copy_are_caught(run_dir: Path) -> None:
    frame = pd.read_csv(run_dir / "data.csv")
    frame.sample(frac=1.0, random_state=7).to_csv(run_dir / "shuffled.csv", index=False)
    frame[["label", "d", "b", "a", "c"]].to_csv(run_dir / "reordered.csv", index=False)
    shutil.copyfile(run_dir / "data.csv", run_dir / "renamed copy.csv")
    frame.to_csv(run_dir / "semicolons.csv", index=False, sep=";")
    _, baseline = evaluate(run_dir, run_dir / "data.csv")
    for name in ("shuffled.csv", "reordered.csv", "renamed copy.csv", "semicolons.csv"):
        rc, js = evaluate(run_dir, run_dir / name)
        assert rc == 0, name
        leak = js["leakage"]
        assert (leak["training_rows"], leak["validation_rows"], leak["scored"]) == (60, 20, 20), name
        assert leak["same_file_as_training"] is (name == "renamed copy.csv"), name
    # the shuffled file scores the same rows, so the same numbers
    _, shuffled = evaluate(run_dir, run_dir / "shuffled.csv")
    assert shuffled["metrics"] == pytest.approx(baseline["metrics"], rel=1e-9, nan_ok=True)
    assert shuffled["confusion_matrix"] == baseline["confusion_matrix"]


def test_changed_training_rows_are_no_longer_training_rows(run_dir: Path) -> None:
    frame = pd.read_csv(run_dir / "data.csv")
    train, _ = _training_and_validation(run_dir)
    is_train = np.array([row in train for row in _content(frame)])
    changed = np.flatnonzero(is_train)[:5]
    frame.loc[changed, "b"] += 0.001  # one value of five training rows
    frame.to_csv(run_dir / "perturbed.csv", index=False)
    rc, js = evaluate(run_dir, run_dir / "perturbed.csv")
    assert rc == 0
    assert (js["leakage"]["training_rows"], js["leakage"]["scored"]) == (55, 25)
    assert set(changed + 1) <= set(_scored_rows(run_dir, run_dir / "perturbed.csv"))


def test_every_row_trained_it_is_refused_unless_asked(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = pd.read_csv(run_dir / "data.csv")
    train, _ = _training_and_validation(run_dir)
    only_train = frame[[row in train for row in _content(frame)]]
    only_train.to_csv(run_dir / "train-only.csv", index=False)
    capsys.readouterr()
    rc, js = evaluate(run_dir, run_dir / "train-only.csv")
    assert rc == 2 and js == {}
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: all 60 rows of train-only.csv trained this checkpoint")
    assert "--include-training-rows" in err[0]

    rc, js = evaluate(run_dir, run_dir / "train-only.csv", "--include-training-rows")
    assert rc == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == ("rows:   scoring all 60 rows, INCLUDING the 60 that trained this checkpoint: "
                                   "these results are optimistic")
    assert "OPTIMISTIC: includes the rows the model was trained on" in out
    assert js["leakage"]["included_training_rows"] is True and js["leakage"]["optimistic"] is True
    assert js["optimistic"] is True and js["n_samples"] == 60


def test_include_training_rows_scores_every_row_and_labels_it(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, js = evaluate(run_dir, run_dir / "data.csv", "--include-training-rows")
    assert rc == 0
    assert js["n_samples"] == N and js["optimistic"] is True
    assert js["leakage"] == {**js["leakage"], "rows_in_file": N, "training_rows": 60, "validation_rows": 20,
                             "scored": N, "included_training_rows": True}
    assert "OPTIMISTIC" in capsys.readouterr().out


def test_copies_of_training_rows_are_training_rows_wherever_they_sit(run_dir: Path, tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """A training file with repeated rows; an evaluated file with new rows and copies of training rows."""
    rng = np.random.default_rng(5)
    y = np.arange(60) % 2
    frame = pd.DataFrame((rng.normal(size=(60, 4)) + 1.5 * y[:, None]).round(5), columns=["a", "b", "c", "d"])
    frame["label"] = np.where(y == 1, "yes", "no")
    train = pd.concat([frame.iloc[:40], frame.iloc[[0, 1, 1]]])  # 3 repeated rows in the training data
    train.to_csv(tmp_path / "train.csv", index=False)
    assert run_cli("train", "--model", str(run_dir / "model.py"), "--data", str(tmp_path / "train.csv"), "--epochs",
                   "1", "--val-fraction", "0", "--device", "cpu", "--out", str(tmp_path / "r"), "--quiet") == 0
    evaluated = pd.concat([frame.iloc[[5]], frame.iloc[40:], frame.iloc[[1, 7, 1, 1]]]).sample(frac=1.0, random_state=1)
    evaluated.to_csv(tmp_path / "eval.csv", index=False)
    capsys.readouterr()
    rc, js = evaluate(tmp_path, tmp_path / "eval.csv", checkpoint="r/best.pt")
    assert rc == 0, capsys.readouterr().err
    leak = js["leakage"]
    # rows 5, 7 and three copies of row 1: five training rows, two of them repeats of another here
    assert (leak["training_rows"], leak["scored"], leak["duplicates"], leak["training_duplicates"]) == (5, 20, 2, 3)
    out = capsys.readouterr().out
    assert "2 of the 5 training rows here are exact copies of another training row (the training data itself " \
           "had 3 repeated rows)" in out


def test_a_checkpoint_from_elsewhere_says_it_once(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    weights = torch.load(run_dir / "run" / "best.pt", weights_only=True)["model_state_dict"]
    torch.save(weights, run_dir / "plain_state_dict.pt")
    capsys.readouterr()
    rc, js = evaluate(run_dir, run_dir / "data.csv", checkpoint="plain_state_dict.pt")
    assert rc == 0
    assert js["leakage"] is None and js["n_samples"] == N
    out = capsys.readouterr().out
    assert out.count("this checkpoint does not record its training rows") == 1
    assert not out.startswith("rows:")


def test_fine_tuning_and_resume_keep_the_rows_and_validation_files_are_recorded(run_dir: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    y = np.arange(40) % 2
    other = pd.DataFrame((rng.normal(size=(40, 4)) + 1.5 * y[:, None]).round(5), columns=["a", "b", "c", "d"])
    other["label"] = np.where(y == 1, "yes", "no")
    other.iloc[:30].to_csv(tmp_path / "more.csv", index=False)
    other.iloc[30:].to_csv(tmp_path / "val.csv", index=False)
    assert run_cli("train", "--model", str(run_dir / "model.py"), "--data", str(tmp_path / "more.csv"),
                   "--checkpoint", str(run_dir / "run" / "best.pt"), "--val-data", str(tmp_path / "val.csv"),
                   "--epochs", "2", "--device", "cpu", "--out", str(tmp_path / "tuned"), "--quiet") == 0
    section = torch.load(tmp_path / "tuned" / "last.pt", weights_only=True)["training_rows"]
    assert section["validation_file"]["name"] == "val.csv" and section["training_file"]["name"] == "more.csv"
    # the original run's 60 training rows trained the starting weights: still left out
    _, js = evaluate(tmp_path, run_dir / "data.csv", checkpoint="tuned/best.pt")
    assert (js["leakage"]["training_rows"], js["leakage"]["validation_rows"]) == (60, 20)
    _, js = evaluate(tmp_path, tmp_path / "val.csv", checkpoint="tuned/best.pt")
    assert (js["leakage"]["training_rows"], js["leakage"]["validation_rows"], js["leakage"]["scored"]) == (0, 10, 10)
    # a resumed run keeps the record it started with
    assert run_cli("train", "--model", str(run_dir / "model.py"), "--data", str(tmp_path / "more.csv"),
                   "--resume", str(tmp_path / "tuned" / "last.pt"), "--val-data", str(tmp_path / "val.csv"),
                   "--epochs", "3", "--device", "cpu", "--quiet") == 0
    resumed = torch.load(tmp_path / "tuned" / "last.pt", weights_only=True)["training_rows"]
    assert resumed["training_file"] == section["training_file"]
    assert torch.equal(resumed["training"]["remainders"], section["training"]["remainders"])
    assert len(resumed["earlier"]) == 1


def test_the_demo_checkpoint_on_its_full_csv_scores_exactly_the_held_out_rows(tmp_path: Path) -> None:
    from evalstudio.resources import resource_path

    demo = Path(resource_path("demo", "pima_model.py")).parent
    for name, data, holdout in (("pima", "pima-indians-diabetes.csv", "pima-holdout.csv"),
                                ("wine", "wine.csv", "wine-holdout.csv"),
                                ("churn", "churn.csv", "churn-holdout.csv")):  # text columns, blank cells
        out, pred = tmp_path / f"{name}.json", tmp_path / f"{name}.csv"
        assert run_cli("evaluate", "--model", str(demo / f"{name}_model.py"), "--checkpoint",
                       str(demo / f"{name}_checkpoint.pt"), "--data", str(demo / data), "--device", "cpu",
                       "--json", str(out), "--predictions", str(pred), "--quiet") == 0
        full, held = pd.read_csv(demo / data), pd.read_csv(demo / holdout)
        scored = [int(r["row"]) - 1 for r in csv.DictReader(pred.open())]
        as_text = lambda f: sorted(f.astype(str).agg(",".join, axis=1))  # noqa: E731
        assert as_text(full.iloc[scored]) == as_text(held), name
        leak = json.loads(out.read_text())["leakage"]
        assert (leak["rows_in_file"], leak["training_rows"], leak["scored"]) == (len(full), len(full) - len(held), len(held))
