"""Work out how a CSV file is written before reading it: text or not, encoding, delimiter, header.

Only the first bytes of the file are looked at (``HEAD_BYTES``, more if the first line is longer),
so this is cheap on any file size. :func:`sniff_csv` returns a :class:`CsvFormat` that the full
reader (:func:`evalstudio.core.data.dataset.load_csv`) and the GUI preview (:func:`preview_rows`) share, so
both see the same columns.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from evalstudio.core.data.file_kinds import BINARY_MAGIC, SAVE_AS_CSV, has_safetensors_header, is_pickle
from evalstudio.core.errors import DataError
from evalstudio.core.paths import require_regular_file

HEAD_BYTES = 64 * 1024
_MAX_HEAD_BYTES = 16 * 1024 * 1024  # a header line longer than this is not a CSV we can sniff
DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_WORDS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}

# A number as a CSV cell may write it (also "inf"/"nan", which numpy and Excel write).
NUMBER_PATTERN = r"[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|inf|infinity|nan)"
_NUMBER_RE = re.compile(rf"^\s*{NUMBER_PATTERN}\s*$", re.IGNORECASE)
_DECIMAL_COMMA_RE = re.compile(r"^\s*[+-]?\d+,\d+(?:[eE][+-]?\d+)?\s*$")
_DECIMAL_POINT_RE = re.compile(r"^\s*[+-]?\d*\.\d+(?:[eE][+-]?\d+)?\s*$")

# Cells read as missing (after trimming spaces). '?' is what UCI files use.
MISSING_TOKENS = (
    "", "?", "NA", "N/A", "n/a", "na", "NaN", "nan", "-nan", "-NaN", "NULL", "null", "None",
    "#N/A", "#NA", "#N/A N/A", "-1.#IND", "-1.#QNAN", "1.#IND", "1.#QNAN",
)

_SAVE_AS_CSV = SAVE_AS_CSV

@dataclass(frozen=True)
class CsvFormat:
    """How a CSV file is written, as found from its first bytes.

    Attributes
    ----------
    path : str
    encoding : str -- Python codec name ("utf-8", "utf-8-sig", "utf-16", "cp1252")
    delimiter : str -- one of ``DELIMITERS``
    has_header : bool -- False when every cell of the first row is a number
    columns : tuple of str -- column names, cleaned (stripped, unique, never empty); ``col_1`` ...
        ``col_n`` for a headerless file
    decimal : str -- "." or "," (decimal commas, only with a non-comma delimiter)
    quoted : bool -- the sample holds a quote character, so values may span lines
    sample_rows : tuple of tuple of str -- the data rows found in the sample (header excluded)
    sample_is_whole_file : bool
    notes : tuple of str -- what the user should know (encoding, delimiter, header, renamed columns)
    unnamed : tuple of str -- columns whose header cell was empty (named col_<k> here)
    skip_lines : int -- lines before the header (or the first data row) that are not part of the
        table: Excel's ``sep=;`` line and ``#`` comment lines at the top; every reader skips them
    """

    path: str
    encoding: str
    delimiter: str
    has_header: bool
    columns: tuple[str, ...]
    decimal: str = "."
    quoted: bool = False
    sample_rows: tuple[tuple[str, ...], ...] = field(default=(), repr=False)
    sample_is_whole_file: bool = False
    notes: tuple[str, ...] = ()
    unnamed: tuple[str, ...] = ()
    skip_lines: int = 0

    @property
    def delimiter_name(self) -> str:
        return _DELIMITER_WORDS.get(self.delimiter, repr(self.delimiter))


def is_number(text: str, decimal: str = ".") -> bool:
    """Whether one CSV cell reads as a number (spaces around it allowed)."""
    if decimal == ",":
        return bool(_DECIMAL_COMMA_RE.match(text)) or bool(_NUMBER_RE.match(text.replace(",", ".", 1)))
    return bool(_NUMBER_RE.match(text))


def normalize_delimiter(delimiter: str | None) -> str | None:
    """Accept ``","``, ``"tab"``, ``"\\t"`` (typed literally on a command line), ``"semicolon"`` ..."""
    if delimiter is None:
        return None
    words = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|"}
    d = words.get(delimiter.lower(), delimiter)
    if len(d) != 1 or d in "\"\r\n":
        raise DataError(
            f"delimiter {delimiter!r} is not a single character.",
            hint="Use one of ',', ';', 'tab' or '|', or leave it out to detect it.",
        )
    return d


def read_head(path: str | os.PathLike[str]) -> tuple[bytes, bool]:
    """The first bytes of ``path`` (whole lines where possible) and whether that is the whole file.

    Raises
    ------
    DataError
        The path is missing, a folder, or unreadable.
    """
    p = Path(path)
    if not p.exists():
        raise DataError(f"data file not found: {p}.", hint="Check the path and the file name.")
    if p.is_dir():
        raise DataError(f"{p} is a folder, not a CSV file.", hint="Pass the path of the CSV file itself.")
    require_regular_file(p, "the data file", DataError)
    try:
        size = p.stat().st_size
        with p.open("rb") as fh:
            n = HEAD_BYTES
            head = fh.read(n)
            # Keep reading until the sample holds at least two line ends (header + one row).
            while len(head) < size and head.count(b"\n") < 2 and n < _MAX_HEAD_BYTES:
                more = fh.read(n)
                head += more
                n *= 2
    except OSError as exc:
        raise DataError(f"cannot read {p}: {exc.strerror or exc}.", hint="Check the file's permissions.") from exc
    return head, len(head) >= size


def _describe_binary(head: bytes) -> tuple[str, str] | None:
    """(what the file is, how to fix it) for a file that is clearly not CSV text, else None."""
    for magic, words, hint in BINARY_MAGIC:
        if head.startswith(magic):
            return words, hint
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        if b"xl/" in head or (b"[Content_Types].xml" in head and b"word/" not in head):
            return "an Excel workbook (.xlsx)", "In Excel use File > Save As > CSV UTF-8, then load the .csv file."
        if b"opendocument.spreadsheet" in head:
            return "an OpenDocument spreadsheet (.ods)", "Use File > Save As > Text CSV, then load the .csv file."
        if b"data.pkl" in head or b"constants.pkl" in head:
            return "a PyTorch model or checkpoint file", "Pass it as the model or checkpoint; the data must be a CSV."
        return "a zip archive", "Extract the CSV file from it and load that."
    lowered = head[:512].lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html", b"<?xml", b"<!--")):
        return (
            "a web page (HTML/XML)",
            "If it was downloaded from a web page, download the raw CSV file instead.",
        )
    if head.startswith(b"version https://git-lfs"):
        return "a Git LFS pointer (the data itself was not downloaded)", "Run 'git lfs pull' to fetch the file."
    if is_pickle(head):
        return "a Python pickle (e.g. a torch.save file)", "Pass it as the model or checkpoint; the data must be a CSV."
    if has_safetensors_header(head):
        return "a safetensors weights file", "Pass it as the checkpoint; the data must be a CSV."
    return None


def _decode_head(head: bytes, whole: bool, path: str) -> tuple[str, str, list[str]]:
    """Decode the sample: (text, codec for the full read, notes)."""
    notes: list[str] = []
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        notes.append("the file is UTF-16 text (as Excel's 'Unicode Text' writes it)")
        cut = head if whole else head[: len(head) - (len(head) % 2)]
        return cut.decode("utf-16", errors="replace"), "utf-16", notes
    what = _describe_binary(head)
    if what is not None:
        raise DataError(f"{path} looks like {what[0]}, not a CSV text file.", hint=what[1])
    if b"\x00" in head:
        raise DataError(
            f"{path} does not look like a text (CSV) file: it contains binary data (NUL bytes).",
            hint=_SAVE_AS_CSV,
        )
    bom = head.startswith(codecs.BOM_UTF8)
    body = head[3:] if bom else head
    try:
        text = body.decode("utf-8")
        encoding = "utf-8-sig" if bom else "utf-8"
    except UnicodeDecodeError as exc:
        if not whole and exc.start >= len(body) - 3:  # a character cut at the sample's end
            text = body[: exc.start].decode("utf-8")
            encoding = "utf-8-sig" if bom else "utf-8"
        else:
            text = body.decode("cp1252", errors="replace")
            encoding = "cp1252"
            notes.append("the file is not UTF-8; read it as Windows-1252 (Latin-1)")
    controls = sum(1 for ch in text[:4096] if ord(ch) < 32 and ch not in "\t\r\n\x0c")
    if controls > max(8, len(text[:4096]) // 50):
        raise DataError(
            f"{path} does not look like a text (CSV) file: it is mostly binary data.", hint=_SAVE_AS_CSV
        )
    return text, encoding, notes


_EXCEL_SEP_RE = re.compile(r'^"?sep=(.)"?[ \t]*$', re.IGNORECASE)


def _preamble(text: str, forced: str | None) -> tuple[str | None, int, str]:
    """Excel's first line ``sep=;`` (its delimiter hint): (the delimiter or None, lines to skip, the rest)."""
    first, newline, rest = text.partition("\n")
    m = _EXCEL_SEP_RE.match(first.rstrip("\r"))
    if m is None:
        return None, 0, text
    return m.group(1), 1, rest if newline else ""


