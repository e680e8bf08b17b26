"""Models and checkpoints: the one import for front ends and the evaluation pipeline.

The work is split by responsibility (each module documents its part):

- :mod:`evalstudio.core.models.model_files` -- a Python model file or a TorchScript archive
- :mod:`evalstudio.core.models.checkpoints` -- reading checkpoints safely (weights_only, safetensors)
- :mod:`evalstudio.core.models.key_matching` -- fitting a checkpoint's keys to a model
- :mod:`evalstudio.core.models.checks` -- input width, output meaning, model summary
- :mod:`evalstudio.core.data.file_kinds` -- what a file holds, by content

and :func:`load_for_evaluation` puts them together the way the CLI and the GUI need.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from evalstudio.core.data import file_kinds
from evalstudio.core.errors import ModelError
from evalstudio.core.models.checkpoint_format import FORMAT as EVALSTUDIO_FORMAT
from evalstudio.core.models.checkpoints import (
    WEIGHT_KEYS,
    Checkpoint,
    DataContract,
    load_checkpoint,
    read_data_contract,
)
from evalstudio.core.models.checks import (
    OUTPUT_CHOICES,
    ModelSummary,
    check_checkpoint_width,
    check_input_width,
    expected_features,
    infer_output_kind,
    model_summary,
)
from evalstudio.core.models.key_matching import CheckpointMismatchError, KeyMatchReport, apply_checkpoint, match_keys
from evalstudio.core.models.model_files import LoadedModel, load_model
from evalstudio.core.models.pickle_safety import UnsafeCheckpointError

__all__ = [
    "EVALSTUDIO_FORMAT", "OUTPUT_CHOICES", "WEIGHT_KEYS", "Checkpoint", "CheckpointMismatchError", "DataContract",
    "KeyMatchReport", "LoadedModel", "ModelSummary", "UnsafeCheckpointError", "apply_checkpoint",
    "check_input_width", "expected_features", "infer_output_kind", "load_checkpoint", "load_for_evaluation",
    "load_model", "match_keys", "model_summary", "read_data_contract",
]

PathLike = str | os.PathLike[str]


def load_for_evaluation(
    model_path: PathLike | None,
    checkpoint_path: PathLike | None = None,
    *,
    entry: str | None = None,
    trust_pickle: bool = False,
    strict: bool = True,
    n_features: int | None = None,
    n_classes: int | None = None,
    feature_names: "Sequence[str] | None" = None,
) -> tuple[LoadedModel, Checkpoint | None, KeyMatchReport | None]:
    """Load the model and its weights the way an evaluation needs them.

    - Python model file + checkpoint: build the model, load the checkpoint, copy its weights.
    - Python model file alone: the model as built (a note says the weights are the initial ones).
    - TorchScript archive: its own weights; a checkpoint, if given, is applied on top.
    - No model file (or a ``torch.save`` file passed as the model) with a whole pickled model
      trusted via ``trust_pickle``: the pickled model itself.

    Returns
    -------
    loaded : LoadedModel
    checkpoint : Checkpoint or None
    key_report : KeyMatchReport or None -- None when no weights were copied (TorchScript, pickle)

    Raises
    ------
    ModelError, CheckpointError (incl. UnsafeCheckpointError, CheckpointMismatchError)
    """
    if model_path is not None and checkpoint_path is None:
        p = Path(model_path)
        if p.is_file() and file_kinds.sniff(p).kind in (file_kinds.TORCH_ZIP, file_kinds.TORCH_LEGACY):
            # `--model model.pth` holding torch.save(model): read it as the checkpoint it is.
            model_path, checkpoint_path = None, p
    if model_path is None:
        if checkpoint_path is None:
            raise ModelError("no model given.", hint="Pass the model's Python file or a TorchScript archive with --model.",
                             hints={"app": "Open the model's Python file or a TorchScript archive with Model\u2026 "
                                    "in the Model tab."})
        ckpt = load_checkpoint(checkpoint_path, trust_pickle=trust_pickle)
        if ckpt.pickled_module is None:
            raise ModelError(
                f"{str(checkpoint_path)!r} holds weights only ({ckpt.format}); they need a model to go into.",
                hint="Pass the Python file that defines the model with --model.",
                hints={"app": "Open the Python file that defines the model with Model\u2026 in the Model tab."},
            )
        loaded = LoadedModel(ckpt.pickled_module, "pickle", Path(checkpoint_path), ckpt.format, None,
                             ("whole pickled model loaded because you trusted the file",))
        return loaded, ckpt, None

    contract = read_data_contract(checkpoint_path)
    if contract.encoding is not None:
        # The checkpoint's own encoding decides the inputs (and so the width the model is built for).
        n_features, feature_names = contract.encoding.width, contract.encoding.input_names
    if contract.classes:
        n_classes = len(contract.classes)
    loaded = load_model(model_path, entry=entry, n_features=n_features, n_classes=n_classes)
    if checkpoint_path is None:
        if loaded.kind == "python":
            loaded = _with_note(loaded, "no checkpoint given: evaluating the weights the model file builds")
        return loaded, None, None
    ckpt = load_checkpoint(checkpoint_path, trust_pickle=trust_pickle, namespace=loaded.namespace)
    if feature_names is not None and ckpt.state_dict:
        check_checkpoint_width(loaded.module, ckpt.state_dict, feature_names)
    report = apply_checkpoint(loaded.module, ckpt, strict=strict)
    return loaded, ckpt, report


def _with_note(loaded: LoadedModel, note: str) -> LoadedModel:
    from dataclasses import replace

    return replace(loaded, notes=(*loaded.notes, note))
