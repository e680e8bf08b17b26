"""Frozen result types shared by training, cross-validation and the front ends.

Contract first: the training and k-fold code produce these; the CLI serialises them; the GUI
renders them. Arrays stay raw (scores, indices) so every view derives what it shows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from evalstudio.core.evaluation.predictions import Predictions


@dataclass(frozen=True)
class EpochMetrics:
    """One epoch of a training run.

    ``train_loss`` is the running mean of the train-mode loss over the epoch's batches (what the
    optimiser saw); ``train_accuracy`` and ``train_eval_loss`` are measured honestly after the
    epoch, in eval mode on the training rows. ``val_*`` are in eval mode on the validation rows
    (None when there is no validation set).
    """

    epoch: int  # 1-based
    lr: float
    train_loss: float
    train_accuracy: float
    train_eval_loss: float
    val_loss: float | None
    val_accuracy: float | None
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TrainResult:
    history: tuple[EpochMetrics, ...]
    monitor: str  # e.g. "val_loss"
    mode: str  # "min" or "max"
    best_epoch: int | None
    best_score: float | None
    best_checkpoint: str | None
    last_checkpoint: str | None
    stopped_early: bool
    stop_reason: str
    classes: tuple[str, ...]
    # Validation predictions of the best model (the last one when there is no best), or None.
    val_predictions: Predictions | None = None
    # Added by the training work (defaults keep the contract): the transform fitted on the
    # training rows (None without standardisation), the output kind the loss followed, and what
    # the run wants a person to know (e.g. a val_* monitor falling back without validation).
    preprocessing: Any = None  # evalstudio.core.data.preprocessing.Standardizer | None
    output_kind: str = ""
    notes: tuple[str, ...] = ()
    # The epoch whose model ``val_predictions`` come from (the best one, or the last when no
    # best model could be scored); None without validation.
    val_epoch: int | None = None
    # The column encoding the run's inputs were made with (learned from its training rows), or
    # None for data built in memory from a matrix.
    encoding: Any = None  # evalstudio.core.data.encoding.Encoding | None


@dataclass(frozen=True)
class FoldResult:
    fold: int  # 1-based
    n_train: int
    n_test: int
    train_index: np.ndarray  # positions into the dataset
    test_index: np.ndarray
    history: tuple[EpochMetrics, ...]
    predictions: Predictions  # held-out rows of this fold
    metrics: dict[str, float]  # as EvaluationReport.metrics
    confusion_matrix: np.ndarray  # (n_classes, n_classes), rows actual
    # Added by the training work: the fold's transform, fitted on its training rows only.
    preprocessing: Any = None  # Standardizer | None
    seed: int = 0  # the fold's seed (config seed + fold - 1)
    # The fold's column encoding, learned from its training rows only, and per categorical column
    # the held-out rows whose value those rows never held.
    encoding: Any = None  # Encoding | None
    unseen: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class CVResult:
    folds: tuple[FoldResult, ...]
    summary: dict[str, dict[str, float]]  # metric -> {"mean": m, "std": s} (population std, ddof=0)
    pooled_predictions: Predictions  # all out-of-fold predictions together
    pooled_metrics: dict[str, float]
    pooled_confusion_matrix: np.ndarray
    config: dict[str, Any] = field(default_factory=dict)