def _skip_comments(text: str, delimiter: str, whole: bool) -> tuple[str, int]:
    """Drop the lines at the top that start with ``#`` and are not a header: (rest, lines dropped).

    A header may start with ``#`` too (``#id,age,label``); a comment line is told from it by having
    fewer fields than the first line below it that is not a comment.
    """
    lines = text.splitlines(keepends=True)
    k = 0
    while k < len(lines) and lines[k].lstrip().startswith("#"):
        k += 1
    if k == 0 or k == len(lines):
        return text, 0
    width = len(next(csv.reader([lines[k]], delimiter=delimiter)))
    comments = 0
    for line in lines[:k]:
        if len(next(csv.reader([line], delimiter=delimiter), [])) >= width:
            break
        comments += 1
    return "".join(lines[comments:]), comments


def _parse_sample(text: str, delimiter: str, whole: bool) -> list[list[str]]:
    """Rows of the sample (quote-aware), blank lines skipped, a cut-off last row dropped."""
    if not whole:
        end = max(text.rfind("\n"), text.rfind("\r"))
        text = text[: end + 1] if end >= 0 else text
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False))
    except csv.Error:
        return []
    return [r for r in rows if r]


def _skip_title(text: str, whole: bool, forced: str | None) -> tuple[str, str]:
    """A first line that is no row of the table (the adult test file's ``|1x3 Cross validator``):
    (the rest, that line) when no delimiter splits every line of the sample alike, one splits every
    line below the first alike into 2 or more fields, and the first line holds no such delimiter and
    no two fields split by any other; else (text, "")."""
    first, newline, rest = text.partition("\n")
    if not newline or not rest.strip() or _consistent(text, whole, forced):
        return text, ""
    d = forced or _pick_delimiter(rest, whole)
    if not _consistent(rest, whole, d) or len(next(csv.reader([first], delimiter=d), [])) != 1:
        return text, ""
    # Never a header written with another delimiter ("a;b;c" above comma rows): at most one word.
    if any(sum(1 for f in next(csv.reader([first], delimiter=o), []) if f.strip()) > 1 for o in DELIMITERS):
        return text, ""
    return rest, first.rstrip("\r")


