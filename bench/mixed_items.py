"""Item 12: a mixed table -- load and encode 10 numeric and 10 categorical columns with missing cells.

The file: ``csv_rows`` rows (1M in full and quick runs), 10 numeric columns (floats) and 10 text
columns of 3 to 50 categories each, 2 % of the cells of every column empty, a 0/1 label. Both sides
do the same work, each in a fresh process (:mod:`bench._child`), alternating:

- ours: ``load_csv`` (parse, trim, infer the kinds, one-hot encode, fill missing numbers with the
  median plus an indicator) and the standardisation of the numeric inputs training applies
  (:func:`evalstudio.core.training.inputs.fit_scaler`); the result is one dense float32 matrix.
- baseline: ``pandas.read_csv`` then scikit-learn's ``ColumnTransformer`` of ``OneHotEncoder``
  (missing as a category, unknown ignored) and ``SimpleImputer(median, add_indicator=True)`` +
  ``StandardScaler`` ``fit_transform``, with scikit-learn's defaults otherwise (its output is
  sparse, which is lighter for it than a dense matrix).

Peak memory is the fresh process's peak resident set over its resident set before the work.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from bench.harness import Item
from bench.io_items import CACHE, _child, _summary

N_NUMERIC = 10
N_TEXT = 10
MISSING_SHARE = 0.02


def write_mixed_csv(n_rows: int, *, seed: int = 0) -> Path:
    """The mixed CSV of the module docstring, written once and cached."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"mixed_rows{n_rows}_seed{seed}.csv"
    if path.is_file():
        return path
    rng = np.random.default_rng(seed)
    sizes = np.linspace(3, 50, N_TEXT).round().astype(int)  # 3 ... 50 categories
    fields = [pa.field(f"x{i}", pa.float64()) for i in range(N_NUMERIC)]
    fields += [pa.field(f"c{i}", pa.string()) for i in range(N_TEXT)] + [pa.field("label", pa.int64())]
    names = [np.array([f"c{i}_v{k}" for k in range(s)], dtype=object) for i, s in enumerate(sizes)]
    tmp = path.with_suffix(".part")
    chunk = 250_000
    with pacsv.CSVWriter(str(tmp), pa.schema(fields)) as writer:
        for lo in range(0, n_rows, chunk):
            m = min(chunk, n_rows - lo)
            cols: dict[str, Any] = {}
            score = np.zeros(m)
            for i in range(N_NUMERIC):
                x = np.round(rng.normal(size=m), 4)
                score += x * (0.5 if i < 3 else 0.0)
                cols[f"x{i}"] = pa.array(x, mask=rng.random(m) < MISSING_SHARE)
            for i, s in enumerate(sizes):
                # Skewed category frequencies, as real ones are (a few common values, a long tail).
                codes = np.minimum(rng.geometric(1.5 / s, size=m) - 1, s - 1)
                score += (codes % 3 == 0) * 0.3
                cols[f"c{i}"] = pa.array(names[i][codes], type=pa.string(), mask=rng.random(m) < MISSING_SHARE)
            cols["label"] = (score + rng.normal(size=m) > 0.8).astype(np.int64)
            writer.write_table(pa.table(cols, schema=pa.schema(fields)))
    os.replace(tmp, path)
    return path


def mixed_loading(scale: dict[str, Any]) -> list[Item]:
    """Item 12: load + encode a mixed table vs pandas.read_csv + ColumnTransformer.fit_transform."""
    n = scale["csv_rows"]
    path = write_mixed_csv(n)
    runs: dict[str, list[dict[str, Any]]] = {"evalstudio-mixed": [], "sklearn-mixed": []}
    for _ in range(max(1, scale["repeats"])):
        for mode in runs:
            runs[mode].append(_child(mode, path))
    ours, sk = (_summary(runs[mode]) for mode in runs)
    matrix = ours["rows"] * ours["features"] * 4
    mem_ratio = ours["peak_delta_bytes"] / matrix
    ratio = sk["seconds"] / ours["seconds"]
    return [Item(
        "12-mixed-load", "Mixed table: load and encode",
        f"{n:,} rows, {N_NUMERIC} numeric + {N_TEXT} categorical columns (3-50 categories), 2 % missing cells "
        f"({path.stat().st_size / 1e6:.0f} MB), each in a fresh process: load_csv + standardisation vs "
        "pandas.read_csv + ColumnTransformer(OneHotEncoder, SimpleImputer, StandardScaler).fit_transform "
        "(median of alternating runs)", "s", ours["seconds"], sk["seconds"], "pandas + scikit-learn", ratio,
        "at least as fast; peak memory <= 3x the encoded float32 matrix", ratio >= 1.0 and mem_ratio <= 3.0,
        note=f"ours {ours['seconds']:.2f} s vs {sk['seconds']:.2f} s ({ratio:.2f}x); {ours['features']} inputs; "
             f"peak memory {ours['peak_delta_bytes'] / 1e6:.0f} MB = {mem_ratio:.2f}x the encoded float32 matrix "
             f"({matrix / 1e6:.0f} MB); pandas + scikit-learn peaked at {sk['peak_delta_bytes'] / 1e6:.0f} MB "
             f"(its output is a sparse matrix of {sk['features']} columns)",
        details={"ours": ours, "sklearn": sk, "matrix_bytes": matrix, "peak_vs_matrix": mem_ratio},
    )]
