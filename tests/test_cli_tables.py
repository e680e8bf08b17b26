"""The CLI on tables people have, end to end: columns the checkpoint needs, values it never saw, labels
read as text, and row fingerprints over text columns.

The tables are written here (CI has no ../shared/data); the expected numbers are worked out from the
rows written, not with the code under test.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from evalstudio.cli import main
from tests.tables import churn_like
from tests.test_cli_columns import one_error_line, workdir  # noqa: F401 (workdir: a fixture)

FAST = ["--epochs", "2", "--device", "cpu", "--quiet", "--no-intervals"]


def rewrite(src: Path, dst: Path, change: Any) -> list[list[str]]:
    """``dst``: ``src``'s rows (header first) passed through ``change(k, row)``; returns them."""
    rows = list(csv.reader(src.read_text().splitlines()))
    out = [change(k, list(r)) for k, r in enumerate(rows)]
    with dst.open("w", newline="") as fh:
        csv.writer(fh).writerows(out)
    return out


def evaluate(*argv: str) -> int:
    return main(["evaluate", "--model", "model.py", "--checkpoint", "run/best.pt", "--device", "cpu",
                 "--no-intervals", *argv])


@pytest.fixture()
def churn_run(workdir: Path) -> Path:
    churn_like(workdir / "churn.csv", n=200)
    assert main(["train", "--model", "model.py", "--data", "churn.csv", "--out", "run", *FAST]) == 0
    return workdir


