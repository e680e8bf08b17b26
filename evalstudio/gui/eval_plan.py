"""Which rows Evaluate scores, and the words that say so (no Qt: the controller asks, the job runs).

Evaluate must not score a model on rows it learned from without saying so. There is one
mechanism, the core's: a checkpoint evalstudio wrote records the rows that trained it (the
demo checkpoints, and every run trained in this window, included), and the evaluation leaves
the loaded data's copies of those rows out, wherever they sit, unless the user ticks "include
the rows this model was trained on (optimistic)". This module words it: what Evaluate will score
(the button's tooltip, before the click), and what it scored and left out (the evaluation's
title, its message and the HTML report's settings, after).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from evalstudio.core.evaluation.leakage import INCLUDE_LABEL, NOT_RECORDED
from evalstudio.core.models.training_rows import SECTION

__all__ = ["INCLUDE_LABEL", "EvalPlan", "plan_evaluation", "records_training_rows", "report_settings", "same_file"]


def same_file(a: str | None, b: str | None) -> bool:
    """``a`` and ``b`` name the same file (after resolving links)."""
    return bool(a) and bool(b) and os.path.realpath(str(a)) == os.path.realpath(str(b))


def records_training_rows(checkpoint: Any) -> bool:
    """The loaded checkpoint (a ``models.Checkpoint``) records the rows that trained it."""
    meta = getattr(checkpoint, "meta", None)
    return isinstance(meta, dict) and meta.get(SECTION) is not None


@dataclass(frozen=True)
class EvalPlan:
    """What one Evaluate scores and how it is worded.

    ``data_file``: the file the report hashes; ``checkpoint_name``: the checkpoint's file name
    (empty without one); ``records_rows``: it records its training rows; ``include_training_rows``:
    the checkbox; ``before``: what Evaluate will score, said before the click (the button's tooltip);
    ``kind``: "validation rows" (the checkpoint of this window's run on the CSV it trained on: what is
    left is its validation rows), "rows it never trained on", "all rows, training rows included" or
    "all rows" (nothing recorded).
    """

    data_file: str
    data_name: str
    checkpoint_name: str
    records_rows: bool
    include_training_rows: bool
    before: str
    kind: str = "all rows"

    def title(self, outcome: Any) -> str:
        """The evaluation view's title: what was scored and what was left out."""
        leak = getattr(outcome, "leakage", None)
        n = int(outcome.predictions.n_samples)
        ckpt = self.checkpoint_name or "the model"
        if leak is None:
            return f"{self.data_name}: all {n:,} rows (training rows not recorded)"
        t, v, total = leak.training_rows, leak.validation_rows, leak.rows_in_file
        if t == 0:
            return f"{self.data_name}: all {n:,} rows (none trained {ckpt})"
        if leak.included_training_rows:
            return f"{self.data_name}: all {total:,} rows, INCLUDING the {t:,} that trained {ckpt} (optimistic)"
        which = "" if not v else (" (its validation rows)" if v == n else f" ({v:,} of them validation rows)")
        return f"{self.data_name}: {n:,} rows scored{which}, the {t:,} that trained {ckpt} left out"

    def message(self, outcome: Any) -> str:
        """What the message area says after the evaluation (the leakage lines first)."""
        leak = getattr(outcome, "leakage", None)
        if leak is None:
            return ""
        lines = [line[:1].upper() + line[1:] + "." for line in leak.lines()]
        if leak.training_rows and not leak.included_training_rows:
            lines.append(f"Tick \u201c{INCLUDE_LABEL}\u201d under Evaluate to score them too.")
        return "\n".join(lines)

    def rows_scored(self, outcome: Any) -> str:
        """The HTML report's "rows scored" entry."""
        leak = getattr(outcome, "leakage", None)
        n = int(outcome.predictions.n_samples)
        if leak is None:
            return f"all {n:,} rows ({NOT_RECORDED})"
        if leak.included_training_rows and leak.training_rows:
            return f"all {n:,} rows, including the {leak.training_rows:,} that trained the checkpoint (optimistic)"
        out = f"{n:,} of {leak.rows_in_file:,} rows"
        if leak.training_rows:
            out += f"; the {leak.training_rows:,} that trained the checkpoint left out"
        if leak.validation_rows:
            out += f"; {leak.validation_rows:,} validation rows (slightly optimistic)"
        return out


def plan_evaluation(
    data_path: str | None, n_rows: int, checkpoint_path: str | None, *, records_rows: bool,
    include_training_rows: bool = False, run_data_path: str | None = None,
) -> EvalPlan:
    """What Evaluate will score: the loaded data, less the rows that trained the checkpoint.

    ``run_data_path``: the CSV a run of this window trained ``checkpoint_path`` on (None otherwise).
    """
    name = os.path.basename(data_path or "") or "the loaded data"
    ckpt = os.path.basename(checkpoint_path or "")
    if not records_rows:
        before = f"all {n_rows:,} rows of {name} ({'this checkpoint' if ckpt else 'the model'} does not record " \
                 "its training rows)"
    elif include_training_rows:
        before = f"all {n_rows:,} rows of {name}, including those that trained {ckpt} (optimistic)"
    else:
        before = f"the rows of {name} that did not train {ckpt} ({ckpt} records its training rows)"
    if not records_rows:
        kind = "all rows"
    elif include_training_rows:
        kind = "all rows, training rows included"
    elif same_file(data_path, run_data_path):
        kind = "validation rows"
    else:
        kind = "rows it never trained on"
    return EvalPlan(data_path or "", name, ckpt, records_rows, include_training_rows, before, kind)


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
    plan: EvalPlan, outcome: Any, *, device: str = "cpu", batch_size: int = 65536, checkpoint: Any = None
) -> dict[str, Any]:
    """The HTML report's settings section for one evaluation (the panel adds threshold and positive class)."""
    settings: dict[str, Any] = {"rows scored": plan.rows_scored(outcome), "device": device,
                                "evaluation batch size": batch_size}
    settings.update({k: v for k, v in checkpoint_training_settings(checkpoint).items() if k != "training device"})
    return settings
