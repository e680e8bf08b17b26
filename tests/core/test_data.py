"""load_csv: every supported format, every bad input (with the error text), headerless Pima."""

from __future__ import annotations

import codecs
import gzip
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalstudio.core.data.dataset import Dataset, load_csv
from evalstudio.core.errors import DataError

PIMA = Path(__file__).resolve().parents[2] / "resources" / "demo" / "pima-indians-diabetes.csv"
if not PIMA.exists():  # the shared copy, for a checkout without the demo resources
    PIMA = Path("/work/shared/data/pima-indians-diabetes.csv")


def write(tmp_path: Path, data: bytes | str, name: str = "data.csv") -> Path:
    p = tmp_path / name
    p.write_bytes(data.encode() if isinstance(data, str) else data)
    return p


def error_text(path: Path, **kw: object) -> str:
    with pytest.raises(DataError) as info:
        load_csv(path, **kw)  # type: ignore[arg-type]
    return str(info.value)


SIMPLE = [("a", "b", "label"), ("1.5", "2", "no"), ("3", "-4e2", "yes"), ("5", "6", "no")]
SIMPLE_X = np.array([[1.5, 2], [3, -400], [5, 6]], dtype=np.float32)


# --------------------------------------------------------------------------------------------
# Pima: with and without a header


def test_pima_with_header_matches_numpy() -> None:
    d = load_csv(PIMA)
    expected = np.loadtxt(PIMA, delimiter=",", skiprows=1)
    assert isinstance(d, Dataset)
    assert d.X.dtype == np.float32 and d.X.flags.c_contiguous and d.y.dtype == np.int64
    assert d.X.shape == (768, 8)
    np.testing.assert_array_equal(d.X, expected[:, :8].astype(np.float32))
    np.testing.assert_array_equal(d.y, expected[:, 8].astype(np.int64))
    assert d.classes == ("0", "1")
    assert d.target_name == "target"
    assert d.feature_names[0] == "NumTimesPrg" and d.feature_names[-1] == "Age"
    assert d.class_counts().tolist() == [500, 268]
    np.testing.assert_array_equal(d.row_numbers, np.arange(1, 769))
    assert d.source == str(PIMA)
    assert any("0 = '0' (500 rows), 1 = '1' (268 rows)" in n for n in d.notes)


def test_headerless_pima_keeps_the_first_row(tmp_path: Path) -> None:
    lines = PIMA.read_text().splitlines(keepends=True)
    headerless = write(tmp_path, "".join(lines[1:]), "pima-no-header.csv")
    d = load_csv(headerless)
    with_header = load_csv(PIMA)
    assert d.X.shape == (768, 8)  # the first row is data, not a header
    np.testing.assert_array_equal(d.X, with_header.X)
    np.testing.assert_array_equal(d.y, with_header.y)
    assert d.X[0].tolist() == pytest.approx([6, 148, 72, 35, 0, 33.6, 0.627, 50])
    assert d.feature_names == tuple(f"col_{k}" for k in range(1, 9))
    assert d.target_name == "col_9"
    assert any("no header row" in n and "col_1 ... col_9" in n for n in d.notes)
    assert any("target: 'col_9' (the last column)" in n for n in d.notes)


def test_headerless_uci_file_with_text_labels_keeps_the_first_row(tmp_path: Path) -> None:
    # UCI's iris.data: no header, four numbers and a class name per row. The first row is not all
    # numbers, but its label recurs below and its numbers sit above numeric columns: it is data.
    rows = ["5.1,3.5,1.4,0.2,Iris-setosa", "4.9,3.0,1.4,0.2,Iris-setosa", "7.0,3.2,4.7,1.4,Iris-versicolor",
            "6.4,3.2,4.5,1.5,Iris-versicolor", "6.3,3.3,6.0,2.5,Iris-virginica"]
    d = load_csv(write(tmp_path, "\n".join(rows) + "\n", "iris.data"))
    assert d.n_samples == 5
    assert d.X[0].tolist() == pytest.approx([5.1, 3.5, 1.4, 0.2])
    assert d.feature_names == ("col_1", "col_2", "col_3", "col_4") and d.target_name == "col_5"
    assert d.classes == ("Iris-setosa", "Iris-versicolor", "Iris-virginica")
    assert d.y.tolist() == [0, 0, 1, 1, 2]
    assert any(n.startswith("no header row (the first row holds numbers above numeric columns") for n in d.notes)


