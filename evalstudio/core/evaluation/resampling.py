"""Stratified bootstrap resamples of rows, as weights: seeded, reproducible, fast to draw.

A resample draws, for every class ``c`` with ``n_c`` rows, ``n_c`` rows of that class with
replacement. It is held as a weight per row (how many times the row was drawn), so every metric
of the resample is a weighted sum over the original rows and nothing is copied or re-sorted.
Resamples come in blocks of ``b`` (:func:`block_size`); a block's weights form a uint8 matrix of
shape ``(n_samples, b)``: one **row per data row** (the rows grouped by class: class 0's rows in
file order, then class 1's, ...; :attr:`StratifiedBootstrap.grouped_rows` maps a matrix row to its
data row) and one column per resample. Rows of ``b`` contiguous bytes are what makes the metrics
fast: putting the weights in a model's score order moves whole rows (one cache line at
``b = 64``), and cumulative sums run down the rows eight or four resamples to a 64-bit word.

The resamples depend only on ``(y_true, seed)`` (resample ``r`` is the same whatever
``n_resamples``): two models evaluated on the same rows with the same seed see the same resamples
(a paired comparison needs exactly that), and processing them in other chunks changes nothing.

How the weights are drawn (exact): the counts of ``n_c`` draws among ``n_c`` rows are
Multinomial(n_c, uniform). Independent Poisson(lam) counts conditioned on their total ``S`` are
Multinomial(S, uniform) for any lam, so drawing Poisson(lam) counts with lam a little below 1
(``S <= n_c`` with overwhelming probability; otherwise that resample is drawn again) and then
adding ``n_c - S`` further uniform draws gives exactly Multinomial(n_c, uniform). The Poisson
counts come from an 8-bit table of random bytes (a few comparisons per byte, in cache-sized
chunks), resolved with 8 and then 16 more bits in the few table cells that straddle two counts,
so each count's probabilities are Poisson's rounded to multiples of 2**-32.

Numpy only.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from functools import lru_cache

import numpy as np

__all__ = ["StratifiedBootstrap", "block_size", "column_sums", "exclusive_cumsum"]

#: A block's weight matrix holds about this many uint8 cells (128 MiB), with 8 to 1024 resamples
#: (above 2**17 rows a block holds fewer than 1024: 128 resamples at 10**6 rows, in 8 blocks).
BLOCK_ELEMENTS = 1 << 27
_MAX_BLOCK = 1024
_MIN_BLOCK = 8
_SENTINEL = 255
#: Rows per run of the running sums (cache-sized; 2048 weights of at most 31 stay below 2**16).
LANE_ROWS = 2048
LANE_MAX_WEIGHT = 31
_CHUNK = 1 << 20  # cells drawn at a time (part of the random stream's definition)


def block_size(n_samples: int) -> int:
    """Resamples per block for ``n_samples`` rows: a power of two from 8 to 1024 (part of what
    defines the resamples)."""
    b = BLOCK_ELEMENTS // max(int(n_samples), 1)
    return max(_MIN_BLOCK, min(_MAX_BLOCK, 1 << max(b.bit_length() - 1, 0)))


def _poisson_lambda(n_c: int) -> float:
    """Five standard deviations below 1, so that the Poisson total rarely exceeds ``n_c``."""
    return max(0.0, 1.0 - 5.0 / math.sqrt(n_c))


@lru_cache(maxsize=64)
def _poisson_tables(lam: float) -> tuple[bytes, np.ndarray]:
    """``(table8, cuts32)`` for drawing Poisson(lam) from uniform 32-bit integers.

    ``cuts32[k]`` is ``round(2**32 * P(X <= k))``; a 32-bit uniform ``u`` maps to the number of
    cuts at or below it. ``table8[u >> 24]`` is that count when the whole 8-bit cell maps to one
    count, else 255 (then the low 24 bits decide). :func:`_draw_plan` reorders its cells for
    numpy's comparisons.
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