def _consistent(text: str, whole: bool, only: str | None = None) -> bool:
    """Some delimiter (or ``only``) splits every row of the sample into the same number (> 1) of fields."""
    for d in (only,) if only else DELIMITERS:
        rows = _parse_sample(text, d, whole)[:200]
        if rows and len(rows[0]) > 1 and all(len(r) == len(rows[0]) for r in rows):
            return True
    return False


def _pick_delimiter(text: str, whole: bool) -> str:
    """The delimiter that splits the sample into the same number (> 1) of fields on every row.

    With several such candidates the one giving more fields wins, except that a consistent
    semicolon, tab or pipe beats the comma: those files often use decimal commas.
    """
    scored: dict[str, tuple[float, int]] = {}
    for d in DELIMITERS:
        rows = _parse_sample(text, d, whole)[:200]
        if not rows:
            continue
        n = len(rows[0])
        same = sum(1 for r in rows if len(r) == n) / len(rows)
        scored[d] = (same, n)
    consistent = [d for d, (same, n) in scored.items() if same == 1.0 and n > 1]
    if consistent:
        others = [d for d in consistent if d != ","]
        pool = others if others else consistent
        return max(pool, key=lambda d: scored[d][1])
    multi = [d for d, (same, n) in scored.items() if n > 1]
    if multi:  # ragged file: the reader will name the first bad line
        return max(multi, key=lambda d: scored[d])
    return ","


def _clean_names(raw: list[str]) -> tuple[tuple[str, ...], list[str]]:
    """Strip names; empty ones become col_<k>; repeats get .1, .2 (as pandas); say what changed."""
    notes: list[str] = []
    names: list[str] = []
    seen: set[str] = set()
    for k, name in enumerate(raw, start=1):
        name = name.strip()
        if not name:
            name = f"col_{k}"
            notes.append(f"column {k} has no name in the header; called it {name!r}")
        base, i = name, 0
        while name in seen:
            i += 1
            name = f"{base}.{i}"
        if i:
            notes.append(f"column {k} repeats the name {base!r}; called it {name!r}")
        seen.add(name)
        names.append(name)
    return tuple(names), notes