def test_a_column_the_checkpoint_needs_is_named_when_the_file_lacks_it(churn_run: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    header = next(csv.reader(Path("churn.csv").read_text().splitlines()))
    drop = header.index("Contract")
    rewrite(Path("churn.csv"), Path("no-contract.csv"), lambda k, r: r[:drop] + r[drop + 1:])
    capsys.readouterr()
    assert evaluate("--data", "no-contract.csv", "--quiet") == 2
    line = one_error_line(capsys)
    assert "'Contract'" in line and "lacks" in line
    # a column set aside at training (customerID) is not needed
    ident = header.index("customerID")
    rewrite(Path("churn.csv"), Path("no-id.csv"), lambda k, r: r[:ident] + r[ident + 1:])
    assert evaluate("--data", "no-id.csv", "--quiet") == 0


def test_values_never_seen_in_training_are_counted_per_column_and_said(churn_run: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    header = next(csv.reader(Path("churn.csv").read_text().splitlines()))
    col = header.index("PaymentMethod")
    new = {3, 10, 11, 50}  # data rows (1-based) given a payment method training never saw
    rewrite(Path("churn.csv"), Path("new-values.csv"),
            lambda k, r: r[:col] + ["Crypto wallet"] + r[col + 1:] if k in new else r)
    capsys.readouterr()
    assert evaluate("--data", "new-values.csv", "--include-training-rows", "--json", "e.json") == 0
    out = capsys.readouterr().out
    cols = {c["name"]: c for c in json.loads(Path("e.json").read_text())["features"]["columns"]}
    assert cols["PaymentMethod"]["unseen"] == len(new)
    assert all(c.get("unseen", 0) == 0 for n, c in cols.items() if n != "PaymentMethod")
    # medians as the file writes numbers (two decimals; a middle of two values has three), not float32 noise
    median = cols["MonthlyCharges"]["median"]
    assert median == round(median, 3) and 20 <= median <= 110
    said = [line for line in out.splitlines() if "never held" in line]
    assert len(said) == 1 and f"PaymentMethod {len(new)} rows" in said[0], out


def _labels_csv(path: Path, labels: list[str]) -> Path:
    rng = np.random.default_rng(0)
    lines = ["x,z,label"] + [f"{rng.normal():.4f},{rng.normal():.4f},{lab}" for lab in labels]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(("a", "b"), [("9007199254740992", "9007199254740993"), (str(10**20), str(10**20 + 1))])
def test_labels_equal_as_floats_are_two_classes_in_train_kfold_and_evaluate(workdir: Path, a: str, b: str) -> None:
    assert float(a) == float(b)
    _labels_csv(workdir / "d.csv", [a, b] * 20)
    assert main(["train", "--model", "model.py", "--data", "d.csv", "--out", "run", "--json", "t.json", *FAST]) == 0
    assert json.loads(Path("t.json").read_text())["classes"] == [a, b]
    assert main(["kfold", "--model", "model.py", "--data", "d.csv", "--folds", "2", "--json", "k.json", *FAST]) == 0
    k = json.loads(Path("k.json").read_text())
    assert k["classes"] == [a, b]
    assert evaluate("--data", "d.csv", "--include-training-rows", "--json", "e.json", "--quiet") == 0
    e = json.loads(Path("e.json").read_text())
    assert e["classes"] == [a, b] and np.sum(e["confusion_matrix"], axis=1).tolist() == [20, 20]


def test_labels_differing_only_in_case_or_spaces_get_a_note(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _labels_csv(workdir / "d.csv", ["yes", "Yes", "no", " no"] * 10)
    assert main(["train", "--model", "model.py", "--data", "d.csv", "--out", "run", "--json", "t.json",
                 "--epochs", "1", "--device", "cpu", "--no-intervals"]) == 0
    out = capsys.readouterr().out
    t = json.loads(Path("t.json").read_text())
    assert t["classes"] == ["Yes", "no", "yes"]  # three classes: case is kept, spaces are not
    assert any("differ only in case" in n and "'Yes' and 'yes'" in n for n in t["notes"])
    assert "differ only in case" in out


@pytest.mark.parametrize("words", [("True", "False"), ("true", "false")])
def test_true_false_labels_keep_their_names_and_positive_class_finds_them(workdir: Path, words: tuple[str, str]) -> None:
    yes, no = words
    _labels_csv(workdir / "d.csv", [yes, no, no] * 14)
    for command, extra in (("train", ["--out", "run"]), ("kfold", ["--folds", "2"])):
        assert main([command, "--model", "model.py", "--data", "d.csv", "--positive-class", yes, *extra,
                     "--json", f"{command}.json", *FAST]) == 0
        assert set(json.loads(Path(f"{command}.json").read_text())["classes"]) == {yes, no}
    assert evaluate("--data", "d.csv", "--include-training-rows", "--positive-class", yes, "--json", "e.json",
                    "--quiet") == 0
    e = json.loads(Path("e.json").read_text())
    assert e["positive_class"] == yes and set(e["classes"]) == {yes, no}
    positive = e["classes"].index(yes)
    assert int(np.sum(e["confusion_matrix"], axis=1)[positive]) == 14


def test_training_rows_of_a_mixed_table_are_found_by_their_text_columns(churn_run: Path) -> None:
    """Row fingerprints hash the parsed cells (text, missing), not the encoded inputs."""
    assert evaluate("--data", "churn.csv", "--include-training-rows", "--json", "same.json", "--quiet") == 0
    leak = json.loads(Path("same.json").read_text())["leakage"]
    assert leak["training_rows"] == 160 and leak["validation_rows"] == 40
    header = next(csv.reader(Path("churn.csv").read_text().splitlines()))
    ident = header.index("customerID")  # set aside: not part of a row's fingerprint
    col = header.index("PaymentMethod")

    def other_payment(k: int, r: list[str]) -> list[str]:
        if k == 0:
            return r
        r[ident] = f"NEW-{k}"
        r[col] = "Mailed check" if r[col] != "Mailed check" else "Electronic check"
        return r

    rewrite(Path("churn.csv"), Path("changed.csv"), other_payment)
    # the same numbers, another known text value in one column on every row: no row is a training row
    assert evaluate("--data", "changed.csv", "--json", "changed.json", "--quiet") == 0
    leak = json.loads(Path("changed.json").read_text())["leakage"]
    assert leak["training_rows"] == 0 and leak["scored"] == 200
    # only the set-aside id changed: every row is still the row it was
    rewrite(Path("churn.csv"), Path("new-ids.csv"), lambda k, r: r if k == 0 else r[:ident] + [f"X{k}"] + r[ident + 1:])
    assert evaluate("--data", "new-ids.csv", "--include-training-rows", "--json", "ids.json", "--quiet") == 0
    assert json.loads(Path("ids.json").read_text())["leakage"]["training_rows"] == 160


def test_train_and_kfold_say_which_columns_were_set_aside_and_why(workdir: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    churn_like(workdir / "churn.csv", n=120)
    quiet = [a for a in FAST if a != "--quiet"]
    for command, extra in (("train", ["--out", "run"]), ("kfold", ["--folds", "2"])):
        assert main([command, "--model", "model.py", "--data", "churn.csv", *extra, "--json", f"{command}.json",
                     *quiet]) == 0
        notes = [line for line in capsys.readouterr().out.splitlines() if line.startswith("note:")]
        said = [n for n in notes if "'customerID' set aside: one value per row" in n]
        assert len(said) == 1 and "--categorical customerID" in said[0], notes
        assert any("missing cells (TotalCharges 7)" in n for n in notes), notes
        assert any("'customerID' set aside" in n for n in json.loads(Path(f"{command}.json").read_text())["notes"])
