"""Check a model against the data before evaluating: input width, output meaning, a summary.

Each check is a dry run on two rows of zeros in eval mode without gradients, so it costs next to
nothing and leaves the model exactly as it was (modes restored, no BatchNorm statistics touched).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evalstudio.core.errors import EvalStudioError, ModelError
from evalstudio.core.models.outputs import OutputKind

if TYPE_CHECKING:
    import torch

OUTPUT_CHOICES = ("auto", "logits", "probabilities")


@dataclass(frozen=True)
class ModelSummary:
    """What the model panel shows.

    Attributes
    ----------
    text : str -- the module's printed structure
    n_params, n_trainable : int
    dropout_layers, batchnorm_layers : tuple of str -- "name: Dropout(p=0.3)" (act differently in train mode)
    expected_features : int or None -- input width read from the first Linear/Conv layer
    """

    text: str
    n_params: int
    n_trainable: int
    dropout_layers: tuple[str, ...]
    batchnorm_layers: tuple[str, ...]
    expected_features: int | None = None


def model_summary(module: "torch.nn.Module") -> ModelSummary:
    """Parameter counts and the layers that behave differently in train and eval mode."""
    import torch.nn as nn

    params = list(module.parameters())
    dropout = tuple(f"{n}: {m!r}" for n, m in module.named_modules()
                    if isinstance(m, (nn.modules.dropout._DropoutNd, nn.AlphaDropout)) or _script_kind(m, "Dropout"))
    batchnorm = tuple(f"{n}: {m!r}" for n, m in module.named_modules()
                      if isinstance(m, nn.modules.batchnorm._NormBase) or _script_kind(m, "BatchNorm"))
    return ModelSummary(
        text=str(module),
        n_params=sum(p.numel() for p in params),
        n_trainable=sum(p.numel() for p in params if p.requires_grad),
        dropout_layers=dropout,
        batchnorm_layers=batchnorm,
        expected_features=expected_features(module),
    )


def _script_kind(m: "torch.nn.Module", prefix: str) -> bool:
    """A TorchScript submodule keeps its Python class name in ``original_name``."""
    name = getattr(m, "original_name", "")
    return isinstance(name, str) and name.startswith(prefix) and type(m).__name__.startswith("Recursive")


def expected_features(module: "torch.nn.Module") -> int | None:
    """Input width from the first Linear (in_features) or Conv (in_channels) layer, if any."""
    import torch.nn as nn

    for m in module.modules():
        if isinstance(m, nn.Linear) and not isinstance(m, nn.LazyLinear):
            return int(m.in_features)
        if isinstance(m, nn.modules.conv._ConvNd):
            return int(m.in_channels)
        w = getattr(m, "weight", None)
        if _script_kind(m, "Linear") and w is not None and getattr(w, "dim", lambda: 0)() == 2:
            return int(w.shape[1])
    return None


def _dry_run(module: "torch.nn.Module", n_features: int) -> "torch.Tensor":
    """The module's output for two rows of zeros (eval mode, no gradients, modes restored).

    Two rows, not one: a forward() ending in ``.squeeze()`` turns a batch of one into a 0-d tensor.
    """
    import torch

    from evalstudio.core.models.forward import call_forward, eval_mode

    first = next(iter(module.parameters()), None)
    dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
    device = first.device if first is not None else torch.device("cpu")
    x = torch.zeros(2, n_features, dtype=dtype, device=device)
    # no_grad rather than inference_mode: a lazy layer materialising here must stay trainable.
    with eval_mode(module), torch.no_grad():
        out: torch.Tensor = call_forward(module, x, where="checking it on 2 rows of zeros")
    return out


def _columns(feature_names: Sequence[str]) -> str:
    names = list(feature_names)
    shown = ", ".join(names[:12])
    return shown + (f", ... ({len(names) - 12} more)" if len(names) > 12 else "")


def check_input_width(module: "torch.nn.Module", feature_names: Sequence[str]) -> None:
    """Run the model on two rows of ``len(feature_names)`` features; explain a width mismatch.

    Raises
    ------
    ModelError
        "the model expects N features; the CSV has M (columns: ...)" when the first layer's
        width is known and differs, otherwise the model's own error on that row.
    """
    m = len(feature_names)
    n = expected_features(module)
    try:
        _dry_run(module, m)
    except EvalStudioError:
        raise
    except Exception as exc:
        if n is not None and n != m:
            raise ModelError(
                f"the model expects {n} features; the CSV has {m} (columns: {_columns(feature_names)}).",
                hint="Choose the right target column (--target) or a model built for these columns.",
                hints={"app": "Choose the right target column (the Target picker of the Data tab) or a model built "
                       "for these columns."},
            ) from None
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(
            f"the model fails on rows of the CSV's {m} features (columns: {_columns(feature_names)}): "
            f"{type(exc).__name__}: {text}",
            hint="Check that the model takes a float tensor of shape (batch, n_features).",
        ) from None


def check_checkpoint_width(
    module: "torch.nn.Module", state_dict: "Mapping[str, Any]", feature_names: Sequence[str]
) -> None:
    """Explain a checkpoint whose first layer was trained on another number of features.

    A model file whose ``build_model(n_features)`` follows the CSV builds happily for any width;
    the checkpoint then disagrees on the first layer only, and "shape mismatch ... or pass
    --non-strict" would point at the wrong fix. Say what it is: the CSV's columns.

    Raises
    ------
    ModelError
        "the checkpoint expects N features; the CSV has M (columns: ...)".
    """
    import torch.nn as nn

    first = next(((name, m) for name, m in module.named_modules() if isinstance(m, nn.Linear)
                  and not isinstance(m, nn.LazyLinear)), None)
    if first is None:
        return
    name, layer = first
    key = f"{name}.weight"
    found = [k for k in state_dict if k == key] or [k for k in state_dict if k.endswith("." + key)]
    if len(found) != 1:
        return
    w = state_dict[found[0]]
    shape = tuple(getattr(w, "shape", ()))
    m = len(feature_names)
    if len(shape) == 2 and shape[0] == layer.out_features and shape[1] != m:
        raise ModelError(
            f"the checkpoint expects {shape[1]} features (its {found[0]} has shape {shape}); the CSV has {m} "
            f"(columns: {_columns(feature_names)}).",
            hint="Choose the right target column (--target) or a CSV with the feature columns the checkpoint "
                 "was trained on.",
            hints={"app": "Choose the right target column (the Target picker of the Data tab) or a CSV with the "
                   "feature columns the checkpoint "
                   "was trained on."},
        )


def infer_output_kind(
    module: "torch.nn.Module", n_features: int, n_classes: int, outputs: str = "auto"
) -> OutputKind:
    """How to turn the model's outputs into class probabilities.

    One column is binary (a logit, or a probability when the model ends in nn.Sigmoid or
    ``outputs="probabilities"``); K columns are K classes (logits, or probabilities when the model
    ends in nn.Softmax or ``outputs="probabilities"``). ``outputs="logits"`` forces logits.

    Raises
    ------
    ModelError
        The output is not a tensor of shape (n,), (n, 1) or (n, n_classes); or ``outputs`` is unknown.
    """
    import torch

    if outputs not in OUTPUT_CHOICES:
        raise ModelError(f"unknown outputs setting {outputs!r}.", hint=f"Use one of: {', '.join(OUTPUT_CHOICES)}.")
    try:
        out = _dry_run(module, n_features)
    except EvalStudioError:
        raise
    except Exception as exc:
        raise ModelError(f"the model fails on rows of {n_features} features: {type(exc).__name__}: "
                         f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}") from None
    if not isinstance(out, torch.Tensor):
        raise ModelError(
            f"the model returns a {type(out).__name__}, not a tensor.",
            hint="Its forward() must return one tensor of shape (batch, n_outputs).",
        )
    check_float_outputs(out)
    if out.dim() > 2 or out.dim() == 0 or out.shape[0] != 2:
        raise ModelError(
            f"the model's output for a batch of 2 rows has shape {tuple(out.shape)}; expected (2,), (2, 1) or (2, K).",
            hint="Its forward() must return one row of scores per input row.",
        )
    width = 1 if out.dim() == 1 else int(out.shape[1])
    last = _last_leaf(module)
    if width == 1:
        if n_classes != 2:
            raise ModelError(
                f"the model gives 1 output column (a binary score) but the data has {n_classes} classes.",
                hint=f"Use a model with {n_classes} outputs, or check the target column (--target).",
                hints={"app": f"Use a model with {n_classes} outputs, or check the target column (the Target "
                       "picker of the Data tab)."},
            )
        if outputs == "probabilities" or (outputs == "auto" and last == "Sigmoid"):
            return OutputKind.PROBABILITY
        return OutputKind.LOGIT
    if width != n_classes:
        raise ModelError(
            f"the model gives {width} output columns but the data has {n_classes} classes.",
            hint="The output layer must have one column per class (or one column for a binary task); "
            "check the target column (--target) or the model.",
            hints={"app": "The output layer must have one column per class (or one column for a binary task); "
                   "check the target column (the Target picker of the Data tab) or the model."},
        )
    if outputs == "probabilities" or (outputs == "auto" and last == "Softmax"):
        return OutputKind.PROBABILITIES
    return OutputKind.LOGITS


def check_float_outputs(out: "torch.Tensor") -> None:
    """Refuse integer or boolean outputs: class labels (``(x > 0).long()``, ``argmax``), not scores.

    Read as scores they would give truncated probabilities, a threshold cast to an integer and
    metrics that disagree with the predictions written out; no honest reading exists.

    Raises
    ------
    ModelError
        "the model returns class labels (int64 values), not scores".
    """
    if out.is_floating_point():
        return
    what = "True/False values" if str(out.dtype) == "torch.bool" else f"{str(out.dtype).replace('torch.', '')} values"
    raise ModelError(
        f"the model returns class labels ({what}), not scores: evalstudio needs one float score per class "
        "(logits or probabilities) to compute thresholds, curves and losses.",
        hint="Return the scores the labels come from (e.g. the logits before argmax or > 0), as floats.",
    )


def _last_leaf(module: "torch.nn.Module") -> str:
    """Class name of the last registered leaf module ("Sigmoid", "Softmax", "Linear", ...)."""
    leaves = [m for m in module.modules() if not list(m.children())]
    if not leaves:
        return ""
    m = leaves[-1]
    name = getattr(m, "original_name", None)
    return name if isinstance(name, str) and name else type(m).__name__
