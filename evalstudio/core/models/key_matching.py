"""Fit a checkpoint's weights to a model, and say exactly what did not fit.

Wrappers add a prefix to every key: ``module.`` (DataParallel / DistributedDataParallel),
``_orig_mod.`` (torch.compile), ``model.`` (a Lightning module holding the network as
``self.model``). A prefix is stripped (or added) only when that makes the checkpoint's key set
equal to the model's, so a genuine mismatch is never hidden by a guess. Nothing is loaded unless
every key fits, or the user asked for a partial load (``strict=False``) and at least one tensor fits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from evalstudio.core.errors import CheckpointError

if TYPE_CHECKING:
    import torch

PREFIXES = ("module.", "_orig_mod.", "model.")
_PREFIX_WHY = {
    "module.": "saved from a DataParallel/DistributedDataParallel model",
    "_orig_mod.": "saved from a torch.compile'd model",
    "model.": "saved from a Lightning module",
}
_SHOW = 10  # keys listed per category in messages


@dataclass(frozen=True)
class KeyMatchReport:
    """How a checkpoint's keys met the model's.

    Attributes
    ----------
    n_checkpoint, n_model : int -- number of keys on each side
    n_loaded : int -- tensors copied into the model (0 when nothing was loaded)
    prefix_change : str -- e.g. "stripped 'module.' from every checkpoint key (...)"; "" if none
    missing : tuple of str -- model keys the checkpoint lacks
    unexpected : tuple of str -- checkpoint keys the model lacks (after any prefix change)
    shape_mismatches : tuple of str -- "name: checkpoint (16, 8) vs model (12, 8)"
    strict : bool
    loaded : bool -- weights were copied into the model
    notes : tuple of str -- e.g. dtype conversions
    """

    n_checkpoint: int
    n_model: int
    n_loaded: int
    prefix_change: str = ""
    missing: tuple[str, ...] = field(default=())
    unexpected: tuple[str, ...] = field(default=())
    shape_mismatches: tuple[str, ...] = field(default=())
    strict: bool = True
    loaded: bool = False
    notes: tuple[str, ...] = field(default=())

    @property
    def exact(self) -> bool:
        """Every key matched with the same shape."""
        return not (self.missing or self.unexpected or self.shape_mismatches)

    def problems(self) -> list[str]:
        """One line per kind of mismatch, keys listed (at most 10 each)."""
        out = []
        if self.missing:
            out.append(f"missing from the checkpoint ({len(self.missing)}): {_listing(self.missing)}")
        if self.unexpected:
            out.append(f"not in the model ({len(self.unexpected)}): {_listing(self.unexpected)}")
        if self.shape_mismatches:
            out.append(f"shape mismatches ({len(self.shape_mismatches)}): {_listing(self.shape_mismatches, sep='; ')}")
        return out

    def summary(self) -> str:
        """A readable account for the CLI's summary and the GUI's model panel."""
        head = (f"all {self.n_loaded} tensors loaded" if self.loaded and self.exact
                else f"{self.n_loaded} of {self.n_model} model tensors loaded (partial load, --non-strict)"
                if self.loaded else f"not loaded ({self.n_checkpoint} checkpoint keys, {self.n_model} model keys)")
        parts = [head]
        if self.prefix_change:
            parts.append(self.prefix_change)
        parts.extend(self.problems())
        parts.extend(self.notes)
        return "; ".join(parts)


def _listing(items: tuple[str, ...], sep: str = ", ") -> str:
    shown = sep.join(items[:_SHOW])
    return shown + (f"{sep}... ({len(items) - _SHOW} more)" if len(items) > _SHOW else "")


class CheckpointMismatchError(CheckpointError):
    """The checkpoint does not fit the model; ``report`` says how."""

    def __init__(self, message: str, *, hint: str | None, report: KeyMatchReport,
                 hints: Mapping[str, str] | None = None) -> None:
        super().__init__(message, hint=hint, hints=hints)
        self.report = report


def match_keys(ckpt_keys: list[str], model_keys: list[str]) -> tuple[dict[str, str], str]:
    """Map checkpoint keys to model keys, changing a wrapper prefix only if that fits exactly.

    Returns
    -------
    mapping : dict -- checkpoint key -> model key (identity when no prefix changed)
    change : str -- what was changed, in words ("" when nothing)
    """
    ck, mk = set(ckpt_keys), set(model_keys)
    identity = {k: k for k in ckpt_keys}
    if ck == mk or not ck:
        return identity, ""
    # Strip one or two wrapper prefixes (e.g. "module._orig_mod.") from every checkpoint key.
    strips = [(a,) for a in PREFIXES] + [(a, b) for a in PREFIXES for b in PREFIXES if a != b]
    for seq in strips:
        full = "".join(seq)
        if all(k.startswith(full) for k in ck) and {k[len(full):] for k in ck} == mk:
            why = "; ".join(_PREFIX_WHY[s] for s in seq)
            return ({k: k[len(full):] for k in ckpt_keys},
                    f"stripped {full!r} from every checkpoint key ({why})")
    # The model is the wrapped one (e.g. a compiled module) and the checkpoint is not.
    for seq in strips:
        full = "".join(seq)
        if all(k.startswith(full) for k in mk) and {full + k for k in ck} == mk:
            return ({k: full + k for k in ckpt_keys}, f"added {full!r} to every checkpoint key to match the model")
    return identity, ""


def apply_checkpoint(module: "torch.nn.Module", ckpt: Any, *, strict: bool = True) -> KeyMatchReport:
    """Copy the checkpoint's weights into ``module`` and report how the keys matched.

    Parameters
    ----------
    module : torch.nn.Module
    ckpt : Checkpoint or mapping of str to Tensor
    strict : bool
        When False, load the tensors that fit (same name and shape) and report the rest; refused
        anyway when nothing fits.

    Raises
    ------
    CheckpointMismatchError
        Nothing matched, or (strict) anything is missing, unexpected or of another shape.
    """

    state: Mapping[str, torch.Tensor] = ckpt if isinstance(ckpt, Mapping) else ckpt.state_dict
    model_state = module.state_dict()
    # A BatchNorm saved before PyTorch 0.4.1 has no num_batches_tracked; torch's own
    # load_state_dict fills it with 0, so it is not a mismatch here either.
    untracked = [] if any(k.endswith("num_batches_tracked") for k in state) else _batch_counters(module)
    mapping, change = match_keys(list(state), [k for k in model_state if k not in untracked])
    renamed = {mapping[k]: v for k, v in state.items()}
    filled = [k for k in untracked if k not in renamed and k.rpartition(".")[0] + ".running_mean" in renamed]
    missing = tuple(k for k in model_state if k not in renamed and k not in filled)
    unexpected = tuple(k for k in renamed if k not in model_state)
    mismatches: list[str] = []
    fits: dict[str, torch.Tensor] = {}
    notes: list[str] = []
    for k, v in renamed.items():
        if k not in model_state:
            continue
        target = model_state[k]
        if tuple(v.shape) != tuple(target.shape):
            mismatches.append(f"{k}: checkpoint {_shape(v)} vs model {_shape(target)}")
        else:
            fits[k] = v
            if v.dtype != target.dtype:
                notes.append(f"{k} converted from {str(v.dtype).replace('torch.', '')} "
                             f"to {str(target.dtype).replace('torch.', '')}")
    if len(notes) > 3:
        notes = [f"{len(notes)} tensors converted to the model's dtype (e.g. {notes[0]})"]
    if filled:
        import torch

        for k in filled:
            fits[k] = torch.zeros((), dtype=torch.long)
        notes.append(f"num_batches_tracked absent for {len(filled)} BatchNorm layer(s) (saved before PyTorch 0.4.1): "
                     "set to 0, as torch's load_state_dict does")
    report = KeyMatchReport(len(state), len(model_state), 0, change, missing, unexpected, tuple(mismatches),
                            strict, False, tuple(notes))
    if not fits:
        raise CheckpointMismatchError(
            f"none of the checkpoint's {len(state)} tensors fit the model's {len(model_state)}: "
            + "; ".join(report.problems()) + ".",
            hint="Check that the model file defines the architecture the checkpoint was saved from.",
            report=report,
        )
    if strict and not report.exact:
        raise CheckpointMismatchError(
            "the checkpoint does not fit the model: " + "; ".join(report.problems()) + ".",
            hint=f"Use the model definition the checkpoint was saved from, or pass --non-strict to load "
            f"the {len(fits)} tensors that fit and leave the rest as initialised.",
            hints={"app": f"Use the model definition the checkpoint was saved from, or tick \u201cLoad only the "
                   f"tensors that fit (non-strict)\u201d in the Model tab to load the {len(fits)} tensors that fit "
                   "and leave the rest as initialised."},
            report=report,
        )
    notes += _check_finite(module, fits)
    try:
        module.load_state_dict(fits, strict=strict)
    except RuntimeError as exc:  # e.g. a tensor subclass the module refuses
        raise CheckpointError(f"loading the weights failed: {str(exc).splitlines()[0]}") from None
    from dataclasses import replace

    return replace(report, n_loaded=len(fits), loaded=True)


def _check_finite(module: "torch.nn.Module", fits: Mapping[str, "torch.Tensor"]) -> list[str]:
    """Refuse weights holding NaN or infinity (every score they give is wrong); a buffer that does
    (an attention mask of -inf, say) may be deliberate, so it only gets a note.

    Raises
    ------
    CheckpointError
        Naming each parameter with non-finite values and how many there are.
    """
    import torch

    params = {name for name, _ in module.named_parameters()}
    bad_params: list[str] = []
    bad_buffers: list[str] = []
    for k, v in fits.items():
        if not (v.is_floating_point() or v.is_complex()):
            continue
        finite = torch.isfinite(v)
        if bool(finite.all()):
            continue
        n_nan = int(torch.isnan(v).sum())
        n_inf = int((~finite).sum()) - n_nan
        what = ", ".join(x for x in (f"{n_nan} NaN" if n_nan else "", f"{n_inf} infinite" if n_inf else "") if x)
        (bad_params if k in params else bad_buffers).append(f"{k} ({what} of {v.numel()} values)")
    if bad_params:
        raise CheckpointError(
            f"the checkpoint's weights are not finite: {_listing(tuple(bad_params), sep='; ')}; every score the "
            "model gives would be NaN or pushed to one class.",
            hint="The run that saved them diverged: use an earlier checkpoint of it (best.pt, epoch_N.pt), or "
            "train again with a lower learning rate.",
        )
    return [f"warning: buffer {b} is not finite" for b in bad_buffers]


def _batch_counters(module: "torch.nn.Module") -> list[str]:
    """State-dict keys of the ``num_batches_tracked`` counters of the module's BatchNorm layers."""
    import torch.nn as nn

    return [f"{name}.num_batches_tracked" if name else "num_batches_tracked"
            for name, m in module.named_modules()
            if isinstance(m, nn.modules.batchnorm._NormBase) and getattr(m, "num_batches_tracked", None) is not None]


def _shape(t: "torch.Tensor") -> str:
    return str(tuple(int(d) for d in t.shape))