@pytest.mark.parametrize("header", ["a,b,species", "2019,b,species", "u,v,Iris-setosa"])
def test_a_real_header_over_numbers_and_labels_stays_a_header(tmp_path: Path, header: str) -> None:
    # One name above a numeric column is enough to keep the first row as the header.
    d = load_csv(write(tmp_path, header + "\n1,2,Iris-setosa\n3,4,Iris-virginica\n5,6,Iris-setosa\n"))
    assert d.n_samples == 3
    assert d.feature_names == tuple(header.split(",")[:2])


def test_headerless_target_by_generated_name(tmp_path: Path) -> None:
    p = write(tmp_path, "0,1.5,2\n1,2.5,3\n0,3.5,4\n")
    d = load_csv(p, target="col_1")
    assert d.feature_names == ("col_2", "col_3")
    assert d.y.tolist() == [0, 1, 0]


# --------------------------------------------------------------------------------------------
# Formats


@pytest.mark.parametrize(("delimiter", "word"), [(",", None), (";", "semicolon"), ("\t", "tab"), ("|", "pipe")])
def test_delimiters_are_sniffed(tmp_path: Path, delimiter: str, word: str | None) -> None:
    p = write(tmp_path, "".join(delimiter.join(r) + "\n" for r in SIMPLE))
    d = load_csv(p)
    np.testing.assert_array_equal(d.X, SIMPLE_X)
    assert d.y.tolist() == [0, 1, 0] and d.classes == ("no", "yes")
    assert d.feature_names == ("a", "b")
    if word:
        assert f"delimiter: {word}" in d.notes


def test_bom_and_crlf(tmp_path: Path) -> None:
    text = "".join(",".join(r) + "\r\n" for r in SIMPLE)
    p = write(tmp_path, codecs.BOM_UTF8 + text.encode())
    d = load_csv(p)
    assert d.feature_names == ("a", "b")  # no BOM glued to the first name
    np.testing.assert_array_equal(d.X, SIMPLE_X)
    assert d.classes == ("no", "yes")  # no '\r' glued to the labels


def test_headerless_file_with_bom(tmp_path: Path) -> None:
    p = write(tmp_path, codecs.BOM_UTF8 + b"1,2,0\r\n3,4,1\r\n")
    d = load_csv(p)
    assert d.X.tolist() == [[1, 2], [3, 4]] and d.target_name == "col_3"


def test_quoted_fields_with_delimiters_quotes_and_newlines(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        '"x, first","y ""2""",label\n'
        '"1","2","yes, really"\n'
        '3,4,"two\nlines"\n'
        '5,"6","yes, really"\n',
    )
    d = load_csv(p)
    assert d.feature_names == ("x, first", 'y "2"')
    assert d.X.tolist() == [[1, 2], [3, 4], [5, 6]]
    assert d.classes == ("two\nlines", "yes, really")
    assert d.y.tolist() == [1, 0, 1]


def test_semicolon_with_decimal_commas(tmp_path: Path) -> None:
    p = write(tmp_path, "a;b;label\n1,5;2;0\n-3,25;4;1\n")
    d = load_csv(p)
    assert d.X.tolist() == [[1.5, 2], [-3.25, 4]]
    assert "numbers use a decimal comma" in d.notes


def test_forced_delimiter(tmp_path: Path) -> None:
    p = write(tmp_path, "a|b;c|label\n1|2|0\n3|4|1\n")
    d = load_csv(p, delimiter="|")
    assert d.feature_names == ("a", "b;c")
    d = load_csv(write(tmp_path, "a\tb\tlabel\n1\t2\t0\n3\t4\t1\n", "t.tsv"), delimiter="tab")
    assert d.X.tolist() == [[1, 2], [3, 4]]


def test_bad_forced_delimiter(tmp_path: Path) -> None:
    text = error_text(write(tmp_path, "a,b\n1,0\n"), delimiter=",,")
    assert "delimiter ',,' is not a single character" in text
    assert "',', ';', 'tab' or '|'" in text


def test_spaces_around_values_and_labels(tmp_path: Path) -> None:
    p = write(tmp_path, "a, b, label\n1, 2, yes\n3 , 4 , no\n")
    d = load_csv(p)
    assert d.feature_names == ("a", "b")
    assert d.X.tolist() == [[1, 2], [3, 4]] and d.classes == ("no", "yes")