@lru_cache(maxsize=64)
def _second_tables(lam: float) -> tuple[np.ndarray, np.ndarray]:
    """``(slot, table16)``: the 16-bit resolution of the 8-bit cells that straddle two counts.

    ``table16[slot[v] * 256 + w]`` is the count of every 32-bit ``u`` whose top two bytes are
    ``v, w``, or 255 when that 16-bit cell straddles a cut too (then the low 16 bits decide).
    """
    table, cuts32 = _poisson_tables(lam)
    straddling = np.flatnonzero(np.frombuffer(table, dtype=np.uint8) == _SENTINEL)
    slot = np.zeros(256, dtype=np.intp)
    slot[straddling] = np.arange(straddling.size)
    starts = ((straddling[:, None] << 24) | (np.arange(256)[None, :] << 16)).reshape(-1)
    first = np.searchsorted(cuts32, starts, "right")
    last = np.searchsorted(cuts32, starts + (1 << 16) - 1, "right")
    return slot, np.where(first == last, first, _SENTINEL).astype(np.uint8)


@lru_cache(maxsize=64)
def _draw_plan(lam: float) -> tuple[tuple[int, ...], int, np.ndarray]:
    """``(steps, n_full, straddling)``: the 8-bit table with its cells reordered for numpy.

    The 8-bit cells that map to one count, in their order, come first (``n_full`` of them): a
    byte ``u < n_full`` has count ``sum(u >= s for s in steps)``, a few comparisons numpy runs
    without the GIL. The straddling cells follow: byte ``n_full + j`` is the 8-bit cell
    ``straddling[j]``, resolved with more bits. Each count keeps exactly its probability (every
    cell is a cell: only their order changes).
    """
    table, _ = _poisson_tables(lam)
    t = np.frombuffer(table, dtype=np.uint8)
    full = t[t != _SENTINEL]
    steps = tuple(int(full.searchsorted(k, "left")) for k in range(1, int(full.max()) + 1))
    return steps, int(full.size), np.flatnonzero(t == _SENTINEL)


_LANES = np.uint64(0x0101010101010101)


def column_sums(x: np.ndarray, max_weight: int) -> np.ndarray:
    """Column sums of a uint8 matrix (rows, b), int64 of shape (b,).

    With every value at most 31 and ``b`` a multiple of 8, rows are added as 64-bit words (eight
    byte lanes): the first half of the rows to the second half, then again, as long as a lane
    cannot overflow (``max_weight`` times the rows added stays below 256), each addition one
    contiguous pass; then the bytes of the few rows left are added. (Adding row ``i`` to row
    ``i + 1`` instead walks the matrix in runs of ``b / 8`` words, where numpy's per-run cost
    dominates.)
    """
    rows, b = x.shape
    if max_weight > LANE_MAX_WEIGHT or b % 8 or rows < 64 or not x.flags.c_contiguous:
        return np.asarray(x.sum(axis=0, dtype=np.int64))
    out = np.zeros(b, dtype=np.int64)
    acc = x.view(np.uint64)  # (rows, b // 8)
    bound = max(int(max_weight), 1)  # no lane of acc exceeds it
    owned = False  # acc is a scratch copy, not x
    while 2 * bound <= 255 and acc.shape[0] >= 16:
        half = acc.shape[0] // 2
        if acc.shape[0] % 2:  # the odd row out
            out += acc[-1].view(np.uint8).astype(np.int64)
        if owned:
            acc = np.add(acc[:half], acc[half:2 * half], out=acc[:half])
        else:
            acc, owned = acc[:half] + acc[half:2 * half], True
        bound *= 2
    out += acc.view(np.uint8).sum(axis=0, dtype=np.int64)
    return out


