"""Early stopping and best-epoch ranking: pure decisions, no model."""

from __future__ import annotations

import math

import pytest

from evalstudio.core.training.early_stopping import best_index, check_monitor, is_improvement, monitor_mode, should_stop
from evalstudio.core.errors import TrainingError


def test_mode_is_inferred_from_the_monitor_name() -> None:
    assert monitor_mode("val_loss") == "min"
    assert monitor_mode("train_eval_loss") == "min"
    assert monitor_mode("val_accuracy") == "max"


def test_unknown_monitor_is_named_with_the_choices() -> None:
    with pytest.raises(TrainingError, match=r"unknown metric to monitor: 'val_auc'.*val_loss"):
        check_monitor("val_auc")


def test_stops_after_patience_epochs_without_improvement() -> None:
    scores = [1.0, 0.8, 0.7, 0.71, 0.72]
    assert should_stop(scores, patience=3, mode="min") == (False, "")
    stop, reason = should_stop([*scores, 0.75], patience=3, mode="min")
    assert stop
    assert "no improvement for 3 epochs" in reason and "best at epoch 3" in reason


def test_an_improvement_resets_the_count() -> None:
    assert not should_stop([1.0, 0.9, 0.95, 0.96, 0.5, 0.6], patience=3, mode="min")[0]


def test_min_delta_requires_a_real_improvement() -> None:
    scores = [1.0, 0.99, 0.985, 0.98]  # each step improves by less than 0.05
    assert should_stop(scores, patience=3, mode="min", min_delta=0.05)[0]
    assert not should_stop(scores, patience=3, mode="min", min_delta=0.0)[0]
    # Ties do not count as improvements either.
    assert should_stop([0.5, 0.5, 0.5], patience=2, mode="min")[0]


def test_max_mode_for_accuracy() -> None:
    assert should_stop([0.6, 0.7, 0.69, 0.7], patience=2, mode="max")[0]
    assert not should_stop([0.6, 0.7, 0.69, 0.71], patience=2, mode="max")[0]


def test_nan_is_never_best_and_counts_as_no_improvement() -> None:
    assert not is_improvement(math.nan, None, mode="min")
    assert not is_improvement(math.inf, 1.0, mode="min")
    assert not is_improvement(None, 1.0, mode="max")
    assert is_improvement(3.0, None, mode="min")
    assert best_index([math.nan, 0.9, math.nan, 0.95], mode="min") == 1
    assert best_index([math.nan, math.nan], mode="min") is None
    stop, reason = should_stop([math.nan, math.nan], patience=2, mode="min")
    assert stop and "no finite score" in reason


def test_disabled_without_patience() -> None:
    assert should_stop([1.0, 2.0, 3.0, 4.0], patience=0, mode="min") == (False, "")
    assert should_stop([1.0, 2.0, 3.0, 4.0], patience=None, mode="min") == (False, "")
    assert should_stop([], patience=2, mode="min") == (False, "")
