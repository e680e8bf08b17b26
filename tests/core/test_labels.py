"""Class labels are text: trimmed, compared exactly, never rounded through a float."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalstudio.core.data.dataset import load_csv
from evalstudio.core.errors import DataError
from evalstudio.core.evaluation.pipeline import positive_index


def write(tmp_path: Path, labels: list[str], name: str = "d.csv") -> Path:
    p = tmp_path / name
    p.write_text("x,label\n" + "".join(f"{i},{lab}\n" for i, lab in enumerate(labels)))
    return p


def test_labels_equal_as_float64_stay_two_classes(tmp_path: Path) -> None:
    assert float(9007199254740993) == float(9007199254740992)
    d = load_csv(write(tmp_path, ["9007199254740993", "9007199254740992"] * 3))
    assert d.classes == ("9007199254740992", "9007199254740993")
    assert d.y.tolist() == [1, 0] * 3


def test_labels_around_ten_to_the_twenty_stay_two_classes(tmp_path: Path) -> None:
    big, bigger = str(10**20), str(10**20 + 1)
    d = load_csv(write(tmp_path, [big, bigger, big, bigger]))
    assert d.classes == (big, bigger) and d.class_counts().tolist() == [2, 2]


def test_numeric_spellings_of_one_number_are_one_class(tmp_path: Path) -> None:
    d = load_csv(write(tmp_path, ["1", "1.0", "01", "+1", "2", "2.50", "2.5"]))
    assert d.classes == ("1", "2", "2.5") and d.class_counts().tolist() == [4, 1, 2]


def test_labels_are_trimmed(tmp_path: Path) -> None:
    d = load_csv(write(tmp_path, [" yes", "yes", "no ", "\tno", "yes"]))
    assert d.classes == ("no", "yes") and d.class_counts().tolist() == [2, 3]
    assert any("written with and without spaces" in n and "'no'" in n and "'yes'" in n for n in d.notes)


def test_labels_differing_in_case_stay_apart_with_a_note(tmp_path: Path) -> None:
    d = load_csv(write(tmp_path, ["yes", "Yes", "no", "yes"]))
    assert d.classes == ("Yes", "no", "yes")
    assert any("differ only in case" in n and "'Yes' and 'yes'" in n for n in d.notes)


@pytest.mark.parametrize("words", [("True", "False"), ("true", "false"), ("TRUE", "FALSE")])
def test_true_false_labels_keep_their_names(tmp_path: Path, words: tuple[str, str]) -> None:
    """pandas reads them as 1 / 0 in a number column; the fast reader must step aside."""
    d = load_csv(write(tmp_path, [words[0], words[1], words[0], words[1]]))
    assert set(d.classes) == set(words)
    assert positive_index(d.classes, words[0]) == d.classes.index(words[0])


def test_a_label_written_differently_is_refused_with_the_class_it_looks_like(tmp_path: Path) -> None:
    train = load_csv(write(tmp_path, ["<=50K", ">50K", "<=50K"]))
    with pytest.raises(DataError) as info:
        load_csv(write(tmp_path, ["<=50K.", ">50K.", ">50K."], "test.csv"), classes=train.classes)
    text = str(info.value)
    assert "label '<=50K.' in column 'label'" in text and "'>50K.'" in text
    assert "'>50K.' for '>50K'" in text and "does not guess" in text
    assert "\n" not in text
