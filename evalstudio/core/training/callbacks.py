"""The events of a training run or a cross-validation, as no-op hooks (Lightning's ``Callback``).

The loop calls them in this order::

    on_fold_start(fold, k)                      # k-fold only, once per fold
      on_train_start(info)
        (on_batch_end(epoch, batch, n_batches) * n_batches
         on_epoch_end(metrics)
         on_checkpoint_saved(path, kind) * 0..3)  * epochs
      on_train_end(result)
    on_fold_end(fold_result)                    # k-fold only

A callback only observes; the loop knows nothing about who listens (a progress line, a Qt
worker relaying signals, a test recording the order). A callback that raises stops the run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evalstudio.core.training.config import TrainConfig
    from evalstudio.core.training.results import EpochMetrics, FoldResult, TrainResult


@dataclass(frozen=True)
class RunInfo:
    """What a run is about to do (sent with ``on_train_start``)."""

    config: "TrainConfig"
    start_epoch: int  # 1 for a fresh run, N + 1 when resuming after epoch N
    n_train: int
    n_val: int
    n_batches: int  # per epoch
    device: str
    output_kind: str
    monitor: str  # the metric actually monitored (a val_* monitor falls back without validation)


class Callback:
    """Base class with a no-op method per event; override the ones you need."""

    def on_train_start(self, info: RunInfo) -> None: ...

    def on_batch_end(self, epoch: int, batch: int, n_batches: int) -> None: ...

    def on_epoch_end(self, metrics: "EpochMetrics") -> None: ...

    def on_checkpoint_saved(self, path: str, kind: str) -> None:
        """``kind`` is "best", "last" or "periodic"."""

    def on_train_end(self, result: "TrainResult") -> None: ...

    def on_fold_start(self, fold: int, k: int) -> None:
        """``fold`` is 1-based."""

    def on_fold_end(self, result: "FoldResult") -> None: ...


class CallbackList(Callback):
    """Fan one event out to several callbacks, in the order given."""

    def __init__(self, callbacks: Iterable[Callback] = ()) -> None:
        self.callbacks = list(callbacks)

    def on_train_start(self, info: RunInfo) -> None:
        for c in self.callbacks:
            c.on_train_start(info)

    def on_batch_end(self, epoch: int, batch: int, n_batches: int) -> None:
        for c in self.callbacks:
            c.on_batch_end(epoch, batch, n_batches)

    def on_epoch_end(self, metrics: "EpochMetrics") -> None:
        for c in self.callbacks:
            c.on_epoch_end(metrics)

    def on_checkpoint_saved(self, path: str, kind: str) -> None:
        for c in self.callbacks:
            c.on_checkpoint_saved(path, kind)

    def on_train_end(self, result: "TrainResult") -> None:
        for c in self.callbacks:
            c.on_train_end(result)

    def on_fold_start(self, fold: int, k: int) -> None:
        for c in self.callbacks:
            c.on_fold_start(fold, k)

    def on_fold_end(self, result: "FoldResult") -> None:
        for c in self.callbacks:
            c.on_fold_end(result)
