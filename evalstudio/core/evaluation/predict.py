"""Evaluate a model honestly: eval mode, inference mode, batched on the device, one host sync.

The model's previous train/eval mode is restored afterwards, so evaluating never changes the
state of a model that is being trained.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from evalstudio.core.evaluation.predictions import Predictions
from evalstudio.core.models.forward import DEFAULT_BATCH_SIZE, eval_mode, forward_in_batches
from evalstudio.core.models.outputs import OutputKind, to_probabilities

if TYPE_CHECKING:
    import torch

    from evalstudio.core.data.dataset import Dataset
    from evalstudio.core.data.preprocessing import Standardizer


def predict_proba_tensor(
    module: "torch.nn.Module",
    X: "torch.Tensor",
    kind: OutputKind,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    train_mode: bool = False,
) -> "torch.Tensor":
    """Class probabilities (n, n_classes) as a tensor on the device, in eval mode by default."""
    import torch

    with eval_mode(module, training=train_mode), torch.inference_mode():
        out = forward_in_batches(module, X, batch_size=batch_size)
        return to_probabilities(out.float() if out.dtype in (torch.float16, torch.bfloat16) else out, kind)


def predict_scores(
    module: "torch.nn.Module",
    X: np.ndarray,
    kind: OutputKind,
    *,
    device: "torch.device | str" = "cpu",
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> np.ndarray:
    """Class probabilities of shape (n_samples, n_classes) for float32 features ``X``.

    The module must already be on ``device``. One host transfer at the end.
    """
    import torch

    Xt = torch.as_tensor(np.ascontiguousarray(X, dtype=np.float32)).to(device)
    proba = predict_proba_tensor(module, Xt, kind, batch_size=batch_size)
    return proba.cpu().numpy()


def evaluate_dataset(
    module: "torch.nn.Module",
    data: "Dataset",
    kind: OutputKind,
    *,
    device: "torch.device | str" = "cpu",
    preprocessing: "Standardizer | None" = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Predictions:
    """Evaluate ``module`` on ``data`` (applying ``preprocessing`` first) -> :class:`Predictions`."""
    X = data.X if preprocessing is None else preprocessing.transform(data.X)
    scores = predict_scores(module, X, kind, device=device, batch_size=batch_size)
    if scores.shape[1] != data.n_classes:
        from evalstudio.core.errors import ModelError

        raise ModelError(
            f"the model gives {scores.shape[1]} class probabilities but the data has "
            f"{data.n_classes} classes ({', '.join(data.classes)}).",
            hint="Check the target column (--target) or the model's output layer.",
            hints={"app": "Check the target column (the Target picker of the Data tab) or the model's output "
                   "layer."},
        )
    return Predictions(data.y, scores, data.classes, data.row_numbers)


@dataclass(frozen=True)
class ModeAudit:
    """Eval-mode result beside N train-mode passes (the fourth tutorial, made visible).

    Attributes
    ----------
    eval_accuracy : float
    train_mode_accuracies : ndarray of shape (n_passes,)
    max_abs_score_diff : float -- largest |train-mode score - eval-mode score| over all rows/passes
    mean_abs_score_diff : float
    stochastic_layers : tuple of str -- e.g. ("net.2: Dropout(p=0.5)", "net.1: BatchNorm1d(12)")
    """

    eval_accuracy: float
    train_mode_accuracies: np.ndarray
    max_abs_score_diff: float
    mean_abs_score_diff: float
    stochastic_layers: tuple[str, ...]

    @property
    def spread(self) -> float:
        """max - min of the train-mode accuracies."""
        a = self.train_mode_accuracies
        return float(a.max() - a.min()) if a.size else 0.0


def stochastic_layers(module: "torch.nn.Module") -> tuple[str, ...]:
    """Layers that behave differently in train mode (Dropout, BatchNorm and their kin)."""
    import torch.nn as nn

    kinds = (nn.modules.dropout._DropoutNd, nn.modules.batchnorm._NormBase, nn.AlphaDropout)
    return tuple(
        f"{name}: {m.__class__.__name__}" for name, m in module.named_modules() if isinstance(m, kinds)
    )


def mode_audit(
    module: "torch.nn.Module",
    X: np.ndarray,
    y: np.ndarray,
    kind: OutputKind,
    *,
    n_passes: int = 10,
    device: "torch.device | str" = "cpu",
    seed: int = 0,
    batch_size: int = DEFAULT_BATCH_SIZE,
    threshold: float | None = None,
    positive: int = 1,
) -> ModeAudit:
    """Evaluate once in eval mode and ``n_passes`` times in train mode (no gradients).

    Accuracy counts the most probable class; for a binary task with ``threshold`` given, the
    rule of the report instead (``P(positive) >= threshold``), so the audit's eval-mode accuracy
    is the accuracy the report shows. BatchNorm running statistics are not disturbed: the
    module's buffers are restored after the train-mode passes, so the audit never changes the model.
    """
    import torch

    Xt = torch.as_tensor(np.ascontiguousarray(X, dtype=np.float32)).to(device)
    yt = torch.as_tensor(np.asarray(y, dtype=np.int64)).to(device)

    def predicted(p: "torch.Tensor") -> "torch.Tensor":
        if threshold is None or p.shape[1] != 2:
            return p.argmax(1)
        t = torch.tensor(threshold, dtype=p.dtype, device=p.device)
        return torch.where(p[:, positive] >= t, positive, 1 - positive)

    ref = predict_proba_tensor(module, Xt, kind, batch_size=batch_size)
    eval_acc = (predicted(ref) == yt).float().mean()
    buffers = {k: v.clone() for k, v in module.state_dict().items() if not isinstance(v, torch.nn.Parameter)}
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    accs, max_diff, mean_diff = [], torch.zeros((), device=Xt.device), torch.zeros((), device=Xt.device)
    try:
        for _ in range(n_passes):
            p = predict_proba_tensor(module, Xt, kind, batch_size=batch_size, train_mode=True)
            accs.append((predicted(p) == yt).float().mean())
            d = (p - ref).abs()
            max_diff = torch.maximum(max_diff, d.max())
            mean_diff = mean_diff + d.mean() / max(n_passes, 1)
    finally:
        module.load_state_dict({**module.state_dict(), **buffers})
        torch.random.set_rng_state(gen_state)
    acc_arr = torch.stack(accs).cpu().numpy() if accs else np.zeros(0)
    return ModeAudit(
        float(eval_acc), acc_arr.astype(np.float64), float(max_diff), float(mean_diff), stochastic_layers(module)
    )