def test_utf16_and_windows_1252(tmp_path: Path) -> None:
    d = load_csv(write(tmp_path, "a,label\n1,x\n2,y\n".encode("utf-16"), "u16.csv"))
    assert d.classes == ("x", "y") and any("UTF-16" in n for n in d.notes)
    d = load_csv(write(tmp_path, "a,label\n1,café\n2,thé\n".encode("cp1252"), "w.csv"))
    assert d.classes == ("café", "thé") and any("Windows-1252" in n for n in d.notes)


def test_non_utf8_byte_after_the_sniffed_part(tmp_path: Path) -> None:
    rows = "".join(f"{i},{i % 2}\n" for i in range(20000))  # well past the sniffed head
    p = write(tmp_path, ("a,label\n" + rows + "5,café\n").encode("cp1252"))
    d = load_csv(p)
    assert d.classes == ("0", "1", "café")
    assert any("not valid UTF-8 throughout" in n for n in d.notes)


def test_blank_lines_are_skipped_and_rows_counted_without_them(tmp_path: Path) -> None:
    d = load_csv(write(tmp_path, "a,label\n1,0\n\n2,1\n\n"))
    assert d.X.ravel().tolist() == [1, 2] and d.row_numbers.tolist() == [1, 2]


def test_duplicate_and_empty_header_names(tmp_path: Path) -> None:
    d = load_csv(write(tmp_path, "a,a,,label\n1,2,3,0\n4,5,6,1\n"))
    assert d.feature_names == ("a", "a.1", "col_3")
    assert "column 2 repeats the name 'a'; called it 'a.1'" in d.notes
    assert "column 3 has no name in the header; called it 'col_3'" in d.notes


def test_matches_pandas_on_a_larger_random_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.standard_normal((5000, 6)), columns=[f"f{i}" for i in range(6)])
    frame["label"] = rng.choice(["cat", "dog", "fish"], 5000)
    p = tmp_path / "random.csv"
    frame.to_csv(p, index=False)
    d = load_csv(p)
    expected = pd.read_csv(p)
    # float32 parsed straight from the text: within one float32 step of pandas' float64 -> float32.
    np.testing.assert_array_max_ulp(d.X, expected.iloc[:, :6].to_numpy().astype(np.float32), maxulp=1)
    assert d.classes == ("cat", "dog", "fish")
    np.testing.assert_array_equal(np.array(d.classes)[d.y], expected["label"].to_numpy())


# --------------------------------------------------------------------------------------------
# Target and classes


@pytest.mark.parametrize("name", ["target", "Label", "CLASS", "y", "Outcome"])
def test_target_found_by_name(tmp_path: Path, name: str) -> None:
    d = load_csv(write(tmp_path, f"{name},a,b\n0,1,2\n1,3,4\n"))
    assert d.target_name == name and d.feature_names == ("a", "b")
    assert f"target: {name!r} (named like a label column)" in d.notes


def test_target_defaults_to_last_column(tmp_path: Path) -> None:
    d = load_csv(write(tmp_path, "a,b,diagnosis\n1,2,benign\n3,4,malignant\n"))
    assert d.target_name == "diagnosis"
    assert "target: 'diagnosis' (the last column)" in d.notes


def test_target_given_explicitly_and_ignoring_case(tmp_path: Path) -> None:
    p = write(tmp_path, "Kind,a,label\nx,1,0\ny,2,1\n")
    d = load_csv(p, target="Kind")
    assert d.target_name == "Kind" and d.feature_names == ("a", "label")
    d = load_csv(p, target="kind")
    assert d.target_name == "Kind"


def test_missing_target_lists_the_columns(tmp_path: Path) -> None:
    text = error_text(write(tmp_path, "a,b,label\n1,2,0\n3,4,1\n"), target="Outcome")
    assert "target column 'Outcome' not found" in text
    assert "the columns are: a, b, label" in text
    text = error_text(write(tmp_path, "1,2,0\n3,4,1\n", "nh.csv"), target="Outcome")
    assert "col_1, col_2, col_3" in text and "no header row" in text


def test_numeric_labels_sort_as_numbers_and_merge_spellings(tmp_path: Path) -> None:
    d = load_csv(write(tmp_path, "a,label\n1,10\n2,2\n3,2.0\n4,-1\n"))
    assert d.classes == ("-1", "2", "10")
    assert d.y.tolist() == [2, 1, 1, 0]
    assert "classes in 'label': 0 = '-1' (1 row), 1 = '2' (2 rows), 2 = '10' (1 row)" in d.notes


