"""Column roles and kinds: inferred from the parsed file, overridden by the user, refused when wrong."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evalstudio.core.data.columns import ColumnRoles
from evalstudio.core.data.dataset import load_csv, with_roles
from evalstudio.core.data.encoding import CategoricalEncoding, IgnoredColumn, NumericEncoding
from evalstudio.core.errors import DataError
from tests.tables import adult_like, churn_like, titanic_like


def kinds(data) -> dict[str, str]:
    out = {}
    for c in data.encoding.columns:
        out[c.name] = ("ignored" if isinstance(c, IgnoredColumn) else
                       "numeric" if isinstance(c, NumericEncoding) else "categorical")
    return out


def column(data, name):
    return next(c for c in data.encoding.columns if c.name == name)


def test_churn_like_table_is_read_without_a_word(tmp_path: Path) -> None:
    d = load_csv(churn_like(tmp_path / "churn.csv"))
    assert d.target_name == "Churn" and d.classes == ("No", "Yes")
    assert kinds(d) == {
        "customerID": "ignored", "gender": "categorical", "Senior": "numeric", "Partner": "categorical",
        "tenure": "numeric", "Contract": "categorical", "PaymentMethod": "categorical", "Country": "ignored",
        "MonthlyCharges": "numeric", "TotalCharges": "numeric",
    }
    assert column(d, "customerID").reason == "one value per row"
    assert column(d, "Country").reason == "one value in every row"
    # A few blank (" ") cells keep a numeric column numeric, with a missing indicator.
    total = column(d, "TotalCharges")
    assert total.missing_input and d.table.column("TotalCharges").n_missing == 7
    assert "TotalCharges (missing)" in d.feature_names
    assert column(d, "Contract").slots == ("Month-to-month", "One year", "Two year")
    assert "Contract=Two year" in d.feature_names and "PaymentMethod=Credit card (automatic)" in d.feature_names
    assert any("column 'customerID' set aside: one value per row" in n for n in d.notes)
    assert d.n_features == len(d.feature_names) == d.encoding.width


def test_adult_like_headerless_spaces_and_question_marks(tmp_path: Path) -> None:
    d = load_csv(adult_like(tmp_path / "adult.csv"))
    assert d.target_name == "col_7" and d.classes == ("<=50K", ">50K")  # trimmed labels
    work = column(d, "col_2")
    assert isinstance(work, CategoricalEncoding)
    assert work.slots == ("Federal-gov", "Local-gov", "Private", "Self-emp")  # " Private" trimmed
    assert work.missing_input and d.table.column("col_2").n_missing == 10  # "?" is missing
    # " 39" with its leading space is a number.
    assert isinstance(column(d, "col_1"), NumericEncoding)
    assert d.table.column("col_1").numbers[:3].tolist() == [float(v.split(",")[0]) for v in
                                                            (tmp_path / "adult.csv").read_text().splitlines()[:3]]


def test_titanic_like_ids_names_and_empty_cabins(tmp_path: Path) -> None:
    d = load_csv(titanic_like(tmp_path / "titanic.csv"), target="Survived")
    k = kinds(d)
    assert k["Name"] == "ignored" and k["Cabin"] == "ignored" and k["Sex"] == "categorical"
    assert k["PassengerId"] == "numeric" and k["Pclass"] == "numeric"
    assert any("'PassengerId' holds a different whole number on every row" in n and "--ignore PassengerId" in n
               for n in d.notes)
    assert column(d, "Age").missing_input


def test_a_measured_integer_column_is_not_taken_for_an_id(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    values = rng.choice(1_000_000, size=100, replace=False)
    p = tmp_path / "w.csv"
    p.write_text("fnlwgt,x,label\n" + "".join(f"{v},{i % 3},{i % 2}\n" for i, v in enumerate(values)))
    assert not any("looks like a row number" in n for n in load_csv(p).notes)


def test_constant_and_empty_columns_are_set_aside(tmp_path: Path) -> None:
    p = tmp_path / "c.csv"
    p.write_text("a,same,empty,label\n" + "".join(f"{i},k,,{i % 2}\n" for i in range(30)))
    d = load_csv(p)
    assert kinds(d) == {"a": "numeric", "same": "ignored", "empty": "ignored"}
    assert column(d, "empty").reason == "every cell is missing"
    assert d.feature_names == ("a",)


def test_small_tables_keep_their_text_as_categories(tmp_path: Path) -> None:
    # 12 rows, 10 different colours: not an id column (too few values to tell).
    p = tmp_path / "small.csv"
    colours = ["red", "green", "blue", "cyan", "pink", "gold", "grey", "teal", "plum", "navy", "red", "blue"]
    p.write_text("colour,x,label\n" + "".join(f"{c},{i},{i % 2}\n" for i, c in enumerate(colours)))
    assert kinds(load_csv(p))["colour"] == "categorical"


# --------------------------------------------------------------------------------------------
# overrides


def test_a_numeric_code_read_as_categories(tmp_path: Path) -> None:
    p = titanic_like(tmp_path / "t.csv")
    d = load_csv(p, target="Survived", roles=ColumnRoles(categorical=("Pclass",), ignore=("PassengerId",)))
    pclass = column(d, "Pclass")
    assert isinstance(pclass, CategoricalEncoding) and pclass.numeric_codes
    assert pclass.slots == ("1", "2", "3")
    assert ("Pclass=1", "Pclass=2", "Pclass=3") == tuple(n for n in d.feature_names if n.startswith("Pclass"))
    assert kinds(d)["PassengerId"] == "ignored" and column(d, "PassengerId").reason == "--ignore"
    rows = d.table.column("Pclass").numbers
    block = d.X[:, [d.feature_names.index(f"Pclass={k}") for k in (1, 2, 3)]]
    np.testing.assert_array_equal(block.argmax(1) + 1, rows)


def test_features_keeps_only_those_columns(tmp_path: Path) -> None:
    d = load_csv(churn_like(tmp_path / "c.csv"), roles=ColumnRoles(features=("tenure", "Contract", "customerID")))
    k = kinds(d)
    assert [n for n, v in k.items() if v != "ignored"] == ["customerID", "tenure", "Contract"]
    assert column(d, "gender").reason == "not in --features"
    # customerID was named: used, as categories (all rare, so one "(other)" input).
    assert column(d, "customerID").inputs == ("customerID=(other)",)


@pytest.mark.parametrize(("roles", "words"), [
    (ColumnRoles(ignore=("nosuch",)), ["--ignore nosuch", "no column 'nosuch'", "customerID"]),
    (ColumnRoles(categorical=("Churn",)), ["--categorical Churn", "is the target column"]),
    (ColumnRoles(numeric=("Contract",)), ["--numeric Contract", "holds text, such as '", "year", "(row "]),
    (ColumnRoles(ignore=("tenure",), numeric=("tenure",)), ["'tenure' is given to both --ignore and --numeric"]),
    (ColumnRoles(features=("customerID",), ignore=("customerID",)), ["no feature column is left"]),
])
def test_bad_overrides_name_the_column(tmp_path: Path, roles: ColumnRoles, words: list[str]) -> None:
    with pytest.raises(DataError) as info:
        load_csv(churn_like(tmp_path / "c.csv"), roles=roles)
    text = str(info.value)
    assert "\n" not in text
    for w in words:
        assert w in text


def test_min_category_count_must_be_positive() -> None:
    with pytest.raises(DataError, match="--min-category-count is 0"):
        ColumnRoles(min_category_count=0)


def test_changing_a_role_replans_without_reading_the_file(tmp_path: Path) -> None:
    p = churn_like(tmp_path / "c.csv")
    d = load_csv(p)
    p.unlink()  # nothing is read again
    d2 = with_roles(d, ColumnRoles(ignore=("Contract",), categorical=("Senior",)))
    assert kinds(d2)["Contract"] == "ignored" and kinds(d2)["Senior"] == "categorical"
    assert not any(n.startswith("Contract=") for n in d2.feature_names)
    assert "Senior=0" in d2.feature_names and d2.n_samples == d.n_samples
    np.testing.assert_array_equal(d2.y, d.y)
    back = with_roles(d2, ColumnRoles())
    np.testing.assert_array_equal(back.X, d.X)
    assert back.feature_names == d.feature_names


def test_with_kind_moves_a_column_between_roles() -> None:
    roles = ColumnRoles(ignore=("a",), features=("b",))
    moved = roles.with_kind("a", "categorical")
    assert moved.ignore == () and moved.categorical == ("a",) and moved.features == ("b", "a")
    assert moved.with_kind("a", "ignored").ignore == ("a",)
