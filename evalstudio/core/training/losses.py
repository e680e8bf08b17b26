"""The training loss that fits a model's output kind, and the checks that labels fit that loss.

==================  ===========================  =======================
output kind         training loss                labels
==================  ===========================  =======================
LOGIT (1 column)    BCEWithLogitsLoss            0/1 (two classes)
PROBABILITY         BCELoss (model ends Sigmoid) 0/1 (two classes)
LOGITS (K columns)  CrossEntropyLoss             0 .. K-1
PROBABILITIES       NLLLoss on log(p)            0 .. K-1
==================  ===========================  =======================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from evalstudio.core.errors import ModelError, TrainingError
from evalstudio.core.models.outputs import OutputKind

if TYPE_CHECKING:
    import torch

LossFn = Callable[["torch.Tensor", "torch.Tensor"], "torch.Tensor"]

# BCELoss clamps log(p) at -100; the eval-mode loss computed from probabilities does the same,
# so a saturated output gives the same finite loss in both.
_LOG_FLOOR = -100.0


def check_labels(y: np.ndarray, n_classes: int, kind: OutputKind) -> None:
    """Raise :class:`TrainingError` unless the class codes ``y`` fit the loss of ``kind``."""
    y = np.asarray(y)
    if y.size == 0:
        raise TrainingError("there are no training rows.", hint="Check the data file and --val-fraction.",
                            hints={"app": "Check the data file and the Validation fraction."})
    if kind.single_column and n_classes != 2:
        raise TrainingError(
            f"the model has one output column ({kind.value}), which fits two classes, but the target has "
            f"{n_classes} classes.",
            hint="Give the model one output per class (CrossEntropyLoss), or pick a two-class target with --target.",
            hints={"app": "Give the model one output per class (CrossEntropyLoss), or pick a two-class target in "
                   "the Target picker of the Data tab."},
        )
    lo, hi = int(y.min()), int(y.max())
    if lo < 0 or hi >= n_classes:
        raise TrainingError(
            f"class codes run from {lo} to {hi}, outside 0..{n_classes - 1} for {n_classes} classes.",
            hint="Load the data with evalstudio's CSV loader, which codes labels 0..K-1.",
        )


def check_output_shape(out: "torch.Tensor", n_classes: int, kind: OutputKind) -> None:
    """Raise :class:`ModelError` unless one batch of raw outputs is float and has the width ``kind`` needs."""
    from evalstudio.core.models.checks import check_float_outputs

    check_float_outputs(out)
    width = 1 if out.ndim == 1 else int(out.shape[-1]) if out.ndim == 2 else -1
    want = 1 if kind.single_column else n_classes
    if width != want:
        raise ModelError(
            f"the model's output has shape {tuple(out.shape)} but {want} column(s) per row are needed "
            f"for {kind.value} outputs with {n_classes} classes.",
            hint="Check the model's last layer against the number of classes in the target column.",
        )


def make_loss(kind: OutputKind) -> LossFn:
    """``loss(raw_output, y_codes) -> scalar`` for training; ``y_codes`` is int64 of shape (n,)."""
    import torch
    import torch.nn.functional as F

    if kind is OutputKind.LOGIT:
        return lambda out, y: F.binary_cross_entropy_with_logits(out.reshape(-1), y.to(out.dtype))
    if kind is OutputKind.PROBABILITY:
        return lambda out, y: F.binary_cross_entropy(out.reshape(-1), y.to(out.dtype))
    if kind is OutputKind.LOGITS:
        return lambda out, y: F.cross_entropy(out, y)
    return lambda out, y: F.nll_loss(torch.log(out).clamp_min(_LOG_FLOOR), y)


def loss_from_probabilities(proba: "torch.Tensor", y: "torch.Tensor") -> "torch.Tensor":
    """Mean negative log-likelihood of the true class, from probabilities of shape (n, n_classes).

    Equals the training loss of every output kind (BCE = CE = -log p[y]) and stays on the device.
    """
    import torch

    p_true = proba.gather(1, y.reshape(-1, 1)).reshape(-1)
    return -(torch.log(p_true).clamp_min(_LOG_FLOOR)).mean()
