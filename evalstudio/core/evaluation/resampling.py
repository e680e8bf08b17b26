"""Stratified bootstrap resamples of rows, as weights: seeded, reproducible, fast to draw.

A resample draws, for every class ``c`` with ``n_c`` rows, ``n_c`` rows of that class with
replacement. It is held as a weight per row (how many times the row was drawn), so every metric
of the resample is a weighted sum over the original rows and nothing is copied or re-sorted.
Weights of a block of resamples form a matrix of shape ``(b, n_samples)`` whose columns are the
rows *grouped by class* (class 0's rows in file order, then class 1's, ...;
:attr:`StratifiedBootstrap.grouped_rows` maps a column to its row).

The resamples depend only on ``(y_true, n_resamples, seed)``: two models evaluated on the same
rows with the same seed see the same resamples (a paired comparison needs exactly that), and
processing them in other chunks changes nothing.

How the weights are drawn (exact, and ~3x faster than drawing ``n_c`` indices and counting them):
the counts of ``n_c`` draws among ``n_c`` rows are Multinomial(n_c, uniform). Independent
Poisson(lam) counts conditioned on their total ``S`` are Multinomial(S, uniform) for any lam, so
drawing Poisson(lam) counts with lam a little below 1 (``S <= n_c`` with overwhelming
probability; otherwise that resample is drawn again) and then adding ``n_c - S`` further uniform
draws gives exactly Multinomial(n_c, uniform). The Poisson counts come from 8-bit table
lookups of random bytes, resolved to 32 bits in the few table cells that straddle two counts, so
each count's probabilities are Poisson's rounded to multiples of 2**-32.

Numpy only.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from functools import lru_cache

import numpy as np

__all__ = ["StratifiedBootstrap", "block_size"]

# A block of resamples shares one random stream; its weight matrix holds at most this many cells.
BLOCK_ELEMENTS = 1 << 22
_MAX_BLOCK = 1024
_SENTINEL = 255


def block_size(n_samples: int) -> int:
    """Resamples per random stream for ``n_samples`` rows (part of what defines the resamples)."""
    return max(1, min(_MAX_BLOCK, BLOCK_ELEMENTS // max(int(n_samples), 1)))


def _poisson_lambda(n_c: int) -> float:
    """Five standard deviations below 1, so that the Poisson total rarely exceeds ``n_c``."""
    return max(0.0, 1.0 - 5.0 / math.sqrt(n_c))


@lru_cache(maxsize=64)
def _poisson_tables(lam: float) -> tuple[bytes, np.ndarray]:
    """``(table8, cuts32)`` for drawing Poisson(lam) from uniform 32-bit integers.

    ``cuts32[k]`` is ``round(2**32 * P(X <= k))``; a 32-bit uniform ``u`` maps to the number of
    cuts at or below it. ``table8[u >> 24]`` is that count when the whole 8-bit cell maps to one
    count, else 255 (then the low 24 bits decide): a lookup through ``bytes.translate``, the
    fastest table lookup numpy has at hand.
    """
    cuts: list[int] = []
    pmf = math.exp(-lam)
    cdf = pmf
    k = 0
    while k <= 60:
        c = int(round(cdf * 2.0**32))
        if c >= 2**32:
            break
        cuts.append(c)
        k += 1
        pmf *= lam / k
        cdf += pmf
    cuts32 = np.asarray(cuts, dtype=np.int64)
    starts = np.arange(256, dtype=np.int64) << 24
    first = np.searchsorted(cuts32, starts, "right")
    last = np.searchsorted(cuts32, starts + (1 << 24) - 1, "right")
    table = np.where(first == last, first, _SENTINEL).astype(np.uint8)
    return table.tobytes(), cuts32


_LANES = np.uint64(0x0101010101010101)


def byte_sums(x: np.ndarray) -> np.ndarray:
    """Row sums of a uint8 array (b, m) whose values are at most 31, int64 of shape (b,).

    Eight weights share a 64-bit word; multiplying the word by 0x0101...01 leaves their sum in
    the top byte (no lane overflows when each is <= 31), so this reads each byte once.
    """
    b, m = x.shape
    if m % 8 or not x.flags.c_contiguous:
        return np.asarray(x.sum(axis=1, dtype=np.int64))
    return np.asarray(((x.view(np.uint64) * _LANES) >> np.uint64(56)).sum(axis=1, dtype=np.int64))


def byte_cumsum(x: np.ndarray) -> np.ndarray:
    """Cumulative sums of uint8 rows with a leading zero: int32 of shape (b, m + 1).

    Within each 64-bit word, multiplying by 0x0101...01 turns the eight bytes into their running
    sums (when every value is <= 31); the word totals are then accumulated word by word, an
    eighth of the work of ``np.cumsum`` (which takes ~2x longer here).
    """
    b, m = x.shape
    out = np.zeros((b, m + 1), dtype=np.int32)
    if m < 64 or int(x.max()) > 31:
        np.cumsum(x, axis=1, dtype=np.int32, out=out[:, 1:])
        return out
    m8 = m - m % 8
    words = np.ascontiguousarray(x[:, :m8]).view(np.uint64)
    pre = words * _LANES
    offsets = np.zeros((b, words.shape[1]), dtype=np.int32)
    np.cumsum((pre[:, :-1] >> np.uint64(56)).astype(np.int32), axis=1, out=offsets[:, 1:])
    np.add(pre.view(np.uint8).reshape(b, -1, 8), offsets[:, :, None], out=out[:, 1:m8 + 1].reshape(b, -1, 8))
    if m8 < m:
        np.cumsum(x[:, m8:], axis=1, dtype=np.int32, out=out[:, m8 + 1:])
        out[:, m8 + 1:] += out[:, m8:m8 + 1]
    return out


def _poisson_counts(rng: np.random.Generator, lam: float, shape: tuple[int, int]) -> np.ndarray:
    """uint8 Poisson(lam) counts of ``shape`` (see the module docstring)."""
    m = shape[0] * shape[1]
    if lam == 0.0:
        return np.zeros(shape, dtype=np.uint8)
    table, cuts = _poisson_tables(lam)
    top = bytearray(rng.bit_generator.random_raw((m + 7) // 8))  # m uniform bytes (and a few spare)
    out = np.frombuffer(top.translate(table), dtype=np.uint8, count=m)
    unresolved = np.flatnonzero(out == _SENTINEL)
    if unresolved.size:  # ~2 % of cells: the low 24 bits decide
        low = np.asarray(rng.bit_generator.random_raw(unresolved.size), dtype=np.uint64) & np.uint64(0xFFFFFF)
        u32 = (np.frombuffer(top, dtype=np.uint8, count=m)[unresolved].astype(np.int64) << 24) | low.astype(np.int64)
        out[unresolved] = np.searchsorted(cuts, u32, "right")
    return out.reshape(shape)


def _multinomial_block(rng: np.random.Generator, b: int, n_c: int) -> np.ndarray:
    """``b`` independent Multinomial(n_c, uniform over n_c cells) count vectors, uint8 (b, n_c)."""
    lam = _poisson_lambda(n_c)
    w = _poisson_counts(rng, lam, (b, n_c))  # every value <= len(cuts) <= 20 here
    totals = byte_sums(w)
    over = np.flatnonzero(totals > n_c)
    while over.size:  # probability ~3e-7 per resample: draw those again from the same stream
        w[over] = _poisson_counts(rng, lam, (over.size, n_c))
        totals[over] = byte_sums(w[over])
        over = over[totals[over] > n_c]
    missing = n_c - totals
    extra = int(missing.sum())
    if extra:
        draws = rng.integers(0, n_c, size=extra, dtype=np.int64)
        draws += np.repeat(np.arange(b, dtype=np.int64) * n_c, missing)
        if extra * 8 >= w.size:  # many top-ups (small classes): one count beats scattered adds
            added = np.bincount(draws, minlength=w.size)
            if added.max() > 200:  # pragma: no cover - needs one row drawn 200 times
                raise OverflowError("a bootstrap weight exceeded 255")
            w += added.reshape(b, n_c).astype(np.uint8)
        else:
            _, repeats = np.unique(draws, return_counts=True)
            if repeats.max() > 200:  # pragma: no cover - would wrap around in uint8
                raise OverflowError("a bootstrap weight exceeded 255")
            np.add.at(w.reshape(-1), draws, 1)
    return w


class StratifiedBootstrap:
    """The stratified bootstrap resamples of a labelled set of rows.

    Parameters
    ----------
    y_true : ndarray of shape (n_samples,), int
        Class index of every row; each class is resampled within itself, so every resample keeps
        the class counts.
    n_resamples : int
    seed : int

    Attributes
    ----------
    grouped_rows : ndarray of shape (n_samples,), int64
        Row of each weight column: the rows of each class in file order, class after class.
    class_offsets : dict of int to (int, int)
        Column range ``[start, stop)`` of each class present.
    block : int
        Resamples per random stream (:func:`block_size`).

    Examples
    --------
    >>> boot = StratifiedBootstrap(np.array([0, 0, 1, 1, 1]), n_resamples=3, seed=0)
    >>> [w.sum(axis=1).tolist() for _, _, w in boot.blocks()]
    [[5, 5, 5]]
    """

    def __init__(self, y_true: np.ndarray, *, n_resamples: int = 1000, seed: int = 0) -> None:
        y = np.asarray(y_true)
        if y.ndim != 1 or y.size == 0:
            raise ValueError(f"y_true must be a non-empty 1-D array, got shape {y.shape}")
        if n_resamples < 1:
            raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
        y = y.astype(np.int64, copy=False)
        self.n_samples = int(y.size)
        self.n_resamples = int(n_resamples)
        self.seed = int(seed)
        self.grouped_rows = np.argsort(y, kind="stable")
        counts = np.bincount(y - y.min()) if y.min() < 0 else np.bincount(y)
        base = int(min(y.min(), 0))
        self.class_offsets: dict[int, tuple[int, int]] = {}
        start = 0
        for c, n_c in enumerate(counts):
            if n_c:
                self.class_offsets[c + base] = (start, start + int(n_c))
                start += int(n_c)
        self.block = block_size(self.n_samples)

    @property
    def n_blocks(self) -> int:
        return -(-self.n_resamples // self.block)

    def block_weights(self, index: int) -> np.ndarray:
        """uint8 weights (b, n_samples) of block ``index`` (resamples ``index * block`` on), columns
        grouped by class. Blocks are independent: any of them can be drawn alone, in any order."""
        b = min(self.block, self.n_resamples - index * self.block)
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(self.seed, spawn_key=(index,))))
        w = np.empty((b, self.n_samples), dtype=np.uint8)
        for start, stop in self.class_offsets.values():
            w[:, start:stop] = _multinomial_block(rng, b, stop - start)
        return w

    def blocks(self) -> Iterator[tuple[int, int, np.ndarray]]:
        """Yield ``(first, stop, weights)``: resamples ``first..stop-1`` as uint8 (b, n_samples)."""
        for i in range(self.n_blocks):
            first = i * self.block
            w = self.block_weights(i)
            yield first, first + w.shape[0], w

    def row_weights(self, first: int = 0, stop: int | None = None) -> np.ndarray:
        """Weights of resamples ``first..stop-1`` in file row order, int64 (b, n_samples).

        For checks and reference implementations; the metrics read :meth:`blocks` directly.
        """
        stop = self.n_resamples if stop is None else stop
        out = np.zeros((stop - first, self.n_samples), dtype=np.int64)
        for i in range(first // self.block, -(-stop // self.block)):
            w = self.block_weights(i)
            lo, hi = max(first, i * self.block), min(stop, i * self.block + w.shape[0])
            out[lo - first:hi - first, self.grouped_rows] = w[lo - i * self.block:hi - i * self.block]
        return out

    def indices(self, resample: int) -> np.ndarray:
        """Row indices (with repeats, ascending) of one resample: for reference implementations."""
        w = self.row_weights(resample, resample + 1)[0]
        return np.repeat(np.arange(self.n_samples), w)
