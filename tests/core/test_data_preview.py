"""preview_rows and describe_columns: what the data panel shows before and after the full load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evalstudio.core.data.dataset import load_csv
from evalstudio.core.data.preview import describe_columns, preview_rows
from evalstudio.core.errors import DataError

PIMA = Path(__file__).resolve().parents[2] / "resources" / "demo" / "pima-indians-diabetes.csv"
if not PIMA.exists():
    PIMA = Path("/work/shared/data/pima-indians-diabetes.csv")


def test_preview_reads_only_the_first_rows() -> None:
    p = preview_rows(PIMA, 3)
    assert p.columns[0] == "NumTimesPrg" and p.columns[-1] == "target"
    assert p.rows == (
        ("6", "148", "72", "35", "0", "33.6", "0.627", "50", "1"),
        ("1", "85", "66", "29", "0", "26.6", "0.351", "31", "0"),
        ("8", "183", "64", "0", "0", "23.3", "0.672", "32", "1"),
    )
    assert p.delimiter == "," and p.has_header and not p.complete
    assert (p.target, p.target_reason) == ("target", "named like a label column")


def test_preview_of_a_small_headerless_semicolon_file(tmp_path: Path) -> None:
    f = tmp_path / "d.csv"
    f.write_text("1;2,5;0\n3;4;1\n")
    p = preview_rows(f, 50)
    assert p.complete and not p.has_header
    assert p.columns == ("col_1", "col_2", "col_3") and p.rows == (("1", "2,5", "0"), ("3", "4", "1"))
    assert (p.delimiter, p.decimal, p.target) == (";", ",", "col_3")
    assert any("no header row" in n for n in p.notes)


def test_preview_refuses_what_load_csv_refuses(tmp_path: Path) -> None:
    f = tmp_path / "d.csv"
    f.write_bytes(b"")
    with pytest.raises(DataError, match="is empty"):
        preview_rows(f)
    f.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="target column 'z' not found"):
        preview_rows(f, target="z")


def test_describe_a_file_from_its_first_rows(tmp_path: Path) -> None:
    f = tmp_path / "d.csv"
    f.write_text("age,sex,blank,label\n30,M,,yes\n?,F,,no\n50,M,NA,yes\n")
    cols = {c.name: c for c in describe_columns(f)}
    assert [c.name for c in describe_columns(f)] == ["age", "sex", "blank", "label"]
    age = cols["age"]
    assert (age.role, age.kind, age.n_rows, age.n_missing, age.n_distinct) == ("feature", "number", 3, 1, 2)
    assert (age.minimum, age.maximum, age.mean) == (30.0, 50.0, 40.0)
    assert age.std == pytest.approx(10.0) and not age.sampled
    assert (cols["sex"].kind, cols["sex"].examples, cols["sex"].minimum) == ("text", ("M", "F"), None)
    assert cols["blank"].kind == "empty" and cols["blank"].n_missing == 3
    assert (cols["label"].role, cols["label"].n_distinct) == ("target", 2)


def test_describe_a_large_file_says_it_sampled() -> None:
    cols = describe_columns(PIMA, n=100)
    assert all(c.sampled and c.n_rows == 100 for c in cols)
    assert cols[-1].name == "target" and cols[-1].role == "target"


def test_describe_a_loaded_dataset_exactly() -> None:
    d = load_csv(PIMA)
    cols = describe_columns(d)
    assert [c.name for c in cols] == [*d.feature_names, "target"]
    bmi = cols[d.feature_names.index("BMI")]
    col = d.X[:, d.feature_names.index("BMI")].astype(np.float64)
    assert (bmi.minimum, bmi.maximum) == (col.min(), col.max())
    assert bmi.mean == pytest.approx(col.mean()) and bmi.std == pytest.approx(col.std())
    assert bmi.n_rows == 768 and not bmi.sampled
    target = cols[-1]
    assert (target.role, target.kind, target.n_distinct, target.examples) == ("target", "class", 2, ("0", "1"))


def test_describe_with_a_forced_delimiter(tmp_path: Path) -> None:
    f = tmp_path / "d.csv"
    f.write_text("a|b;c|label\n1|2|x\n3|4|y\n")
    assert [c.name for c in describe_columns(f, delimiter="|")] == ["a", "b;c", "label"]
