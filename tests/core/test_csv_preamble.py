"""CSV files as spreadsheets and scripts write them: Excel's sep= line, # comment lines, a huge field."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evalstudio.core.data.dataset import load_csv
from evalstudio.core.errors import DataError


def rows(n: int = 30, delimiter: str = ",") -> list[str]:
    return [delimiter.join([f"{i * 0.5:g}", str(i % 7), str(i % 2)]) for i in range(n)]


@pytest.mark.parametrize("first", ["sep=;", "SEP=;", '"sep=;"'])
@pytest.mark.parametrize("quoted", [False, True])
def test_excels_sep_line_is_read_as_excel_does(tmp_path: Path, first: str, quoted: bool) -> None:
    header = '"a";"b";"label"' if quoted else "a;b;label"  # quoted: the full reader, else the fast one
    body = [r.replace(",", ".") for r in rows(delimiter=";")]
    path = tmp_path / "excel.csv"
    path.write_text("\r\n".join([first, header, *body]) + "\r\n", encoding="utf-8-sig")
    data = load_csv(path)
    assert data.feature_names == ("a", "b") and data.n_samples == 30
    np.testing.assert_allclose(data.X[:, 0], np.arange(30) * 0.5)
    assert any("first line 'sep=;' (Excel's delimiter line)" in n for n in data.notes)


def test_comment_lines_at_the_top_are_skipped_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "commented.csv"
    path.write_text("\n".join(["# exported by a script", "# 2024-01-01", "a,b,label", *rows()]) + "\n")
    data = load_csv(path)
    assert data.feature_names == ("a", "b") and data.n_samples == 30
    assert any("skipped 2 comment lines starting with '#' at the top" in n for n in data.notes)
    # Lines are still counted from the top of the file when a problem is named.
    lines = path.read_text().splitlines()
    lines[10] = "3.5,1,"  # line 11: data row 8 (2 comments, the header), its label missing
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"first at row 8, line 11"):
        load_csv(path)


def test_a_header_that_starts_with_hash_is_a_header(tmp_path: Path) -> None:
    path = tmp_path / "hash_header.csv"
    path.write_text("\n".join(["#a,b,label", *rows()]) + "\n")
    data = load_csv(path)
    assert data.feature_names == ("#a", "b") and data.n_samples == 30


def test_a_comment_line_below_the_header_says_how_to_remove_it(tmp_path: Path) -> None:
    path = tmp_path / "mid.csv"
    body = rows()
    path.write_text("\n".join(["a,b,label", *body[:12], "# a note in the middle", *body[12:]]) + "\n")
    with pytest.raises(DataError, match=r"line 14 of .*mid.csv is a comment line \('# a note in the middle'\).*"
                                         r"grep -v '\^#'"):
        load_csv(path)


@pytest.mark.slow
def test_a_50_mb_field_is_read_and_the_real_problem_named(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    body = rows()
    huge = '"' + "x" * 50_000_000 + '"'
    path.write_text("\n".join(["a,b,label", *body[:20], f"1,{huge},0", *body[20:]]) + "\n")
    # Read whole: the column holding it is text now (its numbers and the 50 MB value are categories).
    data = load_csv(path)
    assert data.n_samples == 31 and "x" * 50_000_000 in data.table.column("b").values
    # Where every column must be a number (a checkpoint without a column encoding), the real
    # problem is named, not the reader's block size.
    with pytest.raises(DataError) as info:
        load_csv(path, numeric_only=True)
    text = str(info.value)
    assert "straddl" not in text and "block size" not in text and "field limit" not in text
    assert "'b'" in text and "row 21, line 22" in text


@pytest.mark.slow
def test_a_quote_never_closed_is_named_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "unclosed.csv"
    body = rows(200_000)
    path.write_text("\n".join(["a,b,label", *body[:20], '1,"oops,0', *body[20:]]) + "\n")
    with pytest.raises(DataError, match=r"line 22 of .*unclosed.csv opens a quoted value that is never closed"):
        load_csv(path)


@pytest.mark.parametrize("header", [True, False])
def test_a_title_line_with_no_delimiter_is_skipped_with_a_note(tmp_path: Path, header: bool) -> None:
    """The adult test file starts with '|1x3 Cross validator' above its (headerless) rows."""
    path = tmp_path / "titled.csv"
    body = rows()
    body[7] = "3.5,1,"  # data row 8, line 10 (the title line, then the header when there is one)
    path.write_text("\n".join(["|1x3 Cross validator", *(["a,b,label"] if header else []), *body]) + "\n")
    with pytest.raises(DataError, match=rf"row 8, line {9 + header}\b"):
        load_csv(path)
    body[7] = "3.5,1,1"
    path.write_text("\n".join(["|1x3 Cross validator", *(["a,b,label"] if header else []), *body]) + "\n")
    data = load_csv(path)
    assert data.n_samples == 30 and data.n_features == 2
    np.testing.assert_allclose(data.X[:, 0], np.arange(30) * 0.5)
    assert any("skipped the first line '|1x3 Cross validator'" in n for n in data.notes)


@pytest.mark.parametrize("first", ["a,b", "a;b;c;d"])
def test_a_first_line_with_delimiters_is_never_taken_for_a_title(tmp_path: Path, first: str) -> None:
    """A header with fewer or more fields than the rows is a ragged file, named as such, not skipped."""
    path = tmp_path / "ragged.csv"
    path.write_text("\n".join([first, *rows()]) + "\n")
    with pytest.raises(DataError, match="fields"):
        load_csv(path)
