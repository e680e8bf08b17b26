"""The stratified bootstrap: its resamples, and every metric on them against a slow reference.

The reference draws nothing itself: it takes each resample's row indices from the same
bootstrap (same seed, same resamples), indexes the data with them, and calls scikit-learn, as a
plain loop would. The fast engine must agree to 1e-12 on every metric, binary and multiclass.
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
from sklearn import metrics as skm

from evalstudio.core.evaluation.batch_metrics import (
    binary_metrics_from_count_arrays,
    multiclass_metrics_from_confusions,
)
from evalstudio.core.errors import Cancelled
from evalstudio.core.evaluation.bootstrap import fork_is_safe, resample_metrics
from evalstudio.core.evaluation.confusion import binary_metrics_from_counts, multiclass_metrics_from_confusion
from evalstudio.core.evaluation.predictions import Predictions
from evalstudio.core.evaluation.resampling import (
    StratifiedBootstrap,
    _multinomial_block,
    column_sums,
    exclusive_cumsum,
)


def _predictions(n: int, k: int, seed: int, *, ties: bool = False, dtype: type = np.float64) -> Predictions:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    z = rng.normal(0, 1, (n, k))
    z[np.arange(n), y] += 1.0
    if ties:
        z = np.round(z, 1)
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    return Predictions(y, p.astype(dtype), tuple(f"c{i}" for i in range(k)))


def _sklearn_metrics(y: np.ndarray, p: np.ndarray, *, threshold: float | None, positive: int) -> dict[str, float]:
    """Every metric of the report, straight from scikit-learn (the slow reference)."""
    k = p.shape[1]
    out: dict[str, float] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if k == 2:
            s = p[:, positive]
            yb = (y == positive).astype(int)
            yp = (s >= s.dtype.type(threshold)).astype(int)
            out["accuracy"] = skm.accuracy_score(yb, yp)
            out["balanced_accuracy"] = skm.balanced_accuracy_score(yb, yp)
            out["precision"] = skm.precision_score(yb, yp, zero_division=0)
            out["recall"] = skm.recall_score(yb, yp, zero_division=0)
            out["f1"] = skm.f1_score(yb, yp, zero_division=0)
            out["specificity"] = skm.recall_score(yb, yp, pos_label=0, zero_division=0)
            out["mcc"] = skm.matthews_corrcoef(yb, yp)
            out["roc_auc"] = skm.roc_auc_score(yb, s)
            out["average_precision"] = skm.average_precision_score(yb, s)
        else:
            yp = p.argmax(1)
            out["accuracy"] = skm.accuracy_score(y, yp)
            out["balanced_accuracy"] = skm.balanced_accuracy_score(y, yp)
            for name in ("precision", "recall", "f1"):
                fn = getattr(skm, f"{name}_score")
                out[name] = fn(y, yp, average="macro", zero_division=0)
            cm = skm.confusion_matrix(y, yp, labels=range(k))
            spec = [cm[np.arange(k) != c][:, np.arange(k) != c].sum() / cm[np.arange(k) != c].sum() for c in range(k)]
            present = (cm.sum(0) + cm.sum(1)) > 0
            out["specificity"] = float(np.mean(np.array(spec)[present]))
            out["mcc"] = skm.matthews_corrcoef(y, yp)
            out["roc_auc"] = np.mean([skm.roc_auc_score(y == c, p[:, c]) for c in range(k)])
            out["average_precision"] = np.mean([skm.average_precision_score(y == c, p[:, c]) for c in range(k)])
            yb, yp = y, yp
        for avg in ("macro", "weighted"):
            out[f"precision_{avg}"] = skm.precision_score(yb, yp, average=avg, zero_division=0)
            out[f"recall_{avg}"] = skm.recall_score(yb, yp, average=avg, zero_division=0)
            out[f"f1_{avg}"] = skm.f1_score(yb, yp, average=avg, zero_division=0)
        # scikit-learn's float32 path sums in float32; evalstudio's sums in float64 (see log_loss)
        out["log_loss"] = skm.log_loss(y, p.astype(np.float64), labels=list(range(k)))
    return out


# ---------------------------------------------------------------------- the resamples
def test_resamples_keep_each_class_count_and_are_reproducible() -> None:
    y = np.array([0] * 7 + [1] * 3 + [2] * 40)
    boot = StratifiedBootstrap(y, n_resamples=300, seed=5)
    w = boot.row_weights()
    for c, n_c in ((0, 7), (1, 3), (2, 40)):
        np.testing.assert_array_equal(w[:, y == c].sum(axis=1), n_c)
    np.testing.assert_array_equal(w, StratifiedBootstrap(y, n_resamples=300, seed=5).row_weights())
    assert not np.array_equal(w, StratifiedBootstrap(y, n_resamples=300, seed=6).row_weights())
    # any slice of resamples reads the same weights as the whole
    np.testing.assert_array_equal(boot.row_weights(17, 250), w[17:250])
    np.testing.assert_array_equal(np.bincount(boot.indices(9), minlength=50), w[9])


def test_resample_weights_are_multinomial_exactly_on_a_tiny_class() -> None:
    """3 draws among 3 rows: 10 possible count vectors with known probabilities (chi-square)."""
    from scipy import stats

    rng = np.random.default_rng(0)
    w = _multinomial_block(rng, 3, 60000)[0].T
    patterns = [c for c in itertools.product(range(4), repeat=3) if sum(c) == 3]
    observed = np.array([np.sum(np.all(w == np.array(c), axis=1)) for c in patterns])
    expected = np.array([stats.multinomial.pmf(c, 3, [1 / 3] * 3) for c in patterns]) * w.shape[0]
    assert observed.sum() == w.shape[0]
    assert stats.chisquare(observed, expected).pvalue > 1e-3


@pytest.mark.parametrize("lam", [0.02, 0.5, 0.9, 1 - 5 / math.sqrt(700_000)])
def test_the_byte_draw_keeps_every_counts_probability_exactly(lam: float) -> None:
    """Every possible (byte, 8 more bits, 16 more bits) gives the count of its 32-bit value: the
    reordered 8-bit table and the second table reproduce cdf cuts rounded to 2**-32 exactly."""
    from evalstudio.core.evaluation.resampling import _draw_plan, _poisson_tables, _second_tables

    table, cuts = _poisson_tables(lam)
    steps, n_full, straddling = _draw_plan(lam)
    slot, table16 = _second_tables(lam)
    t = np.frombuffer(table, dtype=np.uint8)
    u = np.arange(256)
    fast = sum((u >= s).astype(int) for s in steps) if steps else np.zeros(256, int)
    # the full cells keep their counts, in order
    np.testing.assert_array_equal(np.sort(fast[:n_full]), np.sort(t[t != 255]))
    assert 256 - n_full == straddling.size
    # each straddling cell, resolved at 16 bits (then 32 where still undecided), is the exact cdf
    for v in straddling:
        lows = np.arange(256)
        c16 = table16[slot[v] * 256 + lows]
        starts = (int(v) << 24) | (lows << 16)
        decided = c16 != 255
        np.testing.assert_array_equal(c16[decided], np.searchsorted(cuts, starts[decided], "right"))
        np.testing.assert_array_equal(c16[decided], np.searchsorted(cuts, starts[decided] + 0xFFFF, "right"))


@pytest.mark.parametrize("n_c", [40, 2000, 200_000])
def test_resample_weights_have_multinomial_moments(n_c: int) -> None:
    """Mean 1, variance 1 - 1/n, Poisson-like tail: the thinned-Poisson draw is a multinomial."""
    from scipy import stats

    rng = np.random.default_rng(1)
    b = max(20, 2_000_000 // n_c)
    w, top = _multinomial_block(rng, n_c, b)
    assert top >= w.max()  # a bound on every weight
    w = w.T.astype(np.int64)
    assert (w.sum(axis=1) == n_c).all()
    assert abs(w.var() - (1 - 1 / n_c)) < 5 * math.sqrt(2.0 / w.size)
    # the share of rows drawn k times is Binomial(n_c, 1/n_c)'s
    share = np.bincount(w.ravel(), minlength=6)[:6] / w.size
    np.testing.assert_allclose(share, stats.binom.pmf(range(6), n_c, 1 / n_c), atol=5e-3)


def test_lane_helpers_match_numpy() -> None:
    rng = np.random.default_rng(2)
    for rows in (1, 7, 8, 63, 64, 65, 1000, 1003):
        for b in (8, 64):
            x = rng.poisson(2.0, (rows, b)).astype(np.uint8)
            top = int(x.max())
            ref = np.concatenate([np.zeros((1, b), np.int64), np.cumsum(x, axis=0, dtype=np.int64)])
            got = exclusive_cumsum(x, top)
            assert got.dtype == (np.uint16 if rows * top < 2**16 else np.int32)
            np.testing.assert_array_equal(got, ref)
            np.testing.assert_array_equal(column_sums(x, top), x.sum(axis=0))
    x = rng.poisson(2.0, (500, 16)).astype(np.uint8)
    x[3, 1] = 200  # above 31: the plain sums take over
    np.testing.assert_array_equal(column_sums(x, 200), x.sum(axis=0))
    for rows in (64, 65, 127, 1003, 8191, 8192, 16385):  # every lane at its bound: no byte may wrap
        for top in (1, 7, 12, 31):
            x = np.full((rows, 16), top, np.uint8)
            x[::3, 5] = 0
            np.testing.assert_array_equal(column_sums(x, top), x.sum(axis=0))
    big = np.full((3000, 8), 30, np.uint8)  # 3000 x 30 does not fit 16 bits: int32
    assert exclusive_cumsum(big, 30).dtype == np.int32
    np.testing.assert_array_equal(exclusive_cumsum(big, 30)[-1], 90000)


def test_blocks_do_not_depend_on_how_many_resamples() -> None:
    """Resample r is the same in a run of 10 and in a run of 1000 (blocks draw every column)."""
    y = np.array([0] * 30 + [1] * 20)
    few = StratifiedBootstrap(y, n_resamples=10, seed=3).row_weights()
    many = StratifiedBootstrap(y, n_resamples=1000, seed=3).row_weights(0, 10)
    np.testing.assert_array_equal(few, many)


# ---------------------------------------------------------------------- against the reference
def _check_against_reference(pred: Predictions, *, threshold: float, positive: int, n_resamples: int = 8) -> None:
    boot = StratifiedBootstrap(pred.y_true, n_resamples=n_resamples, seed=11)
    (res,) = resample_metrics([pred], boot, threshold=threshold, positive=positive)
    for b in range(n_resamples):
        idx = boot.indices(b)
        ref = _sklearn_metrics(pred.y_true[idx], pred.y_score[idx], threshold=threshold, positive=positive)
        assert set(ref) == set(res.values)
        for key, value in ref.items():
            assert res.values[key][b] == pytest.approx(value, abs=1e-12, rel=0), (key, b)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("positive", [1, 0])
def test_binary_metrics_on_every_resample_equal_sklearns(dtype: type, ties: bool, positive: int) -> None:
    pred = _predictions(90, 2, 3, ties=ties, dtype=dtype)
    _check_against_reference(pred, threshold=0.5, positive=positive)
    # a threshold equal to a score, and one that predicts nothing positive
    s = pred.y_score[:, positive]
    _check_against_reference(pred, threshold=float(s[7]), positive=positive, n_resamples=3)
    _check_against_reference(pred, threshold=1.0, positive=positive, n_resamples=3)


@pytest.mark.parametrize("ties", [False, True])
def test_multiclass_metrics_on_every_resample_equal_sklearns(ties: bool) -> None:
    _check_against_reference(_predictions(120, 4, 4, ties=ties), threshold=0.5, positive=1)


def test_multiclass_with_a_class_never_predicted() -> None:
    pred = _predictions(80, 3, 5)
    scores = pred.y_score.copy()
    scores[:, 2] *= 0.01  # class 2 is never the most probable
    scores /= scores.sum(1, keepdims=True)
    _check_against_reference(Predictions(pred.y_true, scores, pred.classes), threshold=0.5, positive=1)


@pytest.mark.parametrize("lane_rows", [1, 3, 7])
def test_metrics_are_the_same_whatever_the_chunks(monkeypatch: pytest.MonkeyPatch, lane_rows: int) -> None:
    """Runs of a few rows at a time (carries between runs, gaps of negatives, steps wider than a run),
    and the loss summed over a few resamples at a time, give every metric the reference gives."""
    import evalstudio.core.evaluation.bootstrap as bootstrap
    import evalstudio.core.evaluation.resampling as resampling

    monkeypatch.setattr(resampling, "LANE_ROWS", lane_rows)
    monkeypatch.setattr(bootstrap, "_GEMV_COLUMNS", 3)  # the loss sums a slice of resamples at a time too
    for pred in (_predictions(90, 2, 3, ties=True), _predictions(90, 2, 3, dtype=np.float32),
                 _predictions(100, 3, 4, ties=True)):
        _check_against_reference(pred, threshold=0.5, positive=1, n_resamples=4)
    # the threshold's counts wherever the threshold falls: among positives, in a run of negatives
    # between two positives, above every positive, below everything
    pred = _predictions(90, 2, 3, ties=True)
    for t in (0.0, 0.05, 0.31, float(pred.y_score[5, 1]), 0.77, 0.97, 1.0):
        _check_against_reference(pred, threshold=t, positive=1, n_resamples=2)
        _check_against_reference(pred, threshold=t, positive=0, n_resamples=2)
    pred = _predictions(70, 2, 6, ties=True)
    boot = StratifiedBootstrap(pred.y_true, n_resamples=5, seed=2)
    (res,) = resample_metrics([pred], boot, keep_counts=True)
    assert res.counts is not None
    for b in range(5):
        w = boot.row_weights(b, b + 1)[0]
        pos = np.sort(pred.y_score[pred.y_true == 1, 1])
        order = np.argsort(pred.y_score[:, 1][pred.y_true == 1], kind="stable")
        ref = np.concatenate([[0], np.cumsum(w[pred.y_true == 1][order])])
        np.testing.assert_array_equal(res.counts.cum_pos[:, b], ref)
        np.testing.assert_array_equal(res.counts.pos_scores, pos)


def test_counts_at_any_threshold_equal_a_recount_of_the_resample() -> None:
    pred = _predictions(70, 2, 6, ties=True)
    boot = StratifiedBootstrap(pred.y_true, n_resamples=12, seed=2)
    (res,) = resample_metrics([pred], boot, threshold=0.5, keep_counts=True)
    assert res.counts is not None
    s = pred.y_score[:, 1]
    for t in (0.0, 0.2, float(s[3]), 0.5, 0.77, 1.0):
        tn, fp, fn, tp = res.counts.counts_at(t)
        for b in range(12):
            idx = boot.indices(b)
            yb, yp = pred.y_true[idx] == 1, s[idx] >= t
            assert (tn[b], fp[b], fn[b], tp[b]) == (np.sum(~yb & ~yp), np.sum(~yb & yp), np.sum(yb & ~yp),
                                                    np.sum(yb & yp))


def test_models_evaluated_together_see_the_same_resamples_as_alone() -> None:
    a = _predictions(100, 2, 7)
    b = Predictions(a.y_true, _predictions(100, 2, 8).y_score, a.classes)
    boot = StratifiedBootstrap(a.y_true, n_resamples=50, seed=0)
    together = resample_metrics([a, b], boot)
    for pred, res in zip((a, b), together):
        (alone,) = resample_metrics([pred], StratifiedBootstrap(a.y_true, n_resamples=50, seed=0))
        for key in alone.values:
            np.testing.assert_array_equal(res.values[key], alone.values[key])
    with pytest.raises(ValueError, match="same rows"):
        resample_metrics([a, Predictions(1 - a.y_true, a.y_score, a.classes)], boot)


def test_threads_give_the_same_numbers() -> None:
    pred = _predictions(2000, 3, 12)
    boot = StratifiedBootstrap(pred.y_true, n_resamples=5000, seed=4)  # several blocks
    assert boot.n_blocks > 3
    (one,) = resample_metrics([pred], boot, keep_counts=True)
    (three,) = resample_metrics([pred], boot, keep_counts=True, n_threads=3)
    for key in one.values:
        np.testing.assert_array_equal(one.values[key], three.values[key])
    for a, b in zip(one.class_counts, three.class_counts):
        np.testing.assert_array_equal(a.cum_pos, b.cum_pos)


needs_fork = pytest.mark.skipif(not fork_is_safe(), reason="worker processes are forked on Linux only")


@needs_fork
@pytest.mark.parametrize("k", [2, 3])
def test_processes_give_the_same_numbers(k: int) -> None:
    a = _predictions(600, k, 21)
    b = Predictions(a.y_true, _predictions(600, k, 22).y_score, a.classes)  # two models: the paired path
    boot = StratifiedBootstrap(a.y_true, n_resamples=2500, seed=5)  # three blocks, the last one short
    assert boot.n_blocks == 3
    one = resample_metrics([a, b], boot)
    seen: list[tuple[int, int]] = []
    forked = resample_metrics([a, b], boot, n_threads=2, processes=True, on_progress=lambda d, t: seen.append((d, t)))
    for x, y in zip(one, forked):
        assert list(x.values) == list(y.values)
        for key in x.values:
            np.testing.assert_array_equal(x.values[key], y.values[key])
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and seen[-1] == (2500, 2500) and len(seen) == 3


def _dies_on_block_one(token: int, index: int) -> tuple[int, list[dict[str, np.ndarray]]]:
    """A worker that is killed (as the kernel's out-of-memory killer would) on block 1."""
    import os

    from evalstudio.core.evaluation import bootstrap

    if index == 1:
        os._exit(9)
    plans, boot = bootstrap._FORKED[token]
    return index, bootstrap._block_values(plans, boot, index)


@needs_fork
def test_a_killed_worker_leaves_its_blocks_to_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    from evalstudio.core.evaluation import bootstrap

    pred = _predictions(500, 2, 23)
    boot = StratifiedBootstrap(pred.y_true, n_resamples=3000, seed=1)
    (one,) = resample_metrics([pred], boot)
    monkeypatch.setattr(bootstrap, "_forked_block", _dies_on_block_one)
    seen: list[int] = []
    (forked,) = resample_metrics([pred], boot, n_threads=2, processes=True, on_progress=lambda d, t: seen.append(d))
    for key in one.values:
        np.testing.assert_array_equal(one.values[key], forked.values[key])
    assert seen[-1] == 3000
    assert not bootstrap._FORKED  # nothing left behind for later forks


@needs_fork
def test_no_worker_processes_to_be_had_means_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    import concurrent.futures

    from evalstudio.core.evaluation import bootstrap

    class Refused(concurrent.futures.ProcessPoolExecutor):
        def submit(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            raise OSError(11, "Resource temporarily unavailable")  # what fork() says at a process limit

    pred = _predictions(400, 3, 25)
    boot = StratifiedBootstrap(pred.y_true, n_resamples=2100, seed=3)
    (one,) = resample_metrics([pred], boot)
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", Refused)
    (two,) = resample_metrics([pred], boot, n_threads=2, processes=True)
    for key in one.values:
        np.testing.assert_array_equal(one.values[key], two.values[key])
    assert not bootstrap._FORKED


@needs_fork
def test_processes_cancel_and_fall_back_to_threads_for_counts() -> None:
    from evalstudio.core.evaluation import bootstrap

    pred = _predictions(500, 2, 24)
    boot = StratifiedBootstrap(pred.y_true, n_resamples=3000, seed=2)
    seen: list[int] = []
    with pytest.raises(Cancelled):
        resample_metrics([pred], boot, n_threads=2, processes=True, should_stop=lambda: bool(seen),
                         on_progress=lambda d, t: seen.append(d))
    assert len(seen) == 1 and not bootstrap._FORKED
    # keep_counts: the counts are built in this process's memory, so threads run the blocks
    (one,) = resample_metrics([pred], boot, keep_counts=True)
    (two,) = resample_metrics([pred], boot, keep_counts=True, n_threads=2, processes=True)
    assert one.counts is not None and two.counts is not None
    np.testing.assert_array_equal(one.counts.cum_neg, two.counts.cum_neg)
    np.testing.assert_array_equal(one.values["roc_auc"], two.values["roc_auc"])


def test_cancel_and_progress() -> None:
    pred = _predictions(3000, 2, 9)
    boot = StratifiedBootstrap(pred.y_true, n_resamples=3000, seed=0)
    seen: list[tuple[int, int]] = []
    with pytest.raises(Cancelled):
        resample_metrics([pred], boot, should_stop=lambda: len(seen) >= 1, on_progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[0][1] == 3000


# ---------------------------------------------------------------------- the vectorised formulas
def test_batch_binary_formulas_equal_the_scalar_ones() -> None:
    rng = np.random.default_rng(3)
    counts = rng.integers(0, 6, (400, 4))
    counts[:40] = 0
    counts[40:80, :2] = 0
    counts[80:120, 2:] = 0
    batch = binary_metrics_from_count_arrays(*counts.T)
    for i, c in enumerate(counts):
        for key, value in binary_metrics_from_counts(*c).items():
            if math.isnan(value):
                assert math.isnan(batch[key][i])
            else:
                assert batch[key][i] == pytest.approx(value, abs=1e-12), (key, c)


def test_batch_multiclass_formulas_equal_the_scalar_ones() -> None:
    rng = np.random.default_rng(4)
    cms = rng.integers(0, 4, (200, 3, 3))
    cms[:20, 1, :] = 0
    cms[20:40, :, 2] = 0
    cms[40:45] = 0
    batch = multiclass_metrics_from_confusions(cms)
    for i, cm in enumerate(cms):
        metrics, _ = multiclass_metrics_from_confusion(cm)
        for key, value in metrics.items():
            assert batch[key][i] == pytest.approx(value, abs=1e-12), (key, i)
