"""How a training run cuts its rows: the stratified validation hold-out and the batches."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from evalstudio.core.errors import DataError

if TYPE_CHECKING:
    from evalstudio.core.data.dataset import Dataset


def split_validation(data: "Dataset", fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified, seeded split into (train positions, validation positions), both sorted.

    Raises :class:`DataError` when a class has too few rows to appear on both sides.
    """
    from sklearn.model_selection import train_test_split

    index = np.arange(data.n_samples)
    if fraction <= 0:
        return index, index[:0]
    try:
        tr, va = train_test_split(index, test_size=fraction, stratify=data.y, random_state=seed)
    except ValueError as exc:
        counts = ", ".join(f"{c}: {n}" for c, n in zip(data.classes, data.class_counts()))
        raise DataError(
            f"cannot hold out a stratified {fraction:g} of {data.n_samples} rows for validation ({exc}; "
            f"rows per class: {counts}).",
            hint="Use a larger --val-fraction, more data, or --val-data CSV.",
            hints={"app": "Use a larger Validation fraction (0 trains without validation rows), or more data."},
        ) from None
    return np.sort(tr), np.sort(va)


def batch_bounds(n: int, batch_size: int, *, drop_last: bool = False) -> list[tuple[int, int]]:
    """Slices of a permutation of ``n`` rows; a last batch of one row joins the one before it,
    because BatchNorm cannot train on a single row.

    With ``drop_last`` only full batches are kept (``n // batch_size`` of them, as a loop over
    ``range(len(X) // batch_size)`` walks them); fewer rows than one batch still make one batch.
    """
    if drop_last and n >= batch_size:
        return [(lo, lo + batch_size) for lo in range(0, n - batch_size + 1, batch_size)]
    bounds = [(lo, min(lo + batch_size, n)) for lo in range(0, n, batch_size)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2:] = [(bounds[-2][0], n)]
    return bounds


def batch_groups(
    bounds: list[tuple[int, int]], max_rows: int
) -> list[tuple[int, int, list[tuple[int, int]]]]:
    """Consecutive batches grouped into runs of at most ``max_rows`` rows (one batch at least).

    Returns ``(first row, end row, batches)`` per group; the groups cover ``bounds`` in order.
    """
    groups: list[tuple[int, int, list[tuple[int, int]]]] = []
    for lo, hi in bounds:
        if groups and hi - groups[-1][0] <= max_rows and groups[-1][1] == lo:
            g_lo, _, members = groups[-1]
            members.append((lo, hi))
            groups[-1] = (g_lo, hi, members)
        else:
            groups.append((lo, hi, [(lo, hi)]))
    return groups
