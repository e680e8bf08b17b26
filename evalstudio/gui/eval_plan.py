"""Which rows Evaluate scores, and the words that say so (no Qt: the controller asks, the job runs).

Evaluate must not score a model on rows it learned from without saying so. The rules, in order:

1. The model is the checkpoint a Train run in this window just wrote, on the same CSV: score the
   run's validation rows (the rows training held out); with no validation rows, score all rows
   and say that they include the training rows.
2. The model is a checkpoint paired with a held-out file for the loaded CSV (the bundled demo:
   ``pima_checkpoint.pt`` was trained on 80 % of ``pima-indians-diabetes.csv``; the other 20 %
   are ``pima-holdout.csv``): score the held-out file.
3. Otherwise every row of the loaded CSV (the user's own held-out data).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any


def same_file(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and os.path.realpath(str(a)) == os.path.realpath(str(b))


@dataclass(frozen=True)
class HeldOutFile:
    """``checkpoint`` was trained on rows of ``data`` and never saw the rows in ``heldout``."""

    data: str
    checkpoint: str
    heldout: str


@dataclass(frozen=True)
class TrainedRun:
    """A Train run of this window: the CSV it used, its checkpoints, its validation rows, its settings."""

    data: str
    checkpoints: tuple[str, ...]
    val_rows: Any  # ndarray of file row numbers, or None without validation
    settings: dict[str, Any]


@dataclass(frozen=True)
class EvalPlan:
    """What one Evaluate scores.

    ``job_kwargs`` go to :class:`~evalstudio.workers.jobs.EvaluateJob` (``rows`` or ``data_path``);
    ``title`` heads the evaluation view (``{n}`` is the number of rows scored); ``data_file`` is
    the file the report hashes; ``note`` is said in the message area when not empty.
    """

    job_kwargs: dict[str, Any]
    title: str
    data_file: str
    note: str = ""
    kind: str = "all rows"  # "validation rows" | "held-out file" | "all rows" | "all rows, trained on"
    training_settings: dict[str, Any] = field(default_factory=dict)
    before: str = ""  # what Evaluate will score, said before the click (the button's tooltip)


def plan_evaluation(
    data_path: str | None,
    n_rows: int,
    checkpoint_path: str | None,
    *,
    trained: TrainedRun | None = None,
    heldout: HeldOutFile | None = None,
) -> EvalPlan:
    name = os.path.basename(data_path or "") or "the loaded data"
    if trained is not None and any(same_file(checkpoint_path, c) for c in trained.checkpoints) \
            and same_file(data_path, trained.data):
        if trained.val_rows is not None and len(trained.val_rows):
            return EvalPlan(
                {"rows": trained.val_rows},
                f"{name}: the {{n:,}} validation rows of the training run (held out from training)",
                data_path or "",
                f"Evaluate scored the trained model on the {len(trained.val_rows):,} validation rows its training "
                f"held out, not on all {n_rows:,} rows of {name} (the others trained it).",
                "validation rows", trained.settings,
                f"the trained model on the {len(trained.val_rows):,} validation rows its training held out",
            )
        return EvalPlan(
            {}, f"{name}: all {{n:,}} rows, INCLUDING the rows the model was trained on (optimistic)",
            data_path or "",
            "The model was trained on every row of this file (validation fraction 0), so these numbers are "
            "optimistic. Set a validation fraction and train again, or evaluate on a file it never saw.",
            "all rows, trained on", trained.settings,
            f"all {n_rows:,} rows of {name}, including the rows the model was trained on",
        )
    if heldout is not None and same_file(checkpoint_path, heldout.checkpoint) and same_file(data_path, heldout.data) \
            and os.path.isfile(heldout.heldout):
        held = os.path.basename(heldout.heldout)
        ckpt = os.path.basename(heldout.checkpoint)
        return EvalPlan(
            {"data_path": heldout.heldout},
            f"{held}: the {{n:,}} held-out rows {ckpt} never saw",
            heldout.heldout,
            f"Evaluate scored {held}, rows {ckpt} never saw: it was trained on the other rows of {name}, "
            f"so scoring {name} would be optimistic. Train and K-fold use {name} (they hold rows out themselves).",
            "held-out file", {},
            f"{held}, the rows {ckpt} never saw ({name} holds the rows it was trained on)",
        )
    return EvalPlan({}, f"{name}: all {{n:,}} rows", data_path or "", before=f"all {n_rows:,} rows of {name}")


def checkpoint_training_settings(checkpoint: Any) -> dict[str, Any]:
    """The training settings an evalstudio checkpoint carries (``meta["config"]``), report-ready."""
    meta = getattr(checkpoint, "meta", None) or {}
    config = meta.get("config") if isinstance(meta, dict) else None
    out: dict[str, Any] = {}
    if isinstance(config, dict):
        out.update({f"training {k}": v for k, v in config.items() if v is not None and not isinstance(v, (dict, list))})
    if isinstance(meta, dict) and isinstance(meta.get("epoch"), int):
        out["checkpoint epoch"] = meta["epoch"]
    return out


def report_settings(
    plan: EvalPlan, *, device: str, batch_size: int, checkpoint: Any = None
) -> dict[str, Any]:
    """The HTML report's settings section for one evaluation (the panel adds threshold and positive class)."""
    settings: dict[str, Any] = {"rows scored": plan.kind, "device": device, "evaluation batch size": batch_size}
    training = {f"training {k}": v for k, v in plan.training_settings.items() if k != "device"}
    settings.update(training or checkpoint_training_settings(checkpoint))
    return settings
