"""A training run's checkpoint files: last.pt, best.pt and epoch_NNNN.pt, and reading them back.

The payload goes through :func:`evalstudio.core.models.checkpoint_format.make_payload`, the one
place that owns the format; this module decides which files are due after an epoch.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalstudio.core.evaluation.predict import predict_proba_tensor
from evalstudio.core.models.checkpoint_format import capture_rng, cpu_state_dict, make_payload, save_checkpoint
from evalstudio.core.models.outputs import OutputKind
from evalstudio.core.training.callbacks import CallbackList
from evalstudio.core.training.config import TrainConfig

if TYPE_CHECKING:
    import torch


def best_file_proba(
    module: "torch.nn.Module", path: str, X: "torch.Tensor", kind: OutputKind
) -> "torch.Tensor | None":
    """Validation probabilities of the weights in checkpoint ``path``; ``module`` is left as it was."""
    import torch

    try:
        best = torch.load(path, map_location="cpu", weights_only=True)["model_state_dict"]
    except Exception:  # a missing or unreadable best.pt only costs the best model's metrics
        return None
    current = cpu_state_dict(module)
    try:
        module.load_state_dict(best)
        return predict_proba_tensor(module, X, kind)
    finally:
        module.load_state_dict(current)


def save_due_checkpoints(
    out: Path, module: "torch.nn.Module", optimizer: Any, scheduler: Any, generator: "torch.Generator",
    config: TrainConfig, state: Any, meta: dict[str, Any], epoch: int, improved: bool, cb: CallbackList,
) -> None:
    """Write last.pt (and best.pt / epoch_NNNN.pt when due), each atomically."""
    payload = make_payload(
        model_state_dict=cpu_state_dict(module),
        optimizer_state_dict=optimizer.state_dict(),
        scheduler_state_dict=scheduler.state_dict() if scheduler is not None else None,
        epoch=epoch,
        history=[h.to_dict() for h in state.history],
        rng_state=capture_rng(generator),
        config=config.to_dict(),
        best_score=state.best_score,
        best_epoch=state.best_epoch,
        **meta,
    )
    due = [("last", out / "last.pt")]
    if improved:
        due.insert(0, ("best", out / "best.pt"))
    if config.checkpoint_every and epoch % config.checkpoint_every == 0:
        due.append(("periodic", out / f"epoch_{epoch:04d}.pt"))
    for kind, path in due:
        save_checkpoint(path, payload)
        if kind == "best":
            state.best_path = str(path)
        elif kind == "last":
            state.last_path = str(path)
        cb.on_checkpoint_saved(str(path), kind)


def resume_config(ckpt: dict[str, Any], **overrides: Any) -> TrainConfig:
    """The configuration a checkpoint was trained with, with ``overrides`` (e.g. epochs, device)."""
    return TrainConfig.from_dict(ckpt["config"], **overrides)
