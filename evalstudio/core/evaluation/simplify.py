"""Thin a curve to a drawable number of points without changing how it looks.

Numpy only, below the threshold table (which draws its ROC and PR curves through it) and the
curves module (which re-exports it).
"""

from __future__ import annotations

import math

import numpy as np


def simplify_curve(x: np.ndarray, y: np.ndarray, max_points: int = 2000) -> np.ndarray:
    """Indices of at most ``max_points`` points that keep a curve's visible shape.

    Method: cut the curve into ``B = max_points // 4`` pieces of equal arc length (L1:
    ``|dx| + |dy|``) and keep, in each piece, its first and last point and the points of its
    lowest and highest ``y`` (min/max decimation, which keeps the spikes of a jagged PR curve).
    Every dropped point lies within ``L / B`` (L1) of a kept point, where ``L`` is the curve's
    total L1 length: at most ``2 / B`` for a ROC curve, i.e. 0.004 of the axis at the default
    2000 points (2 pixels on a 500-pixel plot). The first and last points are always kept. Curves with NaN (a class absent) are thinned by
    even index spacing.

    Parameters
    ----------
    x, y : ndarray of shape (n,)
        The curve, in drawing order.
    max_points : int
        At most this many indices are returned (>= 4).

    Returns
    -------
    ndarray of shape (p,), int64
        Increasing indices into ``x`` / ``y``, ``p <= max_points``.
    """
    if max_points < 4:
        raise ValueError(f"max_points must be at least 4, got {max_points}")
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = x.shape[0]
    if n <= max_points:
        return np.arange(n, dtype=np.int64)
    arc = np.concatenate([[0.0], np.cumsum(np.abs(np.diff(x)) + np.abs(np.diff(y)))])
    length = arc[-1]
    if not (math.isfinite(length) and length > 0):
        return np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))
    n_bins = max_points // 4
    piece = np.minimum((arc * (n_bins / length)).astype(np.int64), n_bins - 1)
    starts = np.concatenate([[0], np.flatnonzero(np.diff(piece)) + 1])
    ends = np.concatenate([starts[1:] - 1, [n - 1]])
    counts = ends - starts + 1
    owner = np.repeat(np.arange(starts.shape[0]), counts)  # which piece each point is in
    lo = np.minimum.reduceat(y, starts)
    hi = np.maximum.reduceat(y, starts)
    keep = np.zeros(n, dtype=bool)
    keep[starts] = True
    keep[ends] = True
    for extreme in (lo, hi):
        hits = np.flatnonzero(y == extreme[owner])
        _, first_hit = np.unique(owner[hits], return_index=True)
        keep[hits[first_hit]] = True
    return np.flatnonzero(keep)
