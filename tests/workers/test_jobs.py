"""The app's real jobs through the runner: data, model, training (ordered events, cancel), devices."""

from __future__ import annotations

import pytest

from evalstudio.resources import resource_path
import numpy as np

from evalstudio.workers.jobs import (
    DevicesJob,
    EvaluateJob,
    LoadDataJob,
    LoadModelJob,
    ModelInfo,
    TrainJob,
    audit_rows,
)
from tests.workers.conftest import Recorder

CSV = str(resource_path("demo", "pima-indians-diabetes.csv"))
MODEL = str(resource_path("demo", "pima_model.py"))


def run(qtbot, runner, job, timeout=60000):
    sink = Recorder(runner)
    with qtbot.waitSignal(runner.job_finished, timeout=timeout):
        assert runner.start(job)
    return sink.events


@pytest.fixture
def demo(qtbot, runner):
    (kind, data), = run(qtbot, runner, LoadDataJob(CSV))
    assert kind == "succeeded"
    (kind, model), = run(qtbot, runner, LoadModelJob(MODEL, None, n_features=data.n_features, n_classes=data.n_classes))
    assert kind == "succeeded" and isinstance(model, ModelInfo)
    return data, model


def test_model_info_describes_the_model_in_words(demo):
    _, model = demo
    assert model.has_builder
    assert model.headline == "PimaClassifier (python: build_model(n_features=8)) · 221 parameters"
    assert "none (no Dropout or BatchNorm)" in model.report_text
    assert "initial (untrained) weights" in model.report_text


def test_training_reports_each_epoch_in_order_then_succeeds(qtbot, runner, demo, tmp_path):
    data, model = demo
    job = TrainJob(data, model, {"epochs": 3, "batch_size": 32, "device": "cpu", "folds": 5}, str(tmp_path))
    with qtbot.waitSignals([runner.reported, runner.reported, runner.reported, runner.succeeded],
                           order="strict", timeout=60000):
        runner.start(job)
    qtbot.waitUntil(lambda: not runner.busy, timeout=10000)
    assert (tmp_path / "last.pt").exists()


def test_training_cancel_stops_within_the_run(qtbot, runner, demo, tmp_path):
    data, model = demo
    sink = Recorder(runner)
    job = TrainJob(data, model, {"epochs": 10000, "batch_size": 4, "device": "cpu"}, str(tmp_path))
    with qtbot.waitSignal(runner.job_finished, timeout=60000):
        runner.start(job)
        qtbot.waitUntil(lambda: any(k == "epoch" for k, _ in sink.events), timeout=30000)
        runner.cancel()
    kinds = [k for k, _ in sink.events]
    assert kinds[-1] == "cancelled" and kinds.count("epoch") < 10000


def test_a_missing_csv_fails_with_the_loaders_message(qtbot, runner, tmp_path):
    events = run(qtbot, runner, LoadDataJob(str(tmp_path / "nope.csv")))
    assert len(events) == 1 and events[0][0] == "failed"
    assert "nope.csv" in str(events[0][1]) and "Traceback" not in str(events[0][1])


def test_devices_always_include_the_cpu(qtbot, runner):
    (kind, devices), = run(qtbot, runner, DevicesJob(warm_up=False))
    assert kind == "succeeded"
    assert devices.devices[0] == ("cpu", "CPU")


def test_audit_rows_are_all_rows_or_a_seeded_sorted_sample():
    assert audit_rows(5, 10).tolist() == [0, 1, 2, 3, 4]
    rows = audit_rows(1_000_000)
    assert rows.shape == (50_000,) and np.all(np.diff(rows) > 0) and rows[-1] < 1_000_000
    assert np.array_equal(rows, audit_rows(1_000_000))  # the same rows every time


def test_evaluate_scores_every_row_and_audits_a_capped_sample(qtbot, runner, demo):
    data, model = demo
    (kind, outcome), = run(qtbot, runner, EvaluateJob(data, model, audit_max_rows=300))
    assert kind == "succeeded"
    assert outcome.predictions.n_samples == 768  # the evaluation itself covers every row
    audit = outcome.audit
    assert audit.train_mode_accuracies.shape == (10,)
    # The audit's eval-mode accuracy is the accuracy of these very predictions on the sampled rows.
    rows = audit_rows(768, 300)
    predicted = outcome.predictions.y_score.argmax(axis=1)
    assert audit.eval_accuracy == pytest.approx(float(np.mean(predicted[rows] == data.y[rows])), abs=1e-6)
    assert audit.eval_accuracy != pytest.approx(float(np.mean(predicted == data.y)), abs=1e-6)
    assert outcome.notes[-1] == ("train vs eval mode audit: 10 passes on a random 300 of the 768 rows (seed 0); "
                                 "the evaluation itself covers every row")
    # Below the cap, every row is audited and nothing is said about it.
    (kind, full), = run(qtbot, runner, EvaluateJob(data, model))
    assert full.audit.eval_accuracy == pytest.approx(float(np.mean(predicted == data.y)), abs=1e-6)
    assert not any("audit" in n for n in full.notes)


