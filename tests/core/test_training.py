"""The training loop: losses per output kind, honest metrics, determinism, resume, NaN, cancel, events."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn as nn

from evalstudio.core.training.callbacks import Callback, RunInfo
from evalstudio.core.models.checkpoint_format import read_checkpoint
from evalstudio.core.errors import Cancelled, DataError, ModelError, TrainingError
from evalstudio.core.evaluation.predict import predict_scores
from evalstudio.core.models.outputs import OutputKind
from evalstudio.core.training.config import TrainConfig
from evalstudio.core.training.loop import batch_bounds, fit, resume_config, seeded, split_validation

from _train_helpers import make_dataset, make_model, one_thread  # noqa: F401 (autouse fixture)

CFG = TrainConfig(epochs=4, batch_size=16, lr=0.01, seed=3, device="cpu", val_fraction=0.25)


def without_time(history: Any) -> list[dict[str, Any]]:
    return [{k: v for k, v in h.to_dict().items() if k != "seconds"} for h in history]


class Recorder(Callback):
    def __init__(self, cancel_at: tuple[int, int] | None = None, event: threading.Event | None = None) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.cancel_at, self.event = cancel_at, event

    def on_train_start(self, info: RunInfo) -> None:
        self.events.append(("train_start", info.start_epoch, info.n_batches))

    def on_batch_end(self, epoch: int, batch: int, n_batches: int) -> None:
        self.events.append(("batch", epoch, batch))
        if self.cancel_at == (epoch, batch) and self.event is not None:
            self.event.set()

    def on_epoch_end(self, metrics: Any) -> None:
        self.events.append(("epoch", metrics.epoch))

    def on_checkpoint_saved(self, path: str, kind: str) -> None:
        self.events.append(("saved", kind))

    def on_train_end(self, result: Any) -> None:
        self.events.append(("train_end", len(result.history)))


@pytest.mark.parametrize(
    ("kind", "out", "sigmoid", "n_classes"),
    [(OutputKind.LOGIT, 1, False, 2), (OutputKind.PROBABILITY, 1, True, 2), (OutputKind.LOGITS, 3, False, 3)],
)
def test_loss_follows_the_output_kind_and_learns(kind: OutputKind, out: int, sigmoid: bool, n_classes: int) -> None:
    data = make_dataset(n=150, n_classes=n_classes)
    model = seeded(lambda: make_model(out=out, sigmoid=sigmoid, dropout=0.0), 0)
    res = fit(model, data, replace(CFG, epochs=15), output_kind=kind)
    h = res.history
    assert len(h) == 15 and h[-1].train_loss < h[0].train_loss
    assert h[-1].val_accuracy is not None and h[-1].val_accuracy > 0.8
    assert res.output_kind == kind.value


def test_probabilities_output_uses_nll_on_log() -> None:
    data = make_dataset(n=90, n_classes=3)
    model = seeded(lambda: nn.Sequential(make_model(out=3, dropout=0.0), nn.Softmax(dim=1)), 0)
    res = fit(model, data, replace(CFG, epochs=10), output_kind=OutputKind.PROBABILITIES)
    assert res.history[-1].train_loss < res.history[0].train_loss


def test_labels_are_checked_against_the_loss() -> None:
    data = make_dataset(n_classes=3)
    with pytest.raises(TrainingError, match=r"one output column \(logit\), which fits two classes.*3 classes"):
        fit(make_model(out=1), data, CFG, output_kind=OutputKind.LOGIT)
    with pytest.raises(ModelError, match=r"output has shape \(2, 2\) but 3 column\(s\)"):
        fit(make_model(out=2), data, CFG, output_kind=OutputKind.LOGITS)


def test_honest_train_accuracy_and_scaler_fitted_on_training_rows_only() -> None:
    data = make_dataset(n=100)
    model = seeded(lambda: make_model(dropout=0.5), 1)
    res = fit(model, data, CFG, output_kind=OutputKind.LOGIT)
    tr, va = split_validation(data, CFG.val_fraction, CFG.seed)
    assert len(set(tr) & set(va)) == 0 and len(tr) + len(va) == data.n_samples
    np.testing.assert_allclose(res.preprocessing.mean, data.X[tr].astype(np.float64).mean(axis=0), rtol=1e-12)
    assert not np.allclose(res.preprocessing.mean, data.X.astype(np.float64).mean(axis=0), rtol=1e-6)
    # train_accuracy is measured in eval mode on the training rows after the epoch.
    scores = predict_scores(model, res.preprocessing.transform(data.X[tr]), OutputKind.LOGIT)
    assert res.history[-1].train_accuracy == pytest.approx(float((scores.argmax(1) == data.y[tr]).mean()))
    # The validation predictions are those of the best epoch and cover exactly the held-out rows.
    assert res.val_predictions is not None
    np.testing.assert_array_equal(res.val_predictions.row_numbers, data.row_numbers[va])


def test_same_seed_same_history_other_seed_other_history() -> None:
    data = make_dataset()
    runs = [fit(seeded(make_model, s), data, replace(CFG, seed=s), output_kind=OutputKind.LOGIT) for s in (5, 5, 6)]
    assert without_time(runs[0].history) == without_time(runs[1].history)
    assert without_time(runs[0].history) != without_time(runs[2].history)


@pytest.mark.parametrize("schedule", ["step", "plateau"])
def test_resume_equals_an_uninterrupted_run(tmp_path: Any, schedule: str) -> None:
    data = make_dataset()
    cfg = replace(CFG, epochs=6, lr_schedule=schedule, lr_step_size=2, lr_gamma=0.5, plateau_patience=0,
                  optimizer="adam", weight_decay=1e-3)
    full_model = seeded(make_model, 0)
    full = fit(full_model, data, cfg, output_kind=OutputKind.LOGIT, out_dir=tmp_path / "full")

    part_model = seeded(make_model, 0)
    fit(part_model, data, replace(cfg, epochs=3), output_kind=OutputKind.LOGIT, out_dir=tmp_path / "part")
    torch.manual_seed(12345)  # disturb the global RNG: resume must restore it
    ckpt = read_checkpoint(tmp_path / "part" / "last.pt")
    assert ckpt["epoch"] == 3
    resumed_model = make_model()  # fresh weights, overwritten from the checkpoint
    resumed = fit(resumed_model, data, resume_config(ckpt, epochs=6), output_kind=OutputKind.LOGIT,
                  out_dir=tmp_path / "part", resume=ckpt)

    assert without_time(resumed.history) == without_time(full.history)
    for a, b in zip(full_model.state_dict().values(), resumed_model.state_dict().values()):
        assert torch.equal(a, b)
    if schedule == "step":
        assert [h.lr for h in full.history] == [0.01, 0.01, 0.005, 0.005, 0.0025, 0.0025]
    assert resumed.best_epoch == full.best_epoch and resumed.best_score == full.best_score


def test_resume_past_the_end_is_refused(tmp_path: Any) -> None:
    data = make_dataset(n=60)
    fit(make_model(), data, replace(CFG, epochs=2), output_kind=OutputKind.LOGIT, out_dir=tmp_path)
    ckpt = read_checkpoint(tmp_path / "last.pt")
    with pytest.raises(TrainingError, match=r"already finished epoch 2, and --epochs is 2.*give more than 2"):
        fit(make_model(), data, resume_config(ckpt), output_kind=OutputKind.LOGIT, resume=ckpt)


def test_checkpoints_best_last_periodic_and_their_contents(tmp_path: Any) -> None:
    data = make_dataset()
    rec = Recorder()
    res = fit(seeded(make_model, 0), data, replace(CFG, epochs=4, checkpoint_every=2), output_kind=OutputKind.LOGIT,
              out_dir=tmp_path, callbacks=[rec])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt", "epoch_0002.pt", "epoch_0004.pt", "last.pt"]
    raw = torch.load(tmp_path / "last.pt", weights_only=True)
    for key in ("format", "evalstudio_version", "model_state_dict", "optimizer_state_dict", "scheduler_state_dict",
                "epoch", "history", "rng_state", "preprocessing", "classes", "feature_names", "target", "config",
                "output_kind", "best_score"):
        assert key in raw, key
    assert raw["format"] == "evalstudio-checkpoint" and raw["epoch"] == 4 and len(raw["history"]) == 4
    assert raw["classes"] == ["c0", "c1"] and raw["target"] == "label" and raw["output_kind"] == "logit"
    assert raw["config"]["batch_size"] == 16 and raw["preprocessing"]["type"] == "standardize"
    best = torch.load(tmp_path / "best.pt", weights_only=True)
    assert best["epoch"] == res.best_epoch and best["best_score"] == res.best_score
    scores = [h.val_loss for h in res.history]
    assert res.best_score == min(scores) and res.history[res.best_epoch - 1].val_loss == min(scores)
    assert res.last_checkpoint == str(tmp_path / "last.pt") and res.best_checkpoint == str(tmp_path / "best.pt")
    assert ("saved", "periodic") in rec.events


def test_event_order() -> None:
    data = make_dataset(n=40)
    rec = Recorder()
    fit(make_model(), data, replace(CFG, epochs=2, batch_size=15, val_fraction=0.25), output_kind=OutputKind.LOGIT,
        callbacks=[rec])
    # 30 training rows in batches of 15 -> 2 batches per epoch.
    assert rec.events == [
        ("train_start", 1, 2), ("batch", 1, 1), ("batch", 1, 2), ("epoch", 1),
        ("batch", 2, 1), ("batch", 2, 2), ("epoch", 2), ("train_end", 2),
    ]


def test_cancel_between_batches_keeps_the_last_good_checkpoint(tmp_path: Any) -> None:
    data = make_dataset()
    event = threading.Event()
    rec = Recorder(cancel_at=(2, 2), event=event)
    with pytest.raises(Cancelled) as info:
        fit(make_model(), data, CFG, output_kind=OutputKind.LOGIT, out_dir=tmp_path, callbacks=[rec], cancel=event)
    # The batch after the one that set the flag never ran, and no epoch 2 was recorded or saved.
    assert rec.events[-1] == ("batch", 2, 2)
    assert len(info.value.history) == 1  # type: ignore[attr-defined]
    assert torch.load(tmp_path / "last.pt", weights_only=True)["epoch"] == 1


class NaNAt(nn.Module):
    """Outputs NaN from a given forward call on (counting training-mode calls only)."""

    def __init__(self, at_call: int) -> None:
        super().__init__()
        self.inner, self.calls, self.at_call = make_model(dropout=0.0), 0, at_call

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.inner(x)
        if self.training:
            self.calls += 1
            if self.calls >= self.at_call:
                return out * float("nan")
        return out


def test_nan_loss_names_epoch_and_batch_and_keeps_the_last_good_checkpoint(tmp_path: Any) -> None:
    data = make_dataset()  # 90 training rows, batches of 16 -> 6 per epoch
    with pytest.raises(TrainingError, match=r"loss became nan at epoch 2, batch 3 of 6.*Lower --lr"):
        fit(NaNAt(6 + 3), data, CFG, output_kind=OutputKind.LOGIT, out_dir=tmp_path)
    last = torch.load(tmp_path / "last.pt", weights_only=True)
    assert last["epoch"] == 1 and all(torch.isfinite(v).all() for v in last["model_state_dict"].values())
    assert torch.load(tmp_path / "best.pt", weights_only=True)["epoch"] == 1


def test_a_nan_validation_score_is_never_ranked_best(tmp_path: Any) -> None:
    class NaNInEval(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner, self.evals = make_model(dropout=0.0), 0

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = self.inner(x)
            if not self.training and x.shape[0] < 40:  # the validation pass, from epoch 2 on
                self.evals += 1
                if self.evals > 2:
                    return out * float("nan")
            return out

    res = fit(NaNInEval(), make_dataset(), replace(CFG, epochs=3), output_kind=OutputKind.LOGIT, out_dir=tmp_path)
    assert res.best_epoch == 1 and res.best_score is not None and np.isfinite(res.best_score)
    assert torch.load(tmp_path / "best.pt", weights_only=True)["epoch"] == 1


def test_no_validation_falls_back_to_the_honest_training_loss() -> None:
    res = fit(make_model(), make_dataset(n=60), replace(CFG, val_fraction=0.0, epochs=2), output_kind=OutputKind.LOGIT)
    assert res.monitor == "train_eval_loss" and res.val_predictions is None
    assert res.history[0].val_loss is None and "monitoring train_eval_loss" in res.notes[0]


def test_validation_data_must_match(tmp_path: Any) -> None:
    with pytest.raises(DataError, match="same columns and target classes"):
        fit(make_model(), make_dataset(), CFG, output_kind=OutputKind.LOGIT, val_data=make_dataset(n_classes=3))


def test_early_stopping_stops_the_run() -> None:
    res = fit(make_model(), make_dataset(), replace(CFG, epochs=50, lr=0.05, early_stopping=2, min_delta=10.0),
              output_kind=OutputKind.LOGIT)
    # With min_delta 10 nothing after epoch 1 can improve: stop after 1 + 2 epochs.
    assert len(res.history) == 3 and res.stopped_early and "patience 2" in res.stop_reason


def test_batches_never_leave_a_single_row() -> None:
    assert batch_bounds(33, 16) == [(0, 16), (16, 33)]
    assert batch_bounds(32, 16) == [(0, 16), (16, 32)]
    assert batch_bounds(1, 16) == [(0, 1)]


def test_bad_options_are_named() -> None:
    with pytest.raises(TrainingError, match=r"--batch-size is 0.*at least 1"):
        TrainConfig(batch_size=0)
    with pytest.raises(TrainingError, match=r"--optimizer is 'rmsprop'.*adam \| adamw \| sgd"):
        TrainConfig(optimizer="rmsprop")
    with pytest.raises(TrainingError, match=r"--val-fraction is 1.0"):
        TrainConfig(val_fraction=1.0)


def test_too_few_rows_for_a_stratified_split() -> None:
    data = make_dataset(n=6)
    with pytest.raises(DataError, match=r"cannot hold out a stratified 0.1 of 6 rows.*rows per class: c0: 3, c1: 3"):
        split_validation(data, 0.1, 0)


class OOMAt(nn.Module):
    """Raises torch's out-of-memory error on the given training forward call."""

    def __init__(self, at_call: int) -> None:
        super().__init__()
        self.inner, self.calls, self.at_call = make_model(dropout=0.0), 0, at_call

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.calls += 1
            if self.calls == self.at_call:
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.inner(x)