def test_string_labels_sorted(tmp_path: Path) -> None:
    d = load_csv(write(tmp_path, "a,species\n1,virginica\n2,setosa\n3,versicolor\n4,setosa\n"))
    assert d.classes == ("setosa", "versicolor", "virginica")
    assert d.y.tolist() == [2, 0, 1, 0]


def test_single_class_is_an_error(tmp_path: Path) -> None:
    text = error_text(write(tmp_path, "a,label\n1,yes\n2,yes\n"))
    assert "the target column 'label'" in text and "has a single class ('yes' in all 2 rows)" in text
    assert "needs at least two" in text


def test_known_classes_map_labels_in_that_order(tmp_path: Path) -> None:
    p = write(tmp_path, "a,label\n1,yes\n2,yes\n")  # one class present: fine for a validation file
    d = load_csv(p, classes=["yes", "no"])
    assert d.classes == ("yes", "no") and d.y.tolist() == [0, 0]
    d = load_csv(write(tmp_path, "a,label\n1,1.0\n2,0\n", "v.csv"), classes=["0", "1"])
    assert d.y.tolist() == [1, 0]  # "1.0" is class "1"


def test_label_outside_known_classes_is_named(tmp_path: Path) -> None:
    p = write(tmp_path, "a,label\n1,0\n2,3\n3,1\n4,7\n5,3\n")
    text = error_text(p, classes=["0", "1"])
    assert "label '3' in column 'label'" in text and "is not one of the classes (0, 1)" in text
    assert "3 rows have labels outside them ('3', '7')" in text
    assert "the first is at row 2, line 3" in text


def test_known_classes_need_two(tmp_path: Path) -> None:
    text = error_text(write(tmp_path, "a,label\n1,0\n"), classes=["0"])
    assert "must hold at least two distinct labels" in text


# --------------------------------------------------------------------------------------------
# Bad values


def test_non_numeric_feature_column_is_named(tmp_path: Path) -> None:
    text = error_text(write(tmp_path, "age,sex,label\n30,M,0\n40,F,1\n50,M,1\n"), numeric_only=True)
    assert "non-numeric feature column in" in text
    assert "'sex' (3 values such as 'M'; first at row 1, line 2)" in text
    assert "Encode those values as numbers or remove the column" in text


def test_one_stray_text_cell_is_named_even_with_drop_missing(tmp_path: Path) -> None:
    p = write(tmp_path, "a,b,c,label\n1,2,3,0\n2,oops,3,1\n3,4,x,1\n4,5,6,0\n")
    text = error_text(p, drop_missing=True, numeric_only=True)
    assert "non-numeric feature columns" in text
    assert "'b' (1 value such as 'oops'; first at row 2, line 3)" in text
    assert "'c' (1 value such as 'x'; first at row 3, line 4)" in text


@pytest.mark.parametrize("token", ["", "NA", "?", " ?", "nan", "N/A"])
def test_missing_values_named_with_count_and_first_row(tmp_path: Path, token: str) -> None:
    p = write(tmp_path, f"a,b,label\n1,2,0\n2,{token},1\n3,4,1\n4,{token},0\n")
    text = error_text(p, numeric_only=True)
    assert "has missing values in 'b' (2 rows; first at row 2, line 3)" in text
    assert "--drop-missing" in text


def test_infinities_are_named(tmp_path: Path) -> None:
    text = error_text(write(tmp_path, "a,b,label\n1,inf,0\n2,3,1\n-inf,4,1\n"))
    assert "infinite values in 'a' (1 row; first at row 3, line 4), 'b' (1 row; first at row 1, line 2)" in text


def test_missing_label_is_named(tmp_path: Path) -> None:
    text = error_text(write(tmp_path, "a,label\n1,0\n2,\n3,1\n"))
    assert "missing values in 'label' (1 row; first at row 2, line 3)" in text


def test_drop_missing_drops_and_reports(tmp_path: Path) -> None:
    p = write(tmp_path, "a,b,label\n1,2,0\n2,?,1\n3,4,1\n4,inf,0\n5,6,\n6,7,0\n")
    d = load_csv(p, drop_missing=True)
    assert d.X.tolist() == [[1, 2], [3, 4], [6, 7]]
    assert d.y.tolist() == [0, 1, 0]
    assert d.row_numbers.tolist() == [1, 3, 6]  # original data-row numbers survive
    assert "dropped 3 of 6 rows with missing or infinite values (missing: b 1, label 1; infinite: b 1)" in d.notes


