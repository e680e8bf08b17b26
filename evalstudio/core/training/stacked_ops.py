"""The arithmetic of k models trained together: stacked forward passes, losses and optimisers.

Every fold's parameters live side by side in one flat leaf tensor of shape (k, n_params); the
per-layer weights are views into it. One backward pass then fills one (k, n_params) gradient, and
the optimiser is a handful of element-wise operations on that one tensor instead of a Python loop
over k models x layers. Because Adam, AdamW and SGD are element-wise, stepping the stacked tensor
is the same arithmetic as stepping each fold on its own (up to float rounding), provided the loss
is the *sum* of the folds' own mean losses: fold i's loss depends only on fold i's parameters.

Two forward paths:

``bmm``   a module tree made only of ``nn.Sequential``, ``nn.Linear`` and stateless element-wise
          layers (activations, Dropout): each Linear becomes one batched matmul
          (``torch.baddbmm``) over the folds -- the fastest path on a CPU.
``vmap``  any other module without BatchNorm or TorchScript: ``torch.func.functional_call``
          vectorised over the folds with ``torch.func.vmap`` (probed before use).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evalstudio.core.models.outputs import OutputKind

if TYPE_CHECKING:
    import torch

_LOG_FLOOR = -100.0  # as evalstudio.core.training.losses: BCELoss clamps log(p) at -100


def elementwise_layers() -> tuple[type, ...]:
    """Layers that act on each element alone and hold no state: safe on a (k, batch, features) tensor."""
    import torch.nn as nn

    return (
        nn.ReLU, nn.LeakyReLU, nn.ReLU6, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish, nn.Sigmoid,
        nn.Tanh, nn.Softplus, nn.Hardtanh, nn.Hardswish, nn.Hardsigmoid, nn.Identity, nn.Dropout, nn.AlphaDropout,
        nn.LogSigmoid, nn.Tanhshrink, nn.Softsign,
    )


def bmm_layers(module: "torch.nn.Module") -> list["torch.nn.Module"] | None:
    """The flat layer list of a Sequential MLP the ``bmm`` path can run, or None if it cannot."""
    import torch.nn as nn

    if isinstance(module, nn.Sequential):
        out: list[nn.Module] = []
        for child in module:
            sub = bmm_layers(child)
            if sub is None:
                return None
            out += sub
        return out
    if isinstance(module, nn.Linear) or type(module) in elementwise_layers():
        return [module]
    if isinstance(module, (nn.Softmax, nn.LogSoftmax)) and module.dim in (1, -1):
        return [module]
    return None


@dataclass
class FlatParams:
    """k copies of one module's parameters in a single (k, n_params) leaf tensor.

    Attributes
    ----------
    flat : Tensor of shape (k, n_params), requires_grad
    names, shapes, offsets : per parameter, in ``named_parameters()`` order
    """

    flat: "torch.Tensor"
    names: list[str]
    shapes: list[tuple[int, ...]]
    offsets: list[int]

    @classmethod
    def stack(cls, modules: list["torch.nn.Module"], device: "torch.device") -> "FlatParams":
        import torch

        names = [n for n, _ in modules[0].named_parameters()]
        shapes = [tuple(p.shape) for _, p in modules[0].named_parameters()]
        offsets, total = [], 0
        for s in shapes:
            offsets.append(total)
            total += int(torch.Size(s).numel())
        rows = [torch.cat([p.detach().reshape(-1) for _, p in m.named_parameters()]) for m in modules]
        flat = torch.stack(rows).to(device).requires_grad_(True)
        return cls(flat, names, shapes, offsets)

    def views(self) -> dict[str, "torch.Tensor"]:
        """Name -> (k, *shape) view of ``flat`` (keeps the autograd link to ``flat``)."""
        k = self.flat.shape[0]
        out = {}
        for name, shape, off in zip(self.names, self.shapes, self.offsets):
            n = 1
            for s in shape:
                n *= s
            out[name] = self.flat[:, off : off + n].view(k, *shape)
        return out

    def load_into(self, modules: list["torch.nn.Module"], flat: "torch.Tensor | None" = None) -> None:
        """Copy fold i's slice of ``flat`` (default: the live one) into ``modules[i]``."""
        import torch

        src = (self.flat if flat is None else flat).detach()
        with torch.no_grad():
            for i, m in enumerate(modules):
                params = dict(m.named_parameters())
                for name, shape, off in zip(self.names, self.shapes, self.offsets):
                    p = params[name]
                    p.copy_(src[i, off : off + p.numel()].view(shape).to(p.device))


