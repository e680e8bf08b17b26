"""Running a model: its train/eval modes for a block, and one forward pass over all rows in batches.

The primitives that model checks (a dry run) and evaluation (predicting) share.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

DEFAULT_BATCH_SIZE = 65536


@contextlib.contextmanager
def eval_mode(module: "torch.nn.Module", training: bool = False) -> Iterator[None]:
    """Put ``module`` in eval (or train) mode for the block and restore its modes after."""
    modes = [(m, m.training) for m in module.modules()]
    module.train(training)
    try:
        yield
    finally:
        for m, was_training in modes:
            m.training = was_training


def forward_in_batches(
    module: "torch.nn.Module", X: "torch.Tensor", *, batch_size: int = DEFAULT_BATCH_SIZE
) -> "torch.Tensor":
    """Raw outputs for every row of ``X`` (already on the module's device), no host sync."""
    import torch

    n = X.shape[0]
    if n <= batch_size:
        whole: torch.Tensor = module(X)  # nn.Module.__call__ is typed Any
        return whole
    # Each batch's outputs written into one buffer: no list of pieces beside their concatenation.
    first = module(X[:batch_size])
    out = torch.empty((n, *first.shape[1:]), dtype=first.dtype, device=first.device)
    out[:batch_size] = first
    del first
    for i in range(batch_size, n, batch_size):
        out[i : i + batch_size] = module(X[i : i + batch_size])
    return out
