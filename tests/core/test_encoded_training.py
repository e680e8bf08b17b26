"""Training on a mixed table: the encoding is learned from training rows only (per fold in k-fold),
saved in every checkpoint (weights_only), and applied again by the evaluation pipeline."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn

from evalstudio.core.data.dataset import load_csv
from evalstudio.core.data.encoding import CategoricalEncoding, NumericEncoding
from evalstudio.core.data.encoding_state import from_state
from evalstudio.core.errors import DataError
from evalstudio.core.evaluation.pipeline import EvaluationSpec, run_evaluation
from evalstudio.core.models.outputs import OutputKind
from evalstudio.core.training.config import TrainConfig
from evalstudio.core.training.kfold import cross_validate, fold_indices
from evalstudio.core.training.loop import fit, split_validation
from tests.tables import churn_like

from _train_helpers import one_thread  # noqa: F401 (autouse fixture)

CFG = TrainConfig(epochs=3, batch_size=32, lr=0.01, seed=3, device="cpu")


def linear(n_features: int) -> nn.Module:
    return nn.Linear(n_features, 2)


def fold_trap_csv(path: Path, k: int = 4, seed: int = 3) -> tuple[Path, np.ndarray, int]:
    """A table whose category "zz" and large ``x`` values sit only in fold 1's held-out rows."""
    n = 80
    y = np.arange(n) % 2
    splits = fold_indices(y, k, seed)
    held = np.sort(splits[0][1])[:6]
    rows = []
    for i in range(n):
        c = "zz" if i in held else "ab"[i % 2]
        x = 1000 + i if i in held else i % 10
        rows.append(f"{c},{x},{y[i]}")
    path.write_text("c,x,label\n" + "\n".join(rows) + "\n")
    return path, held, k


@pytest.mark.parametrize("stacked", [False, True])
def test_each_fold_learns_its_encoding_from_its_training_rows_only(tmp_path: Path, stacked: bool) -> None:
    path, held, k = fold_trap_csv(tmp_path / "trap.csv")
    data = load_csv(path)
    assert "c=zz" in data.feature_names  # the file has it (6 rows): an input of the model
    cv = cross_validate(lambda: linear(data.n_features), data, CFG, output_kind=OutputKind.LOGITS, k=k,
                        stacked=stacked)
    first = cv.folds[0]
    enc = first.encoding
    c = next(col for col in enc.columns if col.name == "c")
    x = next(col for col in enc.columns if col.name == "x")
    assert isinstance(c, CategoricalEncoding) and isinstance(x, NumericEncoding)
    assert "zz" not in c.known and "zz" not in c.rare  # fold 1 never saw it
    assert first.unseen == {"c": 6}
    assert x.median == pytest.approx(float(np.median(data.table.column("x").numbers[first.train_index])))
    # the model of fold 1 was trained with c=zz at 0 on every row
    train_X = enc.transform(data.table.take(first.train_index)).X
    assert train_X[:, list(enc.input_names).index("c=zz")].sum() == 0
    # every other fold trained on those rows: it knows "zz"
    for f in cv.folds[1:]:
        other = next(col for col in f.encoding.columns if col.name == "c")
        assert "zz" in other.known and f.unseen.get("c", 0) == 0


def test_the_checkpoint_carries_the_encoding_and_evaluation_applies_it(tmp_path: Path) -> None:
    src = churn_like(tmp_path / "churn.csv", n=300)
    data = load_csv(src)
    torch.manual_seed(0)
    result = fit(linear(data.n_features), data, CFG, output_kind=OutputKind.LOGITS, out_dir=tmp_path / "run")
    saved = torch.load(result.best_checkpoint, weights_only=True)
    enc = from_state(saved["encoding"])
    assert enc.input_names == data.feature_names == tuple(saved["feature_names"])
    # learned from the training rows only (the validation split fit makes)
    tr, _ = split_validation(data, CFG.val_fraction, CFG.seed)
    total = next(c for c in enc.columns if c.name == "TotalCharges")
    present = data.table.column("TotalCharges").numbers[tr]
    assert total.median == pytest.approx(float(np.median(present[~np.isnan(present)])))
    assert enc.n_rows == tr.size
    # one-hot inputs are not standardised: mean 0, scale 1
    pre = saved["preprocessing"]
    for j, name in enumerate(enc.input_names):
        if "=" in name or name.endswith("(missing)"):
            assert float(pre["mean"][j]) == 0 and float(pre["scale"][j]) == 1
    # evaluation finds the columns by name: reversed order + an extra column, same predictions
    rows = list(csv.reader(src.read_text().splitlines()))
    other = tmp_path / "reordered.csv"
    with other.open("w", newline="") as fh:
        w = csv.writer(fh)
        for k, r in enumerate(rows):
            w.writerow(["extra" if k == 0 else "?"] + r[::-1])
    model = tmp_path / "model.py"
    model.write_text("import torch.nn as nn\n\ndef build_model(n_features):\n    return nn.Linear(n_features, 2)\n")
    a = run_evaluation(EvaluationSpec(data_path=str(src), model_path=str(model),
                                      checkpoint_path=result.best_checkpoint, device="cpu"))
    b = run_evaluation(EvaluationSpec(data_path=str(other), model_path=str(model),
                                      checkpoint_path=result.best_checkpoint, device="cpu"))
    np.testing.assert_array_equal(a.predictions.y_score, b.predictions.y_score)
    assert a.dataset.feature_names == enc.input_names
    assert any("not used: extra" in n for n in b.dataset.notes)


def test_a_checkpoint_without_encoding_still_needs_numbers(tmp_path: Path) -> None:
    """A checkpoint from elsewhere (no encoding): the CSV's columns are numbers, as before."""
    csv_path = tmp_path / "mixed.csv"
    csv_path.write_text("a,b,label\n" + "".join(f"{i},{'xy'[i % 2]},{i % 2}\n" for i in range(20)))
    torch.save(nn.Linear(2, 2).state_dict(), tmp_path / "w.pt")
    model = tmp_path / "model.py"
    model.write_text("import torch.nn as nn\nmodel = nn.Linear(2, 2)\n")
    with pytest.raises(DataError, match=r"non-numeric feature column .* 'b' \(20 values such as 'x'"):
        run_evaluation(EvaluationSpec(data_path=str(csv_path), model_path=str(model),
                                      checkpoint_path=str(tmp_path / "w.pt"), device="cpu"))
