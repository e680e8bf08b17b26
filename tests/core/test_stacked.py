"""Folds trained together (evalstudio.core.training.stacked) against the same folds trained one by one.

Same seeds must give the same per-fold parameters, histories and validation predictions as
sequential ``fit`` (to float tolerance) for deterministic models; with Dropout the two agree in
distribution. Models that cannot be stacked must fall back, saying why.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
import torch.nn as nn
from scipy import stats

from evalstudio.core.errors import Cancelled, TrainingError
from evalstudio.core.training.kfold import fold_indices
from evalstudio.core.models.outputs import OutputKind
from evalstudio.core.training.stacked import fit_folds, stack_plan
from evalstudio.core.training.config import TrainConfig


from _train_helpers import make_dataset


def _mlp(d: int = 4, out: int = 1, *, sigmoid: bool = False, softmax: bool = False) -> nn.Module:
    layers: list[nn.Module] = [nn.Linear(d, 8), nn.ReLU(inplace=True), nn.Sequential(nn.Linear(8, 6), nn.Tanh()),
                               nn.Linear(6, out)]
    if sigmoid:
        layers.append(nn.Sigmoid())
    if softmax:
        layers.append(nn.Softmax(dim=1))
    return nn.Sequential(*layers)


class Residual(nn.Module):
    """Not a plain Sequential: takes the vmap path."""

    def __init__(self, d: int = 4, out: int = 1) -> None:
        super().__init__()
        self.inp = nn.Linear(d, 8)
        self.mid = nn.Linear(8, 8, bias=False)
        self.head = nn.Linear(8, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.inp(x))
        return self.head(h + torch.tanh(self.mid(h)))


class DataDependent(nn.Module):
    """Python control flow on a tensor's value: vmap cannot run it."""

    def __init__(self, d: int = 4) -> None:
        super().__init__()
        self.lin = nn.Linear(d, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.lin(x)
        return out * 2 if out.sum() > 0 else out


def _folds(n: int = 125, k: int = 3, n_classes: int = 2, seed: int = 0):
    data = make_dataset(n=n, n_classes=n_classes, seed=seed)
    return data, [data.subset(tr) for tr, _ in fold_indices(data.y, k, seed)]


def _both(builder, sets, config, kind):
    stacked = fit_folds(builder, sets, config, output_kind=kind, stacked=True)
    seq = fit_folds(builder, sets, config, output_kind=kind, stacked=False)
    return stacked, seq


def _assert_same(stacked, seq, atol: float = 2e-5) -> None:
    assert seq.path == "sequential"
    for ms, mq in zip(stacked.modules, seq.modules):
        for (name, p), (_, q) in zip(ms.named_parameters(), mq.named_parameters()):
            np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), atol=atol, rtol=1e-4, err_msg=name)
    for rs, rq in zip(stacked.results, seq.results):
        assert len(rs.history) == len(rq.history)
        assert (rs.best_epoch, rs.stopped_early, rs.monitor) == (rq.best_epoch, rq.stopped_early, rq.monitor)
        for hs, hq in zip(rs.history, rq.history):
            assert hs.lr == pytest.approx(hq.lr)
            for key in ("train_loss", "train_accuracy", "train_eval_loss", "val_loss", "val_accuracy"):
                a, b = getattr(hs, key), getattr(hq, key)
                assert (a is None) == (b is None)
                if a is not None:
                    assert a == pytest.approx(b, abs=1e-4), key
        if rq.val_predictions is not None:
            np.testing.assert_allclose(rs.val_predictions.y_score, rq.val_predictions.y_score, atol=1e-4)
            np.testing.assert_array_equal(rs.val_predictions.row_numbers, rq.val_predictions.row_numbers)
        np.testing.assert_allclose(rs.preprocessing.mean, rq.preprocessing.mean)


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_plan_chooses_bmm_vmap_or_sequential_with_a_reason() -> None:
    assert stack_plan(_mlp()) == ("bmm", "")
    assert stack_plan(Residual())[0] == "vmap"
    path, why = stack_plan(nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 1)))
    assert path == "sequential" and "BatchNorm" in why and "1" in why
    path, why = stack_plan(torch.jit.script(_mlp()))
    assert path == "sequential" and "TorchScript" in why


def test_bmm_adam_logit_with_validation_and_uneven_folds_equals_sequential() -> None:
    _, sets = _folds(n=125, k=3)  # fold sizes 83/83/84, batch 16 -> uneven last batches
    cfg = TrainConfig(epochs=4, batch_size=16, lr=0.01, device="cpu", val_fraction=0.2, seed=3)
    stacked, seq = _both(lambda: _mlp(), sets, cfg, OutputKind.LOGIT)
    assert stacked.path == "bmm"
    _assert_same(stacked, seq)
    assert [r.history[0].lr for r in stacked.results] == [0.01] * 3


