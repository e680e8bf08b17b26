"""What a classifier's output columns mean, and how they become class probabilities."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
        if kind is OutputKind.LOGIT:
            p1 = torch.sigmoid(p1)
        return torch.stack([1.0 - p1, p1], dim=1)
    if kind is OutputKind.LOGITS:
        return torch.softmax(out, dim=1)
    return out