def _first_row_is_data(first: list[str], rest: list[list[str]], decimal: str) -> bool:
    """Whether a first row that is not all numbers is still data, as in UCI's ``iris.data``.

    Each column votes on its first cell against the cells below it: a number above a numeric
    column, or a text cell that recurs below it (a class label), says "data"; a name above a
    numeric column says "header". The row is data only when some column says so and none says
    "header", so a file with real column names is never read as headerless.
    """
    data_votes = header_votes = 0
    for k, cell in enumerate(first):
        cell = cell.strip()
        below = [r[k].strip() for r in rest if k < len(r) and r[k].strip()]
        if not cell or not below:
            continue
        numeric_below = all(is_number(v, decimal) for v in below)
        if is_number(cell, decimal):
            data_votes += numeric_below
        elif numeric_below:
            header_votes += 1
        elif cell in below:
            data_votes += 1
    return data_votes > 0 and header_votes == 0


def sniff_csv(path: str | os.PathLike[str], *, delimiter: str | None = None) -> CsvFormat:
    """Find the encoding, delimiter, header and column names of a CSV file from its first bytes.

    Parameters
    ----------
    path : path of the file
    delimiter : str, optional -- force a delimiter (``","``, ``";"``, ``"tab"``, ``"|"`` ...)

    Raises
    ------
    DataError
        Missing, empty or header-only file; a file that is not text (Excel, Parquet, gzip, zip,
        binary); a file with a single column.
    """
    forced = normalize_delimiter(delimiter)
    p = str(path)
    head, whole = read_head(path)
    if not head:
        raise DataError(f"{p} is empty (0 bytes).", hint="Choose a CSV file with a header row and data rows.")
    text, encoding, notes = _decode_head(head, whole, p)
    if not text.strip():
        raise DataError(f"{p} holds only blank lines, no data.", hint="Choose a CSV file with data rows.")
    excel_sep, skip, text = _preamble(text, forced)
    if excel_sep is not None:
        notes.append(f"first line 'sep={excel_sep}' (Excel's delimiter line): read with that delimiter and skipped, "
                     "as Excel does")
        forced = forced or excel_sep
    if not text.strip():
        raise DataError(f"{p} holds only comment lines, no data.", hint="Choose a CSV file with data rows.")
    text, title = _skip_title(text, whole, forced)
    if title:
        skip += 1
        notes.append(f"skipped the first line {title[:60]!r}: it is not a row of the table (no delimiter in it, "
                     "where every line below splits alike)")
    d = forced or _pick_delimiter(text, whole)
    text, comments = _skip_comments(text, d, whole)
    if comments:
        skip += comments
        notes.append(f"skipped {comments} comment line{'s' if comments > 1 else ''} starting with '#' at the top "
                     "of the file")
    rows = _parse_sample(text, d, whole)
    if not rows:
        raise DataError(f"{p} holds no rows that can be read as CSV.", hint=_SAVE_AS_CSV)
    first = rows[0]
    if len(first) < 2:
        found = "" if forced else " with any of the delimiters , ; tab |"
        raise DataError(
            f"{p} has only one column{found} (first line: {first[0][:60]!r}); a dataset needs feature "
            "columns and a label column.",
            hint="If the columns are separated by something else, choose the delimiter explicitly.",
        )
    if not forced and d != ",":
        notes.append(f"delimiter: {_DELIMITER_WORDS[d]}")
    decimal = "."
    if d != ",":
        cells = [c for r in rows[:50] for c in r]
        if any(_DECIMAL_COMMA_RE.match(c) for c in cells) and not any(_DECIMAL_POINT_RE.match(c) for c in cells):
            decimal = ","
            notes.append("numbers use a decimal comma")
    nonempty = [c for c in first if c.strip()]
    all_numbers = bool(nonempty) and all(is_number(c, decimal) for c in nonempty)
    has_header = not (all_numbers or _first_row_is_data(first, rows[1:201], decimal))
    if has_header:
        columns, name_notes = _clean_names(first)
        notes.extend(name_notes)
        unnamed = tuple(c for c, raw in zip(columns, first) if not raw.strip())
        data_rows = rows[1:]
        if whole and not data_rows:
            raise DataError(
                f"{p} has a header row ({', '.join(columns[:8])}{' ...' if len(columns) > 8 else ''}) "
                "but no data rows.",
                hint="Choose a CSV file with data rows below the header.",
            )
    else:
        columns = tuple(f"col_{k}" for k in range(1, len(first) + 1))
        data_rows = rows
        why = "the first row is all numbers" if all_numbers else (
            "the first row holds numbers above numeric columns and a label that recurs below it")
        notes.append(f"no header row ({why}): read it as data and named the columns col_1 ... col_{len(first)}")
    return CsvFormat(
        path=p,
        encoding=encoding,
        delimiter=d,
        has_header=has_header,
        columns=columns,
        decimal=decimal,
        quoted='"' in text,
        sample_rows=tuple(tuple(r) for r in data_rows),
        sample_is_whole_file=whole,
        notes=tuple(notes),
        unnamed=unnamed if has_header else (),
        skip_lines=skip,
    )
