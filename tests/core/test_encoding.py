"""The fitted encoding: learned from training rows only, unseen values and missing cells, column
order, and its checkpoint state read back with torch.load(weights_only=True)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch

from evalstudio.core.data.columns import ColumnRoles, plan_columns
from evalstudio.core.data.dataset import load_csv
from evalstudio.core.data.encoding import CategoricalEncoding, NumericEncoding, fit_encoding
from evalstudio.core.data.encoding_state import from_state, to_state
from evalstudio.core.errors import DataError
from tests.tables import churn_like


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# colour: "red" x8, "blue" x6, "green" x3 (rare), "" x2 (missing); size: numbers with a blank
TRAIN = "colour,size,label\n" + "".join(
    f"{c},{s},{i % 2}\n" for i, (c, s) in enumerate(
        [("red", 1)] * 8 + [("blue", 2)] * 6 + [("green", 3)] * 3 + [("", 4)] * 2 + [("red", "")]
    )
)


def test_categories_rare_values_and_missing(tmp_path: Path) -> None:
    d = load_csv(write(tmp_path / "t.csv", TRAIN))
    colour = next(c for c in d.encoding.columns if c.name == "colour")
    assert isinstance(colour, CategoricalEncoding)
    assert colour.slots == ("blue", "red") and colour.rare == ("green",)
    assert colour.inputs == ("colour=blue", "colour=red", "colour=(other)", "colour=(missing)")
    size = next(c for c in d.encoding.columns if c.name == "size")
    assert isinstance(size, NumericEncoding) and size.missing_input
    assert size.median == pytest.approx(float(np.median([1] * 7 + [2] * 6 + [3] * 3 + [4] * 2)))
    names = list(d.feature_names)
    X = d.X
    # every row sets exactly one colour input
    block = X[:, [names.index(n) for n in colour.inputs]]
    np.testing.assert_array_equal(block.sum(1), 1)
    assert block[:, 2].sum() == 3 and block[:, 3].sum() == 2  # green -> other, blanks -> missing
    # the blank size is the median, with its indicator
    last = X[-1]
    assert last[names.index("size")] == pytest.approx(size.median) and last[names.index("size (missing)")] == 1
    assert X[:, names.index("size (missing)")].sum() == 1


def test_unseen_values_go_to_other_and_are_counted(tmp_path: Path) -> None:
    train = load_csv(write(tmp_path / "t.csv", TRAIN))
    test = load_csv(write(tmp_path / "e.csv", "size,colour,label\n1,purple,0\n,red,1\n5,,0\n2,green,1\n"),
                    encoding=train.encoding, classes=train.classes)
    names = list(test.feature_names)
    assert names == list(train.feature_names)
    assert test.X[0, names.index("colour=(other)")] == 1  # purple: never seen
    assert test.X[3, names.index("colour=(other)")] == 1  # green: seen, rare
    assert test.X[2, names.index("colour=(missing)")] == 1
    assert test.encoding.count_unseen(test.table) == {"colour": 1}
    assert any("colour 1 row" in n for n in test.notes)


def test_an_unseen_value_without_a_trained_other_sets_nothing(tmp_path: Path) -> None:
    train = load_csv(write(tmp_path / "t.csv", "c,x,label\n" + "a,1,0\nb,2,1\n" * 10))
    enc = train.encoding
    assert enc.width == 3  # c=a, c=b, x: no rare values, no missing cells
    test = load_csv(write(tmp_path / "e.csv", "c,x,label\nz,1,0\n,2,1\n"), encoding=enc, classes=train.classes)
    assert test.X[:, :2].tolist() == [[0, 0], [0, 0]]
    assert enc.count_unseen(test.table) == {"c": 2}  # the missing cell too: training never had one


def test_missing_number_at_evaluation_takes_the_training_median(tmp_path: Path) -> None:
    train = load_csv(write(tmp_path / "t.csv", "x,label\n" + "".join(f"{v},{v % 2}\n" for v in range(1, 12))))
    test = load_csv(write(tmp_path / "e.csv", "x,label\n?,0\n3,1\n"), encoding=train.encoding, classes=train.classes)
    assert test.X[:, 0].tolist() == [6.0, 3.0] and test.n_features == 1


def test_text_where_a_number_was_trained_is_refused(tmp_path: Path) -> None:
    train = load_csv(write(tmp_path / "t.csv", "x,label\n" + "".join(f"{v},{v % 2}\n" for v in range(1, 12))))
    with pytest.raises(DataError, match=r"column 'x' of .* holds text, such as 'abc' \(row 2\)"):
        load_csv(write(tmp_path / "e.csv", "x,label\n1,0\nabc,1\n"), encoding=train.encoding, classes=train.classes)


def test_column_order_and_extra_columns_do_not_change_the_inputs(tmp_path: Path) -> None:
    train = load_csv(churn_like(tmp_path / "c.csv"))
    lines = (tmp_path / "c.csv").read_text().splitlines()
    import csv

    rows = list(csv.reader(lines))
    order = list(reversed(range(len(rows[0]))))
    shuffled = tmp_path / "shuffled.csv"
    with shuffled.open("w", newline="") as fh:
        w = csv.writer(fh)
        for k, r in enumerate(rows):
            w.writerow([r[i] for i in order] + (["extra"] if k == 0 else ["x"]))
    again = load_csv(shuffled, encoding=train.encoding, classes=train.classes)
    np.testing.assert_array_equal(again.X, train.X)
    np.testing.assert_array_equal(again.y, train.y)
    assert any("not trained on are not used: extra" in n for n in again.notes)
    # a needed column that is absent: named
    lacking = tmp_path / "lacking.csv"
    with lacking.open("w", newline="") as fh:
        w = csv.writer(fh)
        drop = rows[0].index("Contract")
        for r in rows:
            w.writerow([v for i, v in enumerate(r) if i != drop])
    with pytest.raises(DataError, match=r"lacks the column 'Contract' that the model was trained on"):
        load_csv(lacking, encoding=train.encoding, classes=train.classes)


def test_refit_on_training_rows_keeps_the_inputs_and_learns_only_from_them(tmp_path: Path) -> None:
    # "zz" only in the last 6 rows, which are held out: its input stays, always 0, and it is unseen.
    text = "c,x,label\n" + "".join(f"{'ab'[i % 2]},{i},{i % 2}\n" for i in range(40)) + "zz,100,0\n" * 3 + "zz,100,1\n" * 3
    d = load_csv(write(tmp_path / "t.csv", text))
    assert "c=zz" in d.feature_names
    train_rows = np.arange(40)
    enc = d.encoding.refit(d.table.take(train_rows))
    assert enc.input_names == d.encoding.input_names
    c = next(col for col in enc.columns if col.name == "c")
    assert c.known == ("a", "b") and "zz" not in c.rare
    x = next(col for col in enc.columns if col.name == "x")
    assert x.median == pytest.approx(19.5)  # not pulled by the held-out 100s
    encoded = enc.transform(d.table)
    zz = list(enc.input_names).index("c=zz")
    assert encoded.X[:, zz].sum() == 0
    assert encoded.unseen == {"c": 6}


def test_state_is_plain_data_that_weights_only_loading_reads(tmp_path: Path) -> None:
    d = load_csv(churn_like(tmp_path / "c.csv"), roles=ColumnRoles(categorical=("Senior",)))
    buf = io.BytesIO()
    torch.save({"encoding": to_state(d.encoding)}, buf)
    buf.seek(0)
    state = torch.load(buf, weights_only=True)["encoding"]
    back = from_state(state)
    assert back == d.encoding
    assert back.input_names == d.feature_names
    np.testing.assert_array_equal(back.transform(d.table).X, d.X)


@pytest.mark.parametrize("damage", [
    lambda s: s.pop("columns"),
    lambda s: s["columns"][0].update(kind="weird"),
    lambda s: s["columns"][1].update(median="x") if s["columns"][1]["kind"] == "numeric" else s["columns"][1].update(kind=3),
    lambda s: s.update(inputs=["a"]),
    lambda s: s.update(version=99),
])
def test_a_damaged_state_is_refused_by_name(tmp_path: Path, damage) -> None:
    d = load_csv(churn_like(tmp_path / "c.csv"))
    state = to_state(d.encoding)
    damage(state)
    with pytest.raises(DataError, match="column encoding in the checkpoint"):
        from_state(state)


def test_matches_scikit_learn_on_the_same_rows(tmp_path: Path) -> None:
    """Median imputation, missing indicators and one-hot columns agree with scikit-learn's."""
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder

    d = load_csv(churn_like(tmp_path / "c.csv", n=300))
    t = d.table
    total = t.column("TotalCharges").numbers.reshape(-1, 1).astype(np.float64)
    imputed = SimpleImputer(strategy="median", add_indicator=True).fit_transform(total)
    names = list(d.feature_names)
    np.testing.assert_allclose(d.X[:, names.index("TotalCharges")], imputed[:, 0], rtol=1e-6)
    np.testing.assert_array_equal(d.X[:, names.index("TotalCharges (missing)")], imputed[:, 1])
    codes, values = t.column("PaymentMethod").categories()
    text = np.array(values, dtype=object)[codes].reshape(-1, 1)
    ohe = OneHotEncoder(sparse_output=False).fit(text)
    ours = d.X[:, [names.index(f"PaymentMethod={c}") for c in ohe.categories_[0]]]
    np.testing.assert_array_equal(ours, ohe.transform(text))


def test_fit_encoding_alone_has_no_dead_inputs(tmp_path: Path) -> None:
    d = load_csv(churn_like(tmp_path / "c.csv"))
    kinds = plan_columns(d.table)
    rows = np.arange(0, 200)
    enc = fit_encoding(d.table, kinds, rows=rows)
    assert enc.n_rows == 200
    for c in enc.columns:
        if isinstance(c, CategoricalEncoding):
            assert c.known == c.slots