def make_bmm_forward(layers: list["torch.nn.Module"], names: dict[int, tuple[str, str | None]]) -> Callable[..., Any]:
    """``forward(views, x, training) -> out``: x (k, batch, d) -> out (k, batch, n_out)."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    def forward(views: dict[str, "torch.Tensor"], x: "torch.Tensor", training: bool) -> "torch.Tensor":
        h = x
        for i, layer in enumerate(layers):
            if isinstance(layer, nn.Linear):
                w_name, b_name = names[i]
                w = views[w_name].transpose(1, 2)
                h = torch.baddbmm(views[b_name].unsqueeze(1), h, w) if b_name else torch.bmm(h, w)
            elif isinstance(layer, (nn.Dropout, nn.AlphaDropout)):
                if training and layer.p > 0:
                    # One mask over all folds: its elements are independent, so each fold gets
                    # its own independent mask (not the same stream as a sequential run).
                    fn = F.dropout if isinstance(layer, nn.Dropout) else F.alpha_dropout
                    h = fn(h, layer.p, True)
            elif isinstance(layer, nn.Softmax):
                h = torch.softmax(h, dim=-1)
            elif isinstance(layer, nn.LogSoftmax):
                h = torch.log_softmax(h, dim=-1)
            else:
                h = layer(h)
        return h

    return forward


def bmm_param_names(module: "torch.nn.Module", layers: list["torch.nn.Module"]) -> dict[int, tuple[str, str | None]]:
    """Layer position -> (weight name, bias name or None) in ``module.named_parameters()`` terms."""
    import torch.nn as nn

    by_id = {id(m): name for name, m in module.named_modules()}
    out: dict[int, tuple[str, str | None]] = {}
    for i, layer in enumerate(layers):
        if isinstance(layer, nn.Linear):
            prefix = by_id[id(layer)]
            prefix = f"{prefix}." if prefix else ""
            out[i] = (f"{prefix}weight", f"{prefix}bias" if layer.bias is not None else None)
    return out


def make_vmap_forward(base: "torch.nn.Module") -> Callable[..., Any]:
    """``forward(views, x, training)`` through ``vmap(functional_call)`` over the folds."""
    from torch.func import functional_call, vmap

    def one(params: dict[str, "torch.Tensor"], x: "torch.Tensor") -> "torch.Tensor":
        out: torch.Tensor = functional_call(base, params, (x,))  # typed Any: whatever forward returns
        return out

    batched = vmap(one, randomness="different")

    def forward(views: dict[str, "torch.Tensor"], x: "torch.Tensor", training: bool) -> "torch.Tensor":
        base.train(training)
        return batched(views, x)

    return forward


def stacked_probabilities(out: "torch.Tensor", kind: OutputKind) -> "torch.Tensor":
    """Raw outputs (k, n, 1) / (k, n) / (k, n, C) -> probabilities (k, n, n_classes)."""
    import torch

    k, n = out.shape[0], out.shape[1]
    if kind.single_column:
        p1 = out.reshape(k, n)
        if kind is OutputKind.LOGIT:
            p1 = torch.sigmoid(p1)
        return torch.stack([1.0 - p1, p1], dim=-1)
    if kind is OutputKind.LOGITS:
        return torch.softmax(out, dim=-1)
    return out


def stacked_row_losses(out: "torch.Tensor", y: "torch.Tensor", kind: OutputKind) -> "torch.Tensor":
    """Per-row training loss (k, batch) of the loss :func:`evalstudio.core.training.losses.make_loss` picks."""
    import torch
    import torch.nn.functional as F

    k, n = y.shape
    if kind is OutputKind.LOGIT:
        return F.binary_cross_entropy_with_logits(out.reshape(k, n), y.to(out.dtype), reduction="none")
    if kind is OutputKind.PROBABILITY:
        return F.binary_cross_entropy(out.reshape(k, n), y.to(out.dtype), reduction="none")
    flat_out = out.reshape(k * n, -1)
    if kind is OutputKind.LOGITS:
        return F.cross_entropy(flat_out, y.reshape(-1), reduction="none").reshape(k, n)
    return F.nll_loss(torch.log(flat_out).clamp_min(_LOG_FLOOR), y.reshape(-1), reduction="none").reshape(k, n)


class StackedOptimizer:
    """Adam / AdamW / SGD(momentum 0.9) over a (k, n_params) tensor with per-fold step counts,
    learning rates and an "active" mask (a fold with no batch this step, or stopped early, must
    not move: not even Adam's momentum). Same update formulas as ``torch.optim`` (defaults:
    betas (0.9, 0.999), eps 1e-8; SGD dampening 0, no Nesterov).
    """

    def __init__(self, flat: "torch.Tensor", name: str, weight_decay: float, momentum: float = 0.9) -> None:
        import torch

        self.flat, self.name, self.wd, self.momentum = flat, name, float(weight_decay), momentum
        k = flat.shape[0]
        self.step_count = torch.zeros(k, 1, dtype=flat.dtype, device=flat.device)
        self.m = torch.zeros_like(flat, requires_grad=False)
        self.v = torch.zeros_like(flat, requires_grad=False) if name != "sgd" else None
        self.beta1, self.beta2, self.eps = 0.9, 0.999, 1e-8

    def step(self, lr: "torch.Tensor", active: "torch.Tensor | None") -> None:
        """One update. ``lr`` (k, 1); ``active`` bool (k, 1) or None when every fold steps."""
        import torch

        p, g = self.flat.data, self.flat.grad
        assert g is not None
        with torch.no_grad():
            keep = None if active is None else ~active
            if self.name in ("adam", "sgd") and self.wd:
                g = g.add(p, alpha=self.wd)
            if self.name == "sgd":
                first = self.step_count == 0
                new_m = torch.where(first, g, self.m * self.momentum + g)
                self.m = new_m if keep is None else torch.where(keep, self.m, new_m)
                self.step_count += 1 if active is None else active.to(p.dtype)
                upd = lr * self.m
                p.sub_(upd if keep is None else upd.masked_fill(keep, 0.0))
                return
            assert self.v is not None
            if self.name == "adamw" and self.wd:
                decay = 1.0 - lr * self.wd
                p.mul_(decay if keep is None else decay.masked_fill(keep, 1.0))
            new_m = self.m.lerp(g, 1.0 - self.beta1)
            new_v = self.v * self.beta2 + (1.0 - self.beta2) * g * g
            if keep is None:
                self.m, self.v = new_m, new_v
                self.step_count += 1
            else:
                assert active is not None  # keep is set exactly when active is
                self.m = torch.where(keep, self.m, new_m)
                self.v = torch.where(keep, self.v, new_v)
                self.step_count += active.to(p.dtype)
            steps = self.step_count.clamp_min(1.0)
            bc1 = 1.0 - self.beta1**steps
            bc2_sqrt = (1.0 - self.beta2**steps).sqrt()
            denom = self.v.sqrt() / bc2_sqrt + self.eps
            upd = (lr / bc1) * self.m / denom
            p.sub_(upd if keep is None else upd.masked_fill(keep, 0.0))
