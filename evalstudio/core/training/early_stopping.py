"""Early stopping and "is this the best epoch?" as pure decisions over a history of scores.

Nothing here touches a model: the training loop hands in the monitored scores so far and acts on
the answer. Because the decision is a function of the history alone, a resumed run (whose
checkpoint carries the history) decides exactly as the uninterrupted run would have.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from evalstudio.core.errors import TrainingError

#: What ``--monitor`` accepts: the per-epoch numbers of :class:`~evalstudio.core.training.results.EpochMetrics`.
MONITORS = ("val_loss", "val_accuracy", "train_loss", "train_eval_loss", "train_accuracy")

#: Which way a monitored number improves (Lightning's and torch's ``mode``).
Mode = Literal["min", "max"]


def monitor_mode(monitor: str) -> Mode:
    """``"min"`` for a loss (``*_loss``), ``"max"`` for anything else (accuracy)."""
    return "min" if monitor.endswith("loss") else "max"


def check_monitor(monitor: str) -> str:
    """Return ``monitor`` if it names a per-epoch metric, else raise :class:`TrainingError`."""
    if monitor not in MONITORS:
        raise TrainingError(
            f"unknown metric to monitor: {monitor!r}.", hint=f"Use one of {', '.join(MONITORS)}."
        )
    return monitor


def is_improvement(score: float | None, best: float | None, *, mode: str, min_delta: float = 0.0) -> bool:
    """Whether ``score`` beats ``best`` by more than ``min_delta`` in direction ``mode``.

    A missing or non-finite score (None, NaN, inf) is never an improvement, so a diverged epoch
    can never be ranked best. Any finite score beats "no best yet".
    """
    if score is None or not math.isfinite(score):
        return False
    if best is None or not math.isfinite(best):
        return True
    if mode == "min":
        return score < best - min_delta
    if mode == "max":
        return score > best + min_delta
    raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")


def best_index(scores: Sequence[float | None], *, mode: str, min_delta: float = 0.0) -> int | None:
    """Position of the best score (the first to reach it; improvements by > ``min_delta`` only).

    Returns None when no score is finite.
    """
    best: float | None = None
    where: int | None = None
    for i, s in enumerate(scores):
        if is_improvement(s, best, mode=mode, min_delta=min_delta):
            best, where = s, i
    return where


def should_stop(
    scores: Sequence[float | None], *, patience: int | None, mode: str, min_delta: float = 0.0
) -> tuple[bool, str]:
    """Decide whether to stop after the last of ``scores`` (one per epoch so far).

    Parameters
    ----------
    scores : sequence of float or None, length n_epochs_so_far
        The monitored value of every epoch, oldest first.
    patience : int or None
        Stop once this many epochs in a row brought no improvement over the best so far.
        None or 0 disables early stopping.
    mode : {"min", "max"}
    min_delta : float
        An epoch improves only when it beats the best by more than this.

    Returns
    -------
    (should_stop, reason) : tuple of (bool, str)
        ``reason`` is "" when the run should go on.
    """
    if not patience or not scores:
        return False, ""
    where = best_index(scores, mode=mode, min_delta=min_delta)
    since = len(scores) if where is None else len(scores) - 1 - where
    if since >= patience:
        if where is None:
            return True, f"no finite score in {since} epochs (patience {patience})"
        return True, (
            f"no improvement for {since} epochs (patience {patience}, min delta {min_delta:g}); "
            f"best at epoch {where + 1}"
        )
    return False, ""
