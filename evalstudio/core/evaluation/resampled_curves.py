"""ROC AUC and average precision of one class against the rest, on every resample of a block.

The curves' half of :mod:`~evalstudio.core.evaluation.bootstrap`: each side's rows are sorted by
score once (:class:`OneVsRest`); per block of resamples (a uint8 weight matrix, one row per data
row), :meth:`OneVsRest.curves` takes the weights in score order a run of rows at a time, sums
them down the rows (:func:`~evalstudio.core.evaluation.resampling.exclusive_cumsum`) and reads
the counts below every distinct positive score: ROC AUC is the weighted Mann-Whitney count,
average precision the sum of recall steps times precision, both as scikit-learn defines them.

Numpy only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from evalstudio.core.evaluation import resampling
from evalstudio.core.evaluation.resampling import StratifiedBootstrap, column_sums, exclusive_cumsum

__all__ = ["OneVsRest"]


class _Side:
    """Rows of one side of a class-vs-rest problem in ascending score order, as rows of a block:
    ``part`` is the class matrix they live in (-1: the whole block, classes stacked)."""

    def __init__(self, part: int, rows: np.ndarray, scores: np.ndarray) -> None:
        order = np.argsort(scores, kind="stable")
        self.part, self.rows, self.scores = part, rows[order], scores[order]
        self.n = int(self.rows.size)

    def source(self, parts: list[np.ndarray], whole: Callable[[], np.ndarray]) -> np.ndarray:
        return whole() if self.part < 0 else parts[self.part]


class OneVsRest:
    """One class's rows against all others, each side sorted once by ``score``."""

    def __init__(self, boot: StratifiedBootstrap, score: np.ndarray, cls: int) -> None:
        spans = list(boot.class_offsets.values())
        labels = list(boot.class_offsets)
        grouped_scores = score[boot.grouped_rows]
        if cls in boot.class_offsets:
            i = labels.index(cls)
            start, stop = spans[i]
            self.pos = _Side(i, np.arange(stop - start), grouped_scores[start:stop])
        else:
            i, start, stop = -2, 0, 0
            self.pos = _Side(0, np.arange(0), grouped_scores[:0])
        others = [j for j in range(len(spans)) if j != i]
        if len(others) == 1:  # binary: the negatives are one class's matrix
            a, z = spans[others[0]]
            self.neg = _Side(others[0], np.arange(z - a), grouped_scores[a:z])
        else:
            rows = np.concatenate([np.arange(0, start), np.arange(stop, boot.n_samples)])
            self.neg = _Side(-1, rows, grouped_scores[rows])
        self.sp, self.sn = self.pos.scores, self.neg.scores
        self.n_pos, self.n_neg = self.pos.n, self.neg.n
        # One step of the curves per distinct positive score: its positives, the negatives strictly
        # below it (ROC AUC credit, and average precision's false positives) and those tied with it.
        g = np.flatnonzero(self.sp[1:] != self.sp[:-1]) + 1
        self.g_start = np.concatenate([[0], g]).astype(np.intp)
        self.g_end = np.concatenate([g, [self.n_pos]]).astype(np.intp)
        self.distinct = self.g_start.size == self.n_pos  # no ties among positives: steps are weights
        self.g_lo = self.sn.searchsorted(self.sp[self.g_start], "left").astype(np.intp)
        self.g_hi = self.sn.searchsorted(self.sp[self.g_start], "right").astype(np.intp)
        self.tied = np.flatnonzero(self.g_hi != self.g_lo)  # steps with negatives at their score
        self.cross_ties = bool(self.tied.size)
        self._chunks: dict[int, list[tuple[int, int]]] = {}

    def chunks(self, limit: int) -> list[tuple[int, int]]:
        """Runs ``[g0, g1)`` of steps whose positives and negatives each span at most ``limit``
        rows (a single step may span more)."""
        if limit not in self._chunks:
            out, g0, n = [], 0, self.g_start.size
            while g0 < n:
                a = int(self.g_end.searchsorted(self.g_start[g0] + limit, "right"))
                c = int(self.g_hi.searchsorted(self.g_lo[g0] + limit, "right"))
                g1 = max(g0 + 1, min(a, c))
                out.append((g0, g1))
                g0 = g1
            self._chunks[limit] = out
        return self._chunks[limit]

    def curves(self, src_pos: np.ndarray, src_neg: np.ndarray, top: int,
               at: tuple[int, int] = (0, 0)) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(roc_auc, average_precision, pos_below, neg_below)`` of each resample of a block.

        ``src_pos`` / ``src_neg``: the block's weight matrices the sides' rows index; ``top``: a
        bound on the weights; ``at = (kp, kn)``: ``pos_below`` / ``neg_below`` count the draws on
        the ``kp`` lowest positives / ``kn`` lowest negatives (the threshold's false negatives and
        true negatives, read off the same running sums). ROC AUC is the weighted Mann-Whitney
        count over (positive, negative) pairs, a tie counting one half, divided by
        ``n_pos n_neg`` (the trapezoids of ``roc_auc_score``), summed exactly (float64 holds
        these integer counts and sums below 2**53). Average precision sums, over distinct
        positive scores, the recall step times the precision there (``average_precision_score``).
        """
        kp, kn = at
        b = src_pos.shape[1] if self.n_pos else src_neg.shape[1]
        limit = max(1, min(resampling.LANE_ROWS, 65535 // max(top, 1)))

        def negatives(a: int, z: int) -> np.ndarray:  # draws on sorted negatives a..z-1
            total = np.zeros(b)
            for i in range(a, z, 8 * limit):
                total += column_sums(src_neg.take(self.neg.rows[i:min(z, i + 8 * limit)], axis=0), top)
            return total

        if not self.n_pos:
            nan = np.full(b, np.nan)
            return nan, nan.copy(), np.zeros(b), negatives(0, kn)
        auc, ap = np.zeros(b), np.zeros(b)
        carry_p, carry_n = np.zeros(b), np.zeros(b)
        pos_below: np.ndarray | None = None
        neg_below: np.ndarray | None = None
        done_n = 0  # negatives already counted into carry_n
        for g0, g1 in self.chunks(limit):
            ps, pe = int(self.g_start[g0]), int(self.g_end[g1 - 1])
            ns, ne = int(self.g_lo[g0]), int(self.g_hi[g1 - 1])
            if ns > done_n:  # negatives below this run's scores: totals only
                if neg_below is None and kn <= ns:
                    part = negatives(done_n, kn)
                    neg_below = carry_n + part
                    carry_n = neg_below + negatives(kn, ns)
                else:
                    carry_n = carry_n + negatives(done_n, ns)
                done_n = ns
            wp = src_pos.take(self.pos.rows[ps:pe], axis=0)
            cp = exclusive_cumsum(wp, top)
            if pos_below is None and kp <= pe:
                pos_below = carry_p + cp[kp - ps]
            if self.distinct:
                step, below = wp, cp[:-1]
            else:  # counts below each step's first row, and below the run's end
                rows = cp.take(np.append(self.g_start[g0:g1] - ps, pe - ps), axis=0)
                step, below = rows[1:] - rows[:-1], rows[:-1]
            run_pos = cp[-1]  # the run's positives: the sum of its steps
            stepf = step.astype(np.float64)
            if ne > ns:
                cn = exclusive_cumsum(src_neg.take(self.neg.rows[ns:ne], axis=0), top)
                if neg_below is None and kn <= ne:
                    neg_below = carry_n + cn[kn - ns]
                lof = cn.take(self.g_lo[g0:g1] - ns, axis=0).astype(np.float64)
                credit = np.einsum("gb,gb->b", stepf, lof)
                if self.cross_ties:  # a tied negative counts one half: sum twice the credit, halve once
                    auc += 2.0 * credit
                    t = self.tied[self.tied.searchsorted(g0):self.tied.searchsorted(g1)]  # steps with ties
                    if t.size:
                        ties = cn.take(self.g_hi[t] - ns, axis=0) - cn.take(self.g_lo[t] - ns, axis=0)
                        auc += np.einsum("gb,gb->b", stepf[t - g0], ties.astype(np.float64))
                else:
                    auc += credit
                next_n = carry_n + cn[-1]
            else:
                lof = np.zeros(step.shape)
                next_n = carry_n
            auc += (2.0 if self.cross_ties else 1.0) * carry_n * run_pos
            # precision at each step: tp / (tp + fp); tp, fp: the positives, negatives at or above it
            tp = below.astype(np.float64)
            np.subtract(self.n_pos - carry_p, tp, out=tp)
            np.subtract(self.n_neg - carry_n, lof, out=lof)
            lof += tp
            np.maximum(lof, 1.0, out=lof)  # 0 only where tp = 0 and the step is 0 too
            np.divide(tp, lof, out=tp)
            ap += np.einsum("gb,gb->b", stepf, tp)
            carry_p = carry_p + run_pos
            carry_n, done_n = next_n, max(done_n, ne)
        if neg_below is None:  # above every positive score
            neg_below = carry_n + negatives(done_n, kn)
        assert pos_below is not None
        if not self.n_neg:
            auc[:] = np.nan
        else:
            auc /= (2.0 if self.cross_ties else 1.0) * self.n_pos * self.n_neg
        return auc, ap / self.n_pos, pos_below, neg_below

    def cumulative(self, side: _Side, src: np.ndarray, top: int) -> np.ndarray:
        """Every row's count below it (int32, (side.n + 1, b)): what ``keep_counts`` keeps."""
        out = np.zeros((side.n + 1, src.shape[1]), dtype=np.int32)
        limit = max(1, min(resampling.LANE_ROWS, 65535 // max(top, 1)))
        for a in range(0, side.n, limit):
            c = exclusive_cumsum(src.take(side.rows[a:a + limit], axis=0), top)
            np.add(c[1:], out[a], out=out[a + 1:a + c.shape[0]], dtype=np.int32, casting="unsafe")
        return out
