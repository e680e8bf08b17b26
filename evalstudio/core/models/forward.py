"""Running a model: its train/eval modes for a block, and one forward pass over all rows in batches.

The primitives that model checks (a dry run) and evaluation (predicting) share.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from evalstudio.core.errors import ModelError
from evalstudio.core.models.limits import is_out_of_memory, out_of_memory_error

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


def call_forward(module: "torch.nn.Module", x: "torch.Tensor", *, where: str = "running the model",
                 batch_size: int | None = None) -> "torch.Tensor":
    """``module(x)``, with the two ways user code can end a run turned into one clear error:
    ``sys.exit`` in ``forward()`` (a :class:`ModelError`, never a silent exit) and running out of
    memory (an error that says so, instead of blaming the model's input).
    """
    try:
        return module(x)  # type: ignore[no-any-return]
    except SystemExit as exc:
        raise ModelError(f"the model's forward() calls sys.exit({exc.code!r}) while {where}, which evalstudio "
                         "treats as an error.", hint="forward() must return the outputs; remove the exit.") from None
    except (RuntimeError, MemoryError) as exc:
        if is_out_of_memory(exc):
            raise out_of_memory_error(exc, where=where, device=str(x.device), batch_size=batch_size) from None
        raise


def forward_in_batches(
    module: "torch.nn.Module", X: "torch.Tensor", *, batch_size: int = DEFAULT_BATCH_SIZE
) -> "torch.Tensor":
    """Raw outputs for every row of ``X`` (already on the module's device), no host sync."""
    import torch

    n = X.shape[0]
    if n <= batch_size:
        return call_forward(module, X, where="evaluating", batch_size=n)
    # Each batch's outputs written into one buffer: no list of pieces beside their concatenation.
    first = call_forward(module, X[:batch_size], where="evaluating", batch_size=batch_size)
    out = torch.empty((n, *first.shape[1:]), dtype=first.dtype, device=first.device)
    out[:batch_size] = first
    del first
    for i in range(batch_size, n, batch_size):
        out[i : i + batch_size] = call_forward(module, X[i : i + batch_size], where="evaluating",
                                               batch_size=batch_size)
    return out