def test_folds_with_different_batch_counts_move_only_when_they_have_a_batch() -> None:
    # 21 and 22 rows at batch 2: 10 batches (last one merged to 3 rows) vs 11; Adam must not step
    # the shorter fold on the longer fold's extra batch.
    data = make_dataset(n=60)
    sets = [data.subset(np.arange(21)), data.subset(np.arange(21, 43))]
    cfg = TrainConfig(epochs=3, batch_size=2, lr=0.01, device="cpu", val_fraction=0.0)
    stacked, seq = _both(lambda: _mlp(), sets, cfg, OutputKind.LOGIT)
    _assert_same(stacked, seq)


@pytest.mark.parametrize(
    ("optimizer", "schedule", "kind", "out", "extra"),
    [
        ("sgd", "step", OutputKind.LOGITS, 3, {}),
        ("adamw", "cosine", OutputKind.PROBABILITIES, 3, {"softmax": True}),
        ("adam", "plateau", OutputKind.PROBABILITY, 1, {"sigmoid": True}),
    ],
)
def test_optimizers_schedules_and_output_kinds_equal_sequential(optimizer, schedule, kind, out, extra) -> None:
    n_classes = 3 if out == 3 else 2
    _, sets = _folds(n=90, k=3, n_classes=n_classes)
    cfg = TrainConfig(epochs=4, batch_size=8, lr=0.02, optimizer=optimizer, weight_decay=0.01,
                      lr_schedule=schedule, lr_step_size=2, plateau_patience=0, device="cpu", val_fraction=0.25,
                      monitor="val_accuracy")
    stacked, seq = _both(lambda: _mlp(out=out, **extra), sets, cfg, kind)
    assert stacked.path == "bmm"
    _assert_same(stacked, seq)
    lrs = {h.lr for r in stacked.results for h in r.history}
    assert len(lrs) > 1  # the schedule really moved the rate


def test_early_stopping_stops_each_fold_as_sequential_does() -> None:
    _, sets = _folds(n=90, k=3)
    cfg = TrainConfig(epochs=12, batch_size=8, lr=0.05, device="cpu", val_fraction=0.3, early_stopping=1,
                      monitor="val_accuracy")
    stacked, seq = _both(lambda: _mlp(), sets, cfg, OutputKind.LOGIT)
    _assert_same(stacked, seq)
    assert any(r.stopped_early for r in stacked.results)
    assert [r.stop_reason for r in stacked.results] == [r.stop_reason for r in seq.results]


def test_vmap_path_for_a_custom_module_equals_sequential() -> None:
    _, sets = _folds(n=80, k=3)
    cfg = TrainConfig(epochs=3, batch_size=8, lr=0.01, device="cpu", val_fraction=0.0)
    stacked, seq = _both(Residual, sets, cfg, OutputKind.LOGIT)
    assert stacked.path == "vmap"
    _assert_same(stacked, seq)
    assert stacked.results[0].monitor == "train_eval_loss"  # no validation rows: fit's fallback


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_models_that_cannot_stack_fall_back_and_say_why() -> None:
    _, sets = _folds(n=60, k=2)
    cfg = TrainConfig(epochs=2, batch_size=8, device="cpu", val_fraction=0.0)
    bn = fit_folds(lambda: nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1)), sets, cfg,
                   output_kind=OutputKind.LOGIT)
    assert bn.path == "sequential" and "BatchNorm" in bn.reason
    assert len(bn.results) == 2 and len(bn.results[1].history) == 2
    dd = fit_folds(DataDependent, sets, cfg, output_kind=OutputKind.LOGIT)
    assert dd.path == "sequential" and "vmap cannot run this model" in dd.reason
    script = fit_folds(lambda: torch.jit.script(_mlp()), sets, cfg, output_kind=OutputKind.LOGIT)
    assert script.path == "sequential" and "TorchScript" in script.reason
    with pytest.raises(TrainingError, match="cannot be trained together: .*BatchNorm") as err:
        fit_folds(lambda: nn.Sequential(nn.Linear(4, 2), nn.BatchNorm1d(2), nn.Linear(2, 1)), sets, cfg,
                  output_kind=OutputKind.LOGIT, stacked=True)
    assert "stacked='auto'" in err.value.hint