def test_out_of_memory_suggests_a_smaller_batch_and_the_process_goes_on(tmp_path: Any) -> None:
    data = make_dataset()
    model = OOMAt(2)
    with pytest.raises(TrainingError, match=r"ran out of memory on cpu with batch size 16 .*smaller --batch-size"):
        fit(model, data, CFG, output_kind=OutputKind.LOGIT)
    # Usable afterwards: the same model trains with a smaller batch.
    res = fit(model, data, replace(CFG, batch_size=8, epochs=1), output_kind=OutputKind.LOGIT)
    assert len(res.history) == 1


def test_other_runtime_errors_are_not_mistaken_for_out_of_memory() -> None:
    class Broken(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.ones(1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if self.training:
                raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")
            return x[:, :1]

    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        fit(Broken(), make_dataset(), CFG, output_kind=OutputKind.LOGIT)


def test_a_model_without_trainable_parameters_is_explained() -> None:
    frozen = make_model()
    for p in frozen.parameters():
        p.requires_grad_(False)
    with pytest.raises(TrainingError, match="no trainable parameters"):
        fit(frozen, make_dataset(n=40), CFG, output_kind=OutputKind.LOGIT)


def test_output_kind_is_inferred_when_not_given() -> None:
    assert fit(make_model(out=1), make_dataset(n=40), replace(CFG, epochs=1)).output_kind == "logit"
    assert fit(make_model(out=3), make_dataset(n=60, n_classes=3), replace(CFG, epochs=1)).output_kind == "logits"


def test_resume_on_other_data_is_refused(tmp_path: Any) -> None:
    fit(make_model(), make_dataset(n=60), replace(CFG, epochs=1), output_kind=OutputKind.LOGIT, out_dir=tmp_path)
    ckpt = read_checkpoint(tmp_path / "last.pt")
    with pytest.raises(TrainingError, match=r"data differ from the resumed run's: 75 training and 25 validation rows now, 45 and 15 then"):
        fit(make_model(), make_dataset(n=100), resume_config(ckpt, epochs=2), output_kind=OutputKind.LOGIT, resume=ckpt)


def test_a_model_of_the_wrong_width_is_a_model_error() -> None:
    with pytest.raises(ModelError, match=r"fails on a batch of 4 features: RuntimeError: .*one input per feature"):
        fit(make_model(d=5), make_dataset(n=40), CFG, output_kind=OutputKind.LOGIT)


def test_drop_last_keeps_only_full_batches() -> None:
    assert batch_bounds(33, 10, drop_last=True) == [(0, 10), (10, 20), (20, 30)]
    assert batch_bounds(30, 10, drop_last=True) == [(0, 10), (10, 20), (20, 30)]
    assert batch_bounds(7, 10, drop_last=True) == [(0, 7)]  # fewer rows than a batch: still one batch


def test_in_order_batches_reproduce_the_first_tutorials_loop() -> None:
    """shuffle=False, drop_last=True, raw features, no validation: the same weights as the
    tutorial's ``for i in range(len(X) // batch_size): X[i*bs:(i+1)*bs]`` loop with BCELoss."""
    data = make_dataset(n=53, shift=1.0)
    cfg = TrainConfig(epochs=3, batch_size=10, lr=1e-3, seed=5, device="cpu", val_fraction=0.0,
                      standardize=False, shuffle=False, drop_last=True)
    ours = seeded(lambda: make_model(sigmoid=True, dropout=0.0), 5)
    res = fit(ours, data, cfg, output_kind=OutputKind.PROBABILITY)
    assert len(res.history) == 3

    theirs = seeded(lambda: make_model(sigmoid=True, dropout=0.0), 5)
    X = torch.tensor(data.X, dtype=torch.float32)
    y = torch.tensor(data.y, dtype=torch.float32).reshape(-1, 1)
    loss_fn, opt = nn.BCELoss(), torch.optim.Adam(theirs.parameters(), lr=1e-3)
    losses = []
    for _ in range(3):
        for i in range(len(X) // 10):  # 5 batches; the last 3 rows are never trained on
            loss = loss_fn(theirs(X[i * 10:(i + 1) * 10]), y[i * 10:(i + 1) * 10])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    for a, b in zip(ours.state_dict().values(), theirs.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
    # train_loss is the mean over the batches actually trained on
    assert res.history[-1].train_loss == pytest.approx(np.mean(losses[-5:]), rel=1e-5)

    shuffled = seeded(lambda: make_model(sigmoid=True, dropout=0.0), 5)
    fit(shuffled, data, replace(cfg, shuffle=True), output_kind=OutputKind.PROBABILITY)
    assert not torch.equal(shuffled[0].weight, theirs[0].weight)


@pytest.mark.parametrize("gather_bytes", [32 << 20, 200])
def test_shuffled_batches_are_the_seeded_permutation_slices(monkeypatch: pytest.MonkeyPatch, gather_bytes: int) -> None:
    """fit gathers the permuted rows of many batches at once; the batches must still be exactly
    ``X[perm[lo:hi]]`` of the run's seeded permutation, so the weights equal a plain loop's.
    200 bytes forces a new gather every few batches (groups that end mid-epoch)."""
    import evalstudio.core.training.loop as training

    monkeypatch.setattr(training, "_GATHER_BYTES", gather_bytes)
    data = make_dataset(n=77, shift=1.0)
    cfg = TrainConfig(epochs=2, batch_size=8, lr=1e-2, seed=11, device="cpu", val_fraction=0.0,
                      standardize=False, shuffle=True)
    ours = seeded(lambda: make_model(dropout=0.0), 4)
    fit(ours, data, cfg, output_kind=OutputKind.LOGIT)

    theirs = seeded(lambda: make_model(dropout=0.0), 4)
    X, y = torch.tensor(data.X), torch.tensor(data.y, dtype=torch.float32)
    opt = torch.optim.Adam(theirs.parameters(), lr=1e-2)
    gen = torch.Generator()
    gen.manual_seed(11)
    for _ in range(2):
        perm = torch.randperm(77, generator=gen)
        for lo, hi in batch_bounds(77, 8):
            idx = perm[lo:hi]
            loss = nn.functional.binary_cross_entropy_with_logits(theirs(X[idx]).reshape(-1), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    for a, b in zip(ours.state_dict().values(), theirs.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def test_batch_groups_cover_the_batches_in_order() -> None:
    from evalstudio.core.training.splits import batch_groups

    bounds = batch_bounds(101, 10)
    for max_rows in (1, 10, 25, 1000):
        groups = batch_groups(bounds, max_rows)
        assert [b for _, _, members in groups for b in members] == bounds
        for g_lo, g_hi, members in groups:
            assert (g_lo, g_hi) == (members[0][0], members[-1][1])
            assert g_hi - g_lo <= max(max_rows, members[0][1] - members[0][0])


def test_an_interrupted_cosine_run_resumes_exactly(tmp_path: Any) -> None:
    """A 6-epoch run cancelled in epoch 4 and resumed equals the uninterrupted 6-epoch run."""
    data = make_dataset()
    cfg = replace(CFG, epochs=6, lr_schedule="cosine")
    full_model = seeded(make_model, 0)
    full = fit(full_model, data, cfg, output_kind=OutputKind.LOGIT)
    event = threading.Event()
    with pytest.raises(Cancelled):
        fit(seeded(make_model, 0), data, cfg, output_kind=OutputKind.LOGIT, out_dir=tmp_path,
            callbacks=[Recorder(cancel_at=(4, 1), event=event)], cancel=event)
    ckpt = read_checkpoint(tmp_path / "last.pt")
    assert ckpt["epoch"] == 3
    resumed_model = make_model()
    resumed = fit(resumed_model, data, resume_config(ckpt, epochs=6), output_kind=OutputKind.LOGIT, resume=ckpt)
    assert without_time(resumed.history) == without_time(full.history)
    for a, b in zip(full_model.state_dict().values(), resumed_model.state_dict().values()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("schedule", ["cosine", "step"])
def test_raising_the_total_on_resume_stretches_a_schedule_that_follows_it(tmp_path: Any, schedule: str) -> None:
    """A 3-epoch cosine ends at lr 0; resumed to 6 epochs it must not climb back up from there
    (found by hand: 0.001, 0.00075, 0.00025, then 0, 0.00025, 0.00075) but continue as a 6-epoch
    plan would. Step with its default step size (a third of the run) likewise."""
    data = make_dataset(n=60)
    cfg = replace(CFG, epochs=6, lr_schedule=schedule, lr=0.001)
    planned = [h.lr for h in fit(make_model(), data, cfg, output_kind=OutputKind.LOGIT).history]
    fit(make_model(), data, replace(cfg, epochs=3), output_kind=OutputKind.LOGIT, out_dir=tmp_path)
    ckpt = read_checkpoint(tmp_path / "last.pt")
    resumed = fit(make_model(), data, resume_config(ckpt, epochs=6), output_kind=OutputKind.LOGIT, resume=ckpt)
    assert [h.lr for h in resumed.history[3:]] == pytest.approx(planned[3:], rel=1e-9, abs=1e-15)
    assert any("now spans 6 epochs" in n for n in resumed.notes)


def test_a_resumed_run_reports_the_best_models_validation_even_when_it_predates_the_resume(tmp_path: Any) -> None:
    """The best epoch came before the resume and nothing after beat it: val_predictions must be
    best.pt's, not the last model's (they were the last model's, labelled "best model")."""
    data = make_dataset()
    fit(seeded(make_model, 0), data, replace(CFG, epochs=3), output_kind=OutputKind.LOGIT, out_dir=tmp_path)
    ckpt = read_checkpoint(tmp_path / "last.pt")
    best_file = read_checkpoint(tmp_path / "best.pt")
    ckpt["best_score"] = -1.0  # no later epoch can beat it
    res = fit(make_model(), data, resume_config(ckpt, epochs=5), output_kind=OutputKind.LOGIT, out_dir=tmp_path,
              resume=ckpt)
    assert res.best_epoch == best_file["epoch"] and len(res.history) == 5 and res.val_epoch == res.best_epoch
    assert res.val_predictions is not None
    best_model = make_model()
    best_model.load_state_dict(best_file["model_state_dict"])
    _, va = split_validation(data, CFG.val_fraction, CFG.seed)
    expected = predict_scores(best_model, res.preprocessing.transform(data.X[va]), OutputKind.LOGIT)
    np.testing.assert_allclose(res.val_predictions.y_score, expected, rtol=1e-5, atol=1e-6)

    # Resumed into another folder, best.pt is not at hand: the last model is scored, and said so.
    other = fit(make_model(), data, resume_config(ckpt, epochs=4), output_kind=OutputKind.LOGIT,
                out_dir=tmp_path / "elsewhere", resume=ckpt)
    assert other.val_epoch == 4 and other.best_epoch == best_file["epoch"]
    assert any("validation metrics are the last epoch's" in n for n in other.notes)