CKPT = str(resource_path("demo", "pima_checkpoint.pt"))
HOLDOUT = str(resource_path("demo", "pima-holdout.csv"))


def test_load_model_names_the_csv_columns_when_the_checkpoint_was_trained_on_another_width(qtbot, runner, tmp_path):
    import torch

    names = ("a", "b", "c", "d", "e", "f", "g")  # the demo checkpoint was trained on 8 columns
    # Its weights alone (no column encoding to build the model from): the width is the data's.
    plain = tmp_path / "weights.pt"
    torch.save(torch.load(CKPT, weights_only=True)["model_state_dict"], plain)
    (kind, message), = run(qtbot, runner, LoadModelJob(MODEL, str(plain), n_features=7, n_classes=2,
                                                       feature_names=names))
    assert kind == "failed"
    assert "the checkpoint expects 8 features" in message
    assert "the CSV has 7 (columns: a, b, c, d, e, f, g)" in message


def test_the_mode_audit_follows_the_reports_threshold_and_positive_class(qtbot, runner, demo):
    data, _ = demo
    (kind, model), = run(qtbot, runner, LoadModelJob(MODEL, CKPT, n_features=8, n_classes=2,
                                                     feature_names=data.feature_names))
    assert kind == "succeeded"
    (kind, out), = run(qtbot, runner, EvaluateJob(data, model, threshold=0.7, positive_class="0", mode_audit_passes=2))
    assert kind == "succeeded"
    assert out.report.threshold == 0.7 and out.positive == 0
    from sklearn.metrics import accuracy_score

    scored = out.dataset  # the rows that did not train the demo checkpoint
    assert out.leakage is not None and scored.n_samples == out.leakage.scored < data.n_samples
    p0 = out.predictions.y_score[:, 0]
    y_pred = np.where(p0 >= np.float32(0.7), 0, 1)
    assert out.report.metrics["accuracy"] == pytest.approx(accuracy_score(scored.y, y_pred))
    # The audit's eval-mode accuracy is the report's accuracy (P(0) >= 0.7), not the argmax one.
    assert out.audit.eval_accuracy == pytest.approx(out.report.metrics["accuracy"], abs=1e-6)
    argmax_acc = accuracy_score(scored.y, out.predictions.y_score.argmax(1))
    assert out.audit.eval_accuracy != pytest.approx(argmax_acc, abs=1e-6)


def _with_checkpoint(qtbot, runner, data):
    (kind, model), = run(qtbot, runner, LoadModelJob(MODEL, CKPT, n_features=8, n_classes=2,
                                                     feature_names=data.feature_names))
    assert kind == "succeeded"
    return model


def test_evaluate_leaves_out_the_training_rows_unless_asked_or_scores_the_file_it_is_given(qtbot, runner, demo):
    data, _ = demo  # the full demo CSV; the demo checkpoint records the 614 rows that trained it
    model = _with_checkpoint(qtbot, runner, data)
    (kind, out), = run(qtbot, runner, EvaluateJob(data, model, mode_audit_passes=0))
    assert kind == "succeeded"
    assert (out.leakage.training_rows, out.predictions.n_samples) == (614, 154)
    (kind, out), = run(qtbot, runner, EvaluateJob(data, model, mode_audit_passes=0, include_training_rows=True))
    assert kind == "succeeded"
    assert out.predictions.n_samples == 768 and out.leakage.optimistic
    (kind, out), = run(qtbot, runner, EvaluateJob(data, model, data_path=HOLDOUT, mode_audit_passes=0))
    assert kind == "succeeded"
    assert out.predictions.n_samples == 154 and out.dataset.source.endswith("pima-holdout.csv")
    assert out.leakage.training_rows == 0


def test_evaluate_on_training_rows_only_fails_with_the_windows_words(qtbot, runner, demo, tmp_path):
    data, _ = demo
    model = _with_checkpoint(qtbot, runner, data)
    import pandas as pd

    full, held = pd.read_csv(CSV), pd.read_csv(HOLDOUT)
    seen = set(map(tuple, held.to_numpy().tolist()))
    train_only = tmp_path / "train-only.csv"
    full[[tuple(r) not in seen for r in full.to_numpy().tolist()]].to_csv(train_only, index=False)
    (kind, message), = run(qtbot, runner, EvaluateJob(data, model, data_path=str(train_only), mode_audit_passes=0))
    assert kind == "failed"
    assert message.startswith("all 614 rows of train-only.csv trained this checkpoint")
    assert "tick \u201cinclude the rows this model was trained on (optimistic)\u201d under Evaluate" in message
    assert "--include-training-rows" not in message


def test_load_model_builds_for_the_checkpoints_encoding_whatever_the_data(qtbot, runner):
    """An evalstudio checkpoint's column encoding fixes the inputs: the model is built for its width."""
    (kind, info), = run(qtbot, runner, LoadModelJob(MODEL, CKPT, n_features=7, n_classes=2,
                                                    feature_names=("a", "b", "c", "d", "e", "f", "g")))
    assert kind == "succeeded"
    assert info.loaded.module.hidden1.in_features == 8
