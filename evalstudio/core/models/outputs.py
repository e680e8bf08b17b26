"""What a classifier's output columns mean, and how they become class probabilities."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import torch


class OutputKind(str, Enum):
    """How to read a model's raw outputs.

    ``LOGIT`` one column of logits (binary; sigmoid gives P(classes[1])), ``PROBABILITY`` one
    column already in [0, 1] (the model ends in nn.Sigmoid), ``LOGITS`` K columns of logits
    (softmax; K == 2 is binary), ``PROBABILITIES`` K columns already summing to 1.
    """

    LOGIT = "logit"
    PROBABILITY = "probability"
    LOGITS = "logits"
    PROBABILITIES = "probabilities"

    @property
    def single_column(self) -> bool:
        return self in (OutputKind.LOGIT, OutputKind.PROBABILITY)

    @property
    def already_probabilities(self) -> bool:
        return self in (OutputKind.PROBABILITY, OutputKind.PROBABILITIES)


def to_probabilities(out: "torch.Tensor", kind: OutputKind) -> "torch.Tensor":
    """Raw outputs of shape (n, 1) / (n,) / (n, K) -> probabilities of shape (n, n_classes)."""
    import torch

    if kind.single_column:
        p1 = out.reshape(-1)
        proba = torch.empty((p1.shape[0], 2), dtype=p1.dtype, device=p1.device)
        proba[:, 1] = torch.sigmoid(p1) if kind is OutputKind.LOGIT else p1
        proba[:, 0] = 1.0 - proba[:, 1]
        return proba
    if kind is OutputKind.LOGITS:
        return torch.softmax(out, dim=1)
    return out


def check_scores(scores: "np.ndarray", kind: OutputKind, row_numbers: "np.ndarray | None" = None) -> None:
    """Refuse outputs declared probabilities that are not probabilities at all.

    ``scores`` is what :func:`to_probabilities` gave, of shape (n_samples, n_classes). When the
    outputs were declared probabilities (``--outputs probabilities``) they are used as they are,
    so logits passed off as probabilities would give silently wrong metrics: refuse them.

    Raises
    ------
    ModelError
        Declared probabilities outside [0, 1] or whose rows do not sum to 1.
    """
    import numpy as np

    from evalstudio.core.errors import ModelError

    # Non-finite scores are the metrics' to refuse (evaluate_predictions names the first row).
    rows = np.arange(1, scores.shape[0] + 1) if row_numbers is None else np.asarray(row_numbers)
    if not kind.already_probabilities:
        return
    tol = 1e-3
    lo, hi = float(scores.min()), float(scores.max())
    sums = scores.sum(axis=1)
    off = np.abs(sums - 1.0) > tol
    if lo < -tol or hi > 1.0 + tol or (not kind.single_column and off.any()):
        if kind.single_column:
            p = scores[:, 1]
            what = f"range from {float(p.min()):.4g} to {float(p.max()):.4g}, outside [0, 1]"
        elif off.any():
            what = (f"do not sum to 1 in {int(off.sum())} rows (row {int(rows[np.argmax(off)])} sums to "
                    f"{float(sums[np.argmax(off)]):.4g})")
        else:
            what = f"range from {lo:.4g} to {hi:.4g}, outside [0, 1]"
        raise ModelError(
            f"the model's outputs were read as probabilities, but they {what}.",
            hint="They look like logits: use --outputs logits (or auto) so evalstudio applies "
                 + ("sigmoid." if kind.single_column else "softmax."),
            hints={"app": "They look like logits: choose \u201clogits\u201d (or \u201cauto\u201d) in the Model tab's "
                   "Outputs picker so evalstudio applies " + ("sigmoid." if kind.single_column else "softmax.")},
        )


def output_notes(raw: "np.ndarray", kind: OutputKind) -> list[str]:
    """Warnings about how the outputs were read, from raw model outputs of shape (n_rows, n_outputs).

    Outputs read as logits that are already probabilities (``torch.sigmoid`` or ``softmax`` inside
    ``forward()``, which the last-layer check cannot see) get squashed a second time: a second
    sigmoid puts every score in [0.5, 0.73] and predicts nearly everything positive; a second
    softmax flattens the probabilities (log loss and thresholds change, accuracy does not).
    """
    import numpy as np

    if kind.already_probabilities or raw.size == 0 or not np.isfinite(raw).all():
        return []
    in_unit = float(raw.min()) >= 0.0 and float(raw.max()) <= 1.0
    from evalstudio.core.errors import Note

    app = "if so, choose \u201cprobabilities\u201d in the Model tab's Outputs picker"
    if kind is OutputKind.LOGIT and in_unit:
        said = ("warning: every raw output lies in [0, 1], so they may already be probabilities (sigmoid inside "
                "forward()) and the sigmoid evalstudio applied squeezes them into [0.5, 0.73]; ")
        return [Note(said + "if so, pass --outputs probabilities", texts={"app": said + app})]
    if kind is OutputKind.LOGITS and in_unit and np.allclose(raw.sum(axis=1), 1.0, atol=1e-4):
        said = ("warning: every row of raw outputs already sums to 1, so they may already be probabilities (softmax "
                "inside forward()) and the softmax evalstudio applied flattens them; ")
        return [Note(said + "if so, pass --outputs probabilities", texts={"app": said + app})]
    return []
