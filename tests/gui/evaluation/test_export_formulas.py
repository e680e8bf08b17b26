"""The app's CSV exports neutralise text a spreadsheet would run; numbers stay numbers."""

from __future__ import annotations

import csv

from evalstudio.gui.evaluation.export import write_csv, write_table


def test_write_csv_neutralises_formulas_in_header_and_text_cells(tmp_path):
    path = tmp_path / "rows.csv"
    rows = [[1, "=2+3", "@SUM(A1)", -0.25, 0.75], [2, "-1", "+cmd", 0.5, -3.0], [3, None, "ok", 1.0, 2.0]]
    write_csv(path, ["row", "actual", "predicted", "=feature", "-x"], (list(r) for r in rows), checked=True)
    out = list(csv.reader(path.open()))
    assert out[0] == ["row", "actual", "predicted", "'=feature", "'-x"]
    assert out[1] == ["1", "'=2+3", "'@SUM(A1)", "-0.25", "0.75"]
    assert out[2] == ["2", "-1", "'+cmd", "0.5", "-3.0"]
    assert out[3] == ["3", "", "ok", "1.0", "2.0"]


def test_write_table_per_class_rows(tmp_path):
    path = tmp_path / "per_class.csv"
    write_table(path, ["class", "precision"], [["=HYPERLINK(\"http://x\")", 0.5], ["b", float("nan")]])
    out = list(csv.reader(path.open()))
    assert out[1] == ["'=HYPERLINK(\"http://x\")", "0.5"] and out[2] == ["b", ""]
