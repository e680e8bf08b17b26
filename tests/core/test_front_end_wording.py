"""Errors and notes say how to fix a problem in the front end that shows them.

The command line names its flags (``--target``); the window names its controls (the Target
picker). ``str(error)`` stays the command line's text; ``error.text("app")`` never names a flag.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn

from evalstudio.core.data.dataset import load_csv
from evalstudio.core.errors import DataError, EvalStudioError, Note, text_for
from evalstudio.core.models.key_matching import apply_checkpoint
from evalstudio.core.models.outputs import OutputKind, output_notes
from evalstudio.core.training.config import TrainConfig
from evalstudio.core.training.kfold import fold_indices

FLAG = re.compile(r"(?<![\w-])--[a-z]")


def _raised(call, *args, **kwargs) -> EvalStudioError:  # noqa: ANN001
    with pytest.raises(EvalStudioError) as err:
        call(*args, **kwargs)
    return err.value


def test_the_hint_per_front_end_and_the_neutral_fallback() -> None:
    err = DataError("the file has holes.", hint="Fill them.", hints={"cli": "Pass --fill.", "app": "Tick Fill."})
    assert str(err) == err.text("cli") == "the file has holes. Pass --fill."
    assert err.text("app") == "the file has holes. Tick Fill."
    plain = DataError("no rows", hint="Add rows.")
    assert plain.text("app") == plain.text("cli") == str(plain) == "no rows. Add rows."
    with pytest.raises(ValueError, match="unknown front end"):
        DataError("x", hints={"web": "y"})


def test_wording_survives_pickling() -> None:
    err = DataError("m.", hint="h.", hints={"app": "a."}, messages={"app": "M."})
    back = pickle.loads(pickle.dumps(err))
    assert back.text("app") == "M. a." and str(back) == "m. h."
    note = Note("pass --x", texts={"app": "tick X"})
    back_note = pickle.loads(pickle.dumps(note))
    assert back_note == "pass --x" and text_for(back_note, "app") == "tick X"


def _csv(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "d.csv"
    p.write_text(text)
    return p


def test_missing_values_name_the_checkbox_in_the_window(tmp_path: Path) -> None:
    # Missing cells are refused where the columns must be numbers as read (a checkpoint without an encoding).
    err = _raised(load_csv, _csv(tmp_path, "a,b,y\n1,,0\n2,3,1\n4,5,0\n"), numeric_only=True)
    assert "--drop-missing" in str(err)
    assert not FLAG.search(err.text("app"))
    assert "Drop rows with missing values" in err.text("app") and "Data tab" in err.text("app")


def test_a_measurement_as_target_names_the_target_picker(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rows = "\n".join(f"{i},{v:.3f}" for i, v in enumerate(rng.normal(30, 5, 40)))
    err = _raised(load_csv, _csv(tmp_path, "a,BMI\n" + rows + "\n"), target="BMI")
    assert "--target NAME" in str(err)
    assert not FLAG.search(err.text("app")) and "target=NAME" not in err.text("app")
    assert "Target picker of the Data tab" in err.text("app")


def test_single_class_target_names_the_target_picker(tmp_path: Path) -> None:
    err = _raised(load_csv, _csv(tmp_path, "a,y\n1,x\n2,x\n"))
    assert not FLAG.search(err.text("app")) and "Target picker" in err.text("app")


def test_training_settings_are_named_as_the_window_labels_them() -> None:
    err = _raised(TrainConfig, optimizer="rmsprop")
    assert str(err) == "--optimizer is 'rmsprop'. Use adam | adamw | sgd."
    assert err.text("app") == "Optimizer is 'rmsprop'. Use adam | adamw | sgd."
    assert _raised(TrainConfig, batch_size=0).text("app").startswith("Batch size is 0.")


def test_too_many_folds_names_the_folds_box() -> None:
    y = np.array([0] * 10 + [1] * 3)
    err = _raised(fold_indices, y, 5, 0)
    assert "--folds 3" in str(err)
    assert err.text("app").endswith("Set K-fold folds to 3 or fewer, or use more data.")


def test_a_checkpoint_that_does_not_fit_names_the_non_strict_checkbox() -> None:
    torch.manual_seed(0)
    src = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
    dst = nn.Sequential(nn.Linear(8, 12), nn.ReLU(), nn.Linear(12, 1))
    err = _raised(apply_checkpoint, dst, src.state_dict())
    assert "pass --non-strict" in str(err)
    assert not FLAG.search(err.text("app"))
    assert "Load only the tensors that fit (non-strict)" in err.text("app")


def test_output_notes_name_the_outputs_picker() -> None:
    raw = np.full((10, 1), 0.4)
    (note,) = output_notes(raw, OutputKind.LOGIT)
    assert note.endswith("pass --outputs probabilities")  # as a str: the command line's words
    assert not FLAG.search(text_for(note, "app")) and "Outputs picker" in text_for(note, "app")


def test_column_roles_name_the_columns_table_in_the_window(tmp_path: Path) -> None:
    from evalstudio.core.data.columns import ColumnRoles

    rows = "".join(f"{i},{'xyz'[i % 3]},{i % 2}\n" for i in range(30))
    err = _raised(load_csv, _csv(tmp_path, "a,b,y\n" + rows), roles=ColumnRoles(numeric=("b",)))
    assert "--numeric b" in str(err)
    assert not FLAG.search(err.text("app")) and "Columns table" in err.text("app")
    ids = "".join(f"{i + 1},{'xyz'[i % 3]},{i % 2}\n" for i in range(30))
    data = load_csv(_csv(tmp_path, "PassengerId,b,y\n" + ids))
    (note,) = [n for n in data.notes if "looks like a row number" in n]
    assert "--ignore PassengerId" in note
    assert not FLAG.search(text_for(note, "app")) and "Columns table" in text_for(note, "app")