def test_hooks_report_every_fold_and_cancel_stops() -> None:
    _, sets = _folds(n=60, k=2)
    cfg = TrainConfig(epochs=2, batch_size=8, device="cpu", val_fraction=0.0)
    seen: list[tuple[int, int]] = []
    run = fit_folds(lambda: _mlp(), sets, cfg, output_kind=OutputKind.LOGIT,
                    on_epoch_end=lambda fold, m: seen.append((fold, m.epoch)))
    assert run.path == "bmm" and sorted(seen) == [(0, 1), (0, 2), (1, 1), (1, 2)]
    stop = threading.Event()
    batches: list[int] = []

    def on_batch(epoch: int, batch: int, n: int) -> None:
        batches.append(batch)
        if batch == 2:
            stop.set()

    with pytest.raises(Cancelled, match="epoch 1 \\(batch 3 of"):
        fit_folds(lambda: _mlp(), sets, cfg, output_kind=OutputKind.LOGIT, on_batch_end=on_batch, cancel=stop)
    assert batches == [1, 2]


def test_dropout_folds_agree_with_sequential_in_distribution() -> None:
    """With Dropout the masks differ, so compare held-out accuracy over repeats (seeds)."""
    data = make_dataset(n=160, seed=1, shift=1.0)
    builder = lambda: nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 1))  # noqa: E731
    acc = {True: [], False: []}
    for repeat in range(4):
        splits = fold_indices(data.y, 4, repeat)
        sets = [data.subset(tr) for tr, _ in splits]
        cfg = TrainConfig(epochs=5, batch_size=16, lr=0.02, device="cpu", val_fraction=0.0, seed=10 * repeat)
        for mode in (True, False):
            run = fit_folds(builder, sets, cfg, output_kind=OutputKind.LOGIT, stacked=mode)
            for module, res, (_, te) in zip(run.modules, run.results, splits):
                X = torch.as_tensor(res.preprocessing.transform(data.X[te]))
                module.eval()
                with torch.no_grad():
                    pred = (module(X).reshape(-1) > 0).numpy().astype(int)
                acc[mode].append(float((pred == data.y[te]).mean()))
    a, b = np.array(acc[True]), np.array(acc[False])
    assert a.mean() > 0.7 and b.mean() > 0.7  # both really learned
    assert abs(a.mean() - b.mean()) < 0.05
    assert stats.mannwhitneyu(a, b).pvalue > 0.05


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_stacked_on_cuda_equals_sequential_on_cuda() -> None:
    _, sets = _folds(n=125, k=3)
    cfg = TrainConfig(epochs=3, batch_size=16, lr=0.01, device="cuda", val_fraction=0.2)
    stacked, seq = _both(lambda: _mlp(), sets, cfg, OutputKind.LOGIT)
    assert stacked.path == "bmm"
    for ms, mq in zip(stacked.modules, seq.modules):
        for p, q in zip(ms.parameters(), mq.parameters()):
            assert p.device.type == "cuda"
            torch.testing.assert_close(p, q, atol=1e-4, rtol=1e-4)


def test_cross_validate_stacked_gives_the_sequential_folds_and_events_in_order() -> None:
    from evalstudio.core.training.callbacks import Callback
    from evalstudio.core.training.kfold import cross_validate

    class Events(Callback):
        def __init__(self) -> None:
            self.seen: list[str] = []

        def on_fold_start(self, fold: int, k: int) -> None:
            self.seen.append(f"start{fold}")

        def on_epoch_end(self, metrics) -> None:
            self.seen.append(f"e{metrics.epoch}")

        def on_fold_end(self, result) -> None:
            self.seen.append(f"end{result.fold}")

    data = make_dataset(n=90)
    cfg = TrainConfig(epochs=2, batch_size=8, lr=0.02, device="cpu")
    events = Events()
    together = cross_validate(lambda: _mlp(), data, cfg, output_kind=OutputKind.LOGIT, k=3, stacked="auto",
                              callbacks=[events])
    apart = cross_validate(lambda: _mlp(), data, cfg, output_kind=OutputKind.LOGIT, k=3)
    assert together.config["fold_training"] == "stacked (bmm)" and apart.config["fold_training"] == "sequential"
    assert events.seen == [e for f in (1, 2, 3) for e in (f"start{f}", "e1", "e2", f"end{f}")]
    for a, b in zip(together.folds, apart.folds):
        np.testing.assert_array_equal(a.test_index, b.test_index)
        np.testing.assert_allclose(a.predictions.y_score, b.predictions.y_score, atol=1e-4)
    bn = cross_validate(lambda: nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Linear(4, 1)), data, cfg,
                        output_kind=OutputKind.LOGIT, k=3, stacked="auto")
    assert bn.config["fold_training"].startswith("sequential (") and "BatchNorm" in bn.config["fold_training"]