def exclusive_cumsum(x: np.ndarray, max_weight: int) -> np.ndarray:
    """Cumulative sums down the rows of a uint8 matrix (rows, b), with a leading zero row.

    Returns uint16 of shape (rows + 1, b) when they fit (``rows * max_weight < 2**16``), else
    int32. The uint16 sums run four resamples to a 64-bit word (numpy accumulates down the rows
    of a wide matrix slowly, a narrow one quickly).
    """
    rows, b = x.shape
    if rows * max_weight < 1 << 16 and b % 4 == 0:
        out = np.empty((rows + 1, b), dtype=np.uint16)
        out[0] = 0
        wide = out[1:]
        wide[...] = x
        words = wide.view(np.uint64)
        np.cumsum(words, axis=0, out=words)
        return out
    out32 = np.zeros((rows + 1, b), dtype=np.int32)
    np.cumsum(x.T, axis=1, dtype=np.int32, out=out32[1:].T)
    return out32


def _poisson_counts(rng: np.random.Generator, lam: float, out: np.ndarray) -> np.ndarray:
    """Fill ``out`` (uint8 (rows, b), C-contiguous) with Poisson(lam) counts (see the module
    docstring) and return its column sums (int64, (b,)).

    Drawn in chunks of :data:`_CHUNK` cells (each chunk's top bytes, then one 64-bit draw per
    unresolved cell: 8 more bits, and 16 more where those do not decide) so that every pass over
    the bytes stays in the cache.
    """
    rows, b = out.shape
    if lam == 0.0:
        out[...] = 0
        return np.zeros(b, dtype=np.int64)
    _, cuts = _poisson_tables(lam)
    _, table16 = _second_tables(lam)
    steps, n_full, straddling = _draw_plan(lam)
    top_count = len(cuts)
    raw = rng.bit_generator
    flat = out.reshape(-1)
    totals = np.zeros(b, dtype=np.int64)
    step = max(1, _CHUNK // b)
    scratch = np.empty(min(rows, step) * b, dtype=np.bool_)
    for r in range(0, rows, step):
        a, m = r * b, min(step, rows - r) * b
        u = raw.random_raw((m + 7) // 8).view(np.uint8)[:m]  # m uniform bytes (and a few spare)
        dest, hit = flat[a:a + m], scratch[:m]
        if steps:
            np.greater_equal(u, steps[0], out=dest.view(np.bool_))
        else:
            dest[...] = 0
        for s in steps[1:]:
            np.greater_equal(u, s, out=hit)
            dest += hit.view(np.uint8)
        np.greater_equal(u, n_full, out=hit)
        unresolved = np.flatnonzero(hit)
        if unresolved.size:  # ~2 % of cells: the next bits decide
            bits = raw.random_raw(unresolved.size)
            top = u[unresolved]
            # table16's row of byte n_full + j is straddling cell j's (slot[straddling[j]] == j)
            index = top.astype(np.intp)
            index -= n_full
            index <<= 8
            index |= bits.astype(np.uint8)  # the low 8 bits (a truncating cast)
            counts = table16[index]
            still = np.flatnonzero(counts == _SENTINEL)
            if still.size:  # ~0.01 %: all 32 bits
                v = straddling[top[still] - n_full].astype(np.int64)
                u32 = (v << 24) | ((bits[still] & np.uint64(0xFF)).astype(np.int64) << 16)
                u32 |= ((bits[still] >> np.uint64(8)) & np.uint64(0xFFFF)).astype(np.int64)
                counts[still] = np.searchsorted(cuts, u32, "right")
            dest[unresolved] = counts
        totals += column_sums(dest.reshape(-1, b), top_count)
    return totals


def _multinomial_block(rng: np.random.Generator, n_c: int, b: int) -> tuple[np.ndarray, int]:
    """``b`` independent Multinomial(n_c, uniform over n_c cells) count vectors as the columns of a
    uint8 matrix (n_c, b), and a bound on every count in it (at most 255)."""
    lam = _poisson_lambda(n_c)
    top = len(_poisson_tables(lam)[1]) if lam else 0  # no Poisson count exceeds this (<= 31)
    w = np.empty((n_c, b), dtype=np.uint8)
    totals = _poisson_counts(rng, lam, w)
    over = np.flatnonzero(totals > n_c)
    while over.size:  # probability ~3e-7 per resample: draw those again from the same stream
        again = np.empty((n_c, over.size), dtype=np.uint8)
        totals[over] = _poisson_counts(rng, lam, again)
        w[:, over] = again
        over = over[totals[over] > n_c]
    missing = n_c - totals
    extra = int(missing.sum())
    largest = top
    if extra:
        draws = rng.integers(0, n_c, size=extra, dtype=np.int64) * b
        draws += np.repeat(np.arange(b, dtype=np.int64), missing)
        ordered = np.sort(draws)  # cells in memory order, each once with its number of draws
        starts = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]]))
        cells = ordered[starts]
        hits = np.diff(np.append(starts, ordered.size))
        flat = w.reshape(-1)
        added = flat[cells] + hits  # int64: cannot wrap
        largest = max(top, int(added.max()))
        if largest > 255:  # pragma: no cover - needs one row drawn ~240 times in one resample
            raise OverflowError("a bootstrap weight exceeded 255")
        flat[cells] = added
    return w, largest


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
        Data row of each weight-matrix row: the rows of each class in file order, class after class.
    class_offsets : dict of int to (int, int)
        Weight-matrix row range ``[start, stop)`` of each class present.
    block : int
        Resamples per block (:func:`block_size`); block ``i`` has its own random stream.

    Examples
    --------
    >>> boot = StratifiedBootstrap(np.array([0, 0, 1, 1, 1]), n_resamples=3, seed=0)
    >>> [w.sum(axis=0).tolist() for _, _, w in boot.blocks()]
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

    def draw_block(self, index: int) -> tuple[list[np.ndarray], int]:
        """Block ``index``'s weights, one uint8 matrix (n_c, b) per class (in ``class_offsets``
        order), and a bound on every weight in them (at most 255). Blocks are independent: any of them can be drawn
        alone, in any order; the last one may hold fewer than ``block`` resamples."""
        b = min(self.block, self.n_resamples - index * self.block)
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(self.seed, spawn_key=(index,))))
        parts, largest = [], 0
        for start, stop in self.class_offsets.values():
            # the whole block's columns are drawn (the last block's spares are dropped): a resample
            # does not depend on how many others there are
            w, top = _multinomial_block(rng, stop - start, self.block)
            parts.append(w if b == self.block else np.ascontiguousarray(w[:, :b]))
            largest = max(largest, top)
        return parts, largest

    def block_weights(self, index: int) -> np.ndarray:
        """uint8 weights (n_samples, b) of block ``index`` (resamples ``index * block`` on), rows
        grouped by class."""
        parts, _ = self.draw_block(index)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def blocks(self) -> Iterator[tuple[int, int, np.ndarray]]:
        """Yield ``(first, stop, weights)``: resamples ``first..stop-1`` as uint8 (n_samples, b)."""
        for i in range(self.n_blocks):
            first = i * self.block
            w = self.block_weights(i)
            yield first, first + w.shape[1], w

    def row_weights(self, first: int = 0, stop: int | None = None) -> np.ndarray:
        """Weights of resamples ``first..stop-1`` in file row order, int64 (b, n_samples).

        For checks and reference implementations; the metrics read the blocks directly.
        """
        stop = self.n_resamples if stop is None else stop
        out = np.zeros((stop - first, self.n_samples), dtype=np.int64)
        for i in range(first // self.block, -(-stop // self.block)):
            w = self.block_weights(i)
            lo, hi = max(first, i * self.block), min(stop, i * self.block + w.shape[1])
            out[lo - first:hi - first, self.grouped_rows] = w[:, lo - i * self.block:hi - i * self.block].T
        return out

    def indices(self, resample: int) -> np.ndarray:
        """Row indices (with repeats, ascending) of one resample: for reference implementations."""
        w = self.row_weights(resample, resample + 1)[0]
        return np.repeat(np.arange(self.n_samples), w)
