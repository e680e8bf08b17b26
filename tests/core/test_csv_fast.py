"""The fast reader for clean numeric files: same result as the full reader, or it steps aside."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evalstudio.core.data import csv_fast
from evalstudio.core.data.csv_format import sniff_csv
from evalstudio.core.data.csv_read import Problems
from evalstudio.core.data.dataset import choose_target, load_csv
from evalstudio.core.data.table_read import read_columns
from evalstudio.core.errors import DataError


def _full(path: Path, target: str | None = None, classes=None):
    fmt = sniff_csv(path)
    name, _ = choose_target(fmt.columns, target)
    features = [c for c in fmt.columns if c != name]
    columns, y, out, *_ = read_columns(fmt, features, name, classes, Problems())
    X = np.stack([c.numbers for c in columns], axis=1)
    return fmt, name, features, X, y, out


def _fast(path: Path, target: str | None = None, classes=None, **kw):
    fmt = sniff_csv(path)
    name, _ = choose_target(fmt.columns, target)
    features = [c for c in fmt.columns if c != name]
    return csv_fast.read_numeric(fmt, features, name, classes, **kw)


def _rows(n: int, n_features: int, seed: int, labels=(0, 1)) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = (rng.normal(size=(n, n_features)) * 10.0 ** rng.integers(-3, 4, size=(1, n_features))).astype(np.float32)
    y = rng.choice(np.asarray(labels), size=n)
    return X, y


def _write(path: Path, X: np.ndarray, y: np.ndarray, *, delimiter: str = ",", decimal: str = ".",
           newline: str = "\n", header: str | None = "default", label_at: int | None = None,
           label_fmt=str, blank_every: int = 0, bom: bool = False, pad: str = "") -> Path:
    names = [f"f{j}" for j in range(X.shape[1])]
    pos = X.shape[1] if label_at is None else label_at
    names.insert(pos, "label")
    lines = []
    if header == "default":
        lines.append(delimiter.join(names))
    elif header is not None:
        lines.append(header)
    for k, (row, lab) in enumerate(zip(X, y)):
        cells = [pad + repr(float(v)).replace(".", decimal) + pad for v in row]
        cells.insert(pos, label_fmt(lab))
        lines.append(delimiter.join(cells))
        if blank_every and k % blank_every == blank_every - 1:
            lines.append("")
    text = newline.join(lines) + newline
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return path


FORMATS = {
    "comma": {},
    "semicolon-decimal-comma": {"delimiter": ";", "decimal": ","},
    "tab": {"delimiter": "\t"},
    "pipe": {"delimiter": "|"},
    "crlf": {"newline": "\r\n"},
    "bom": {"bom": True},
    "headerless": {"header": None},
    "quoted-header": {"header": '"f0","f1","f2","f3","label"'},
    "blank-lines": {"blank_every": 7},
    "label-in-the-middle": {"label_at": 2},
    "spaces-around-values": {"pad": " "},
    "labels-written-as-floats": {"label_fmt": lambda v: f"{v}.0"},
}


@pytest.mark.parametrize("kind", sorted(FORMATS))
def test_fast_reader_equals_full_reader(tmp_path: Path, kind: str) -> None:
    X, y = _rows(300, 4, seed=len(kind))
    path = _write(tmp_path / "d.csv", X, y, **FORMATS[kind])
    target = "label" if FORMATS[kind].get("header", "default") is not None else None
    fast = _fast(path, target)
    assert fast is not None, "a clean numeric file must take the fast path"
    *_, Xf, yf, classes = _full(path, target)
    np.testing.assert_array_equal(fast.X, Xf)
    np.testing.assert_array_equal(fast.y, yf)
    assert fast.classes == classes
    assert fast.X.dtype == np.float32 and fast.X.flags["C_CONTIGUOUS"] and fast.y.dtype == np.int64
    np.testing.assert_array_equal(fast.X, X)  # and both equal what was written


@pytest.mark.parametrize("labels", [(-1, 1), (1, 2, 3), (0, 5, 1_000_000), (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)])
def test_integer_labels_coded_like_the_full_reader(tmp_path: Path, labels: tuple[int, ...]) -> None:
    X, y = _rows(400, 3, seed=1, labels=labels)
    path = _write(tmp_path / "d.csv", X, y)
    fast = _fast(path)
    assert fast is not None
    *_, yf, classes = _full(path)
    np.testing.assert_array_equal(fast.y, yf)
    assert fast.classes == classes == tuple(str(v) for v in sorted(set(y.tolist())))


def test_known_classes_give_their_positions(tmp_path: Path) -> None:
    X, y = _rows(200, 3, seed=2, labels=(0, 2))  # class "1" absent from this file
    path = _write(tmp_path / "d.csv", X, y)
    fast = _fast(path, classes=["2", "1", "0"])
    assert fast is not None and fast.classes == ("2", "1", "0")
    np.testing.assert_array_equal(fast.y, np.where(y == 2, 0, 2))
    *_, yf, _ = _full(path, classes=["2", "1", "0"])
    np.testing.assert_array_equal(fast.y, yf)


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_many_pieces_in_threads_keep_row_order(tmp_path: Path, workers: int) -> None:
    X, y = _rows(3000, 5, seed=3)
    path = _write(tmp_path / "d.csv", X, y)
    fast = _fast(path, piece_bytes=1000, workers=workers)
    assert fast is not None
    np.testing.assert_array_equal(fast.X, X)
    np.testing.assert_array_equal(fast.y, y)


def test_matrix_grows_when_later_rows_are_shorter(tmp_path: Path) -> None:
    # The first piece has long numbers, so it predicts too few rows for the rest of the file.
    long = np.full((50, 4), 1.2345678e-30, dtype=np.float32)
    short = np.ones((5000, 4), dtype=np.float32)
    X = np.vstack([long, short])
    y = np.arange(len(X)) % 2
    path = _write(tmp_path / "d.csv", X, y)
    fast = _fast(path, piece_bytes=2000, workers=2)
    assert fast is not None
    np.testing.assert_array_equal(fast.X, X)
    np.testing.assert_array_equal(fast.y, y)


def test_public_pandas_parser_gives_the_same(tmp_path: Path) -> None:
    """With a pandas that has no ``load_buffer``, each piece goes through ``read_csv``."""

    class PublicOnly(csv_fast._Parser):
        def __init__(self, kwargs, names):
            super().__init__(kwargs, names)
            self._reader = None

    X, y = _rows(2000, 4, seed=4)
    path = _write(tmp_path / "d.csv", X, y, delimiter=";", decimal=",")
    fast = _fast(path, piece_bytes=3000, workers=2, parser_factory=PublicOnly)
    assert fast is not None
    np.testing.assert_array_equal(fast.X, X)
    np.testing.assert_array_equal(fast.y, y)
    assert csv_fast._Parser(csv_fast._parse_kwargs(sniff_csv(path), ["f0"], "label"), ["f0", "label"])._reader is not None, (
        "the installed pandas should offer the zero-copy entry; if it moved, the public read is used (slower)"
    )


STEPS_ASIDE = {
    "quoted value": "a,b,label\n1,\"2\",0\n3,4,1\n",
    "empty cell": "a,b,label\n1,,0\n3,4,1\n",
    "question mark": "a,b,label\n1,?,0\n3,4,1\n",
    "nan": "a,b,label\n1,nan,0\n3,4,1\n",
    "inf": "a,b,label\n1,inf,0\n3,4,1\n",
    "text feature": "a,b,label\n1,x,0\n3,4,1\n",
    "extra field": "a,b,label\n1,2,0\n3,4,1,9\n",
    "extra field on every row": "a,b,label\n1,2,0,7\n3,4,1,9\n",
    "fewer fields": "a,b,label\n1,2,0\n3,4\n",
    "non-integer label": "a,b,label\n1,2,0.5\n3,4,1\n",
    "text label": "a,b,label\n1,2,yes\n3,4,no\n",
    "missing label": "a,b,label\n1,2,\n3,4,1\n",
}


@pytest.mark.parametrize("kind", sorted(STEPS_ASIDE))
def test_anything_not_plain_goes_to_the_full_reader(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "d.csv"
    path.write_text(STEPS_ASIDE[kind])
    assert _fast(path) is None


def test_unknown_label_or_text_classes_go_to_the_full_reader(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("a,b,label\n1,2,0\n3,4,7\n")
    assert _fast(path, classes=["0", "1"]) is None
    assert _fast(path, classes=["no", "yes"]) is None
    with pytest.raises(DataError, match=r"label '7' .* is not one of the classes .*row 2, line 3"):
        load_csv(path, classes=["0", "1"])


def test_utf16_file_goes_to_the_full_reader(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes("a,b,label\n1,2,0\n3,4,1\n".encode("utf-16"))
    assert _fast(path) is None
    data = load_csv(path)
    np.testing.assert_array_equal(data.X, [[1, 2], [3, 4]])


def test_ragged_row_message_still_names_the_line(tmp_path: Path) -> None:
    """The fast reader steps aside; the message is the full reader's."""
    X, y = _rows(100, 2, seed=5)
    path = _write(tmp_path / "d.csv", X, y)
    lines = path.read_text().splitlines()
    lines[60] += ",5"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"line 61 of .* \(data row 60\) has 4 fields but the header has 3"):
        load_csv(path)


def test_load_csv_takes_the_fast_path_for_clean_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import evalstudio.core.data.table_read as data_module

    def no_full_read(*args, **kwargs):
        raise AssertionError("the full reader was used for a clean file")

    monkeypatch.setattr(data_module, "read_columns", no_full_read)
    X, y = _rows(500, 6, seed=6)
    data = load_csv(_write(tmp_path / "d.csv", X, y))
    np.testing.assert_array_equal(data.X, X)
    assert data.X is data.table.matrix  # the fast reader's matrix, not a copy
    np.testing.assert_array_equal(data.row_numbers, np.arange(1, 501))
    assert data.classes == ("0", "1")


def test_without_pread_the_full_reader_loads_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows has no os.pread: the fast path steps aside instead of failing."""
    X, y = _rows(50, 3, seed=7)
    path = _write(tmp_path / "d.csv", X, y)
    monkeypatch.delattr(csv_fast.os, "pread")
    assert _fast(path) is None
    np.testing.assert_array_equal(load_csv(path).X, X)