def test_drop_missing_forgets_a_class_seen_only_on_dropped_rows(tmp_path: Path) -> None:
    d = load_csv(write(tmp_path, "a,label\n1,x\n2,y\n?,z\n"), drop_missing=True)
    assert d.classes == ("x", "y") and d.y.tolist() == [0, 1]


def test_drop_missing_with_nothing_left(tmp_path: Path) -> None:
    text = error_text(write(tmp_path, "a,label\n?,0\n,1\n"), drop_missing=True, numeric_only=True)
    assert "every row of" in text and "missing or infinite value" in text


def test_drop_missing_leaving_a_single_class(tmp_path: Path) -> None:
    text = error_text(write(tmp_path, "a,label\n1,0\n?,1\n"), drop_missing=True)
    assert "single class ('0' in all 1 rows left after dropping rows)" in text


# --------------------------------------------------------------------------------------------
# Ragged rows


def test_row_with_more_fields_names_its_line(tmp_path: Path) -> None:
    text = error_text(write(tmp_path, "a,b,label\n1,2,0\n3,4,1,9\n5,6,0\n"))
    assert "line 3 of" in text and "(data row 2) has 4 fields but the header has 3: '3,4,1,9'" in text
    assert "more fields than the header are not read" in text


def test_row_with_fewer_fields_names_its_line_after_blank_lines(tmp_path: Path) -> None:
    text = error_text(write(tmp_path, "a,b,label\n1,2,0\n\n\n3,4\n5,6,0\n"))
    assert "line 5 of" in text and "(data row 2) has 2 fields but the header has 3: '3,4'" in text
    assert "fewer fields" in text


def test_header_shorter_than_every_row_is_refused(tmp_path: Path) -> None:
    # pandas would silently turn the first column into an index here.
    text = error_text(write(tmp_path, "a,label\n1,2,0\n3,4,1\n"))
    assert "line 2 of" in text and "has 3 fields but the header has 2" in text


def test_ragged_row_far_down_the_file(tmp_path: Path) -> None:
    rows = "".join(f"{i},{i % 2}\n" for i in range(30000))
    text = error_text(write(tmp_path, "a,label\n" + rows + "1,0,5\n"))
    assert "line 30002 of" in text and "(data row 30001)" in text


def test_ragged_headerless_file(tmp_path: Path) -> None:
    text = error_text(write(tmp_path, "1,2,0\n3,4,1\n5,6\n"))
    assert "line 3 of" in text and "has 2 fields but the first row has 3" in text


# --------------------------------------------------------------------------------------------
# Files that are not CSV


def test_missing_file_and_folder(tmp_path: Path) -> None:
    assert "data file not found" in error_text(tmp_path / "nope.csv")
    assert "is a folder, not a CSV file" in error_text(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    assert "is empty (0 bytes)" in error_text(write(tmp_path, b""))


def test_blank_lines_only(tmp_path: Path) -> None:
    assert "holds only blank lines, no data" in error_text(write(tmp_path, "\n\r\n  \n"))


@pytest.mark.parametrize("ending", ["", "\n", "\r\n", "\n\n"])
def test_header_only_file(tmp_path: Path, ending: str) -> None:
    text = error_text(write(tmp_path, "a,b,label" + ending))
    assert "has a header row (a, b, label) but no data rows" in text


def test_single_column_file(tmp_path: Path) -> None:
    text = error_text(write(tmp_path, "value\n1\n2\n"))
    assert "has only one column" in text and "needs feature columns and a label column" in text


def test_gzip_file(tmp_path: Path) -> None:
    p = tmp_path / "pima.csv.gz"
    with PIMA.open("rb") as src, gzip.open(p, "wb") as dst:
        shutil.copyfileobj(src, dst)
    text = error_text(p)
    assert "looks like a gzip-compressed file, not a CSV text file" in text and "gunzip" in text


def test_zip_archive(tmp_path: Path) -> None:
    p = tmp_path / "data.zip"
    with zipfile.ZipFile(p, "w") as zf:
        zf.write(PIMA, "pima.csv")
    assert "looks like a zip archive" in error_text(p)


def test_xlsx_workbook(tmp_path: Path) -> None:
    p = tmp_path / "book.csv"  # the extension lies; the content decides
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", "<worksheet/>")
    text = error_text(p)
    assert "looks like an Excel workbook (.xlsx)" in text and "Save As > CSV" in text


def test_old_excel_file(tmp_path: Path) -> None:
    p = write(tmp_path, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), "book.xls")
    assert "looks like an Excel 97-2003 workbook (.xls)" in error_text(p)


def test_parquet_file(tmp_path: Path) -> None:
    p = tmp_path / "data.parquet"
    pd.read_csv(PIMA).to_parquet(p)
    text = error_text(p)
    assert "looks like a Parquet file" in text and "read_parquet" in text


def test_random_bytes(tmp_path: Path) -> None:
    p = write(tmp_path, np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    assert "does not look like a text (CSV) file" in error_text(p)


def test_random_bytes_without_nul(tmp_path: Path) -> None:
    data = np.random.default_rng(2).integers(1, 256, 300, dtype=np.uint8).tobytes()
    assert "does not look like a text (CSV) file" in error_text(write(tmp_path, data))


def test_html_page_saved_as_csv(tmp_path: Path) -> None:
    p = write(tmp_path, "<!DOCTYPE html>\n<html><body>Not found</body></html>\n")
    assert "looks like a web page (HTML/XML)" in error_text(p)


def test_continuous_target_is_refused(tmp_path: Path) -> None:
    rows = "".join(f"{i},{i * 0.37:.2f}\n" for i in range(1, 40))
    text = error_text(write(tmp_path, "a,price\n" + rows))
    assert "holds 39 different non-integer numbers (such as 0.37, 0.74)" in text
    assert "not a class label" in text and "--target" in text


def test_many_integer_classes_get_a_warning(tmp_path: Path) -> None:
    d = load_csv(write(tmp_path, "a,age\n" + "".join(f"{i},{20 + i}\n" for i in range(30))))
    assert d.n_classes == 30
    assert "warning: 30 classes in 'age'; check that it is the label column" in d.notes


def test_headerless_semicolon_file_with_decimal_commas(tmp_path: Path) -> None:
    d = load_csv(write(tmp_path, "1;2,5;0\n3;4;1\n"))
    assert d.X.tolist() == [[1, 2.5], [3, 4]] and d.target_name == "col_3"


def test_many_problems_are_located_in_one_message(tmp_path: Path) -> None:
    rows = "".join(f"{i},{i},{i % 2}\n" for i in range(5000)) + "?,1,0\n1,?,1\n"
    text = error_text(write(tmp_path, "a,b,label\n" + rows), numeric_only=True)
    assert "'a' (1 row; first at row 5001, line 5002), 'b' (1 row; first at row 5002, line 5003)" in text


def test_quoted_line_break_past_the_sniffed_part(tmp_path: Path) -> None:
    rows = "".join(f"{i},{i % 3},plain\n" for i in range(20000))
    d = load_csv(write(tmp_path, "a,b,label\n" + rows + '7,1,"two\nlines"\n8,2,plain\n'))
    assert d.n_samples == 20002
    assert d.classes == ("plain", "two\nlines") and d.y[-2:].tolist() == [1, 0]
    assert d.X[-1].tolist() == [8, 2]


def test_many_text_columns_are_summarised(tmp_path: Path) -> None:
    header = ",".join(f"t{k}" for k in range(10)) + ",label\n"
    text = error_text(write(tmp_path, header + ",".join("x" * 10) + ",0\n" + ",".join("y" * 10) + ",1\n"),
                      numeric_only=True)
    assert "'t5' (2 values such as 'x'; first at row 1, line 2), ... (10 columns in all)" in text
    assert "'t6'" not in text


def test_old_mac_line_ends(tmp_path: Path) -> None:
    d = load_csv(write(tmp_path, "a,b,label\r1,2,0\r3,4,1\r"))
    assert d.X.tolist() == [[1, 2], [3, 4]] and d.y.tolist() == [0, 1]


def test_a_saved_pandas_index_column_is_flagged(tmp_path: Path) -> None:
    p = tmp_path / "indexed.csv"
    pd.DataFrame({"a": [0.5, 1.5, 2.5], "label": [0, 1, 0]}).to_csv(p)  # index=True: ",a,label"
    d = load_csv(p)
    assert d.feature_names == ("col_1", "a")
    assert any(n.startswith("warning: the first column has no name and counts 0, 1, 2") for n in d.notes)
    d = load_csv(write(tmp_path, ",a,label\n7,1,0\n3,2,1\n", "not_index.csv"))
    assert not any("row index" in n for n in d.notes)
