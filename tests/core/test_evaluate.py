"""Honest evaluation: eval mode under inference mode, modes restored, and the train-mode audit."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn
from sklearn.metrics import accuracy_score

from evalstudio.core.evaluation.predict import mode_audit, predict_scores
from evalstudio.core.models.forward import eval_mode
from evalstudio.core.models.outputs import OutputKind


def data(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    return X, (X[:, 0] + 0.5 * rng.normal(size=n) > 0).astype(np.int64)


def net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 1))


def test_scores_come_from_eval_mode_and_the_modes_are_restored() -> None:
    X, _ = data()
    model = net().train()
    model[3].eval()  # a mixed state must come back exactly as it was
    before = [m.training for m in model.modules()]
    scores = predict_scores(model, X, OutputKind.LOGIT)
    assert [m.training for m in model.modules()] == before
    with torch.no_grad():
        model.eval()
        expected = torch.sigmoid(model(torch.from_numpy(X))).numpy().ravel()
    np.testing.assert_allclose(scores[:, 1], expected, rtol=1e-6)
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(predict_scores(model, X, OutputKind.LOGIT, batch_size=7), scores, rtol=1e-5)


def test_eval_mode_restores_after_an_error() -> None:
    model = net().train()
    with pytest.raises(RuntimeError), eval_mode(model):
        assert not model.training
        raise RuntimeError("boom")
    assert all(m.training for m in model.modules())


@pytest.mark.parametrize(("threshold", "positive"), [(0.5, 1), (0.3, 1), (0.3, 0)])
def test_mode_audit_matches_the_report_rule_and_leaves_the_model_alone(threshold: float, positive: int) -> None:
    X, y = data()
    model = net()
    model.train()
    with torch.no_grad():  # give BatchNorm running statistics that differ from a batch's
        model(torch.from_numpy(X) * 3 + 1)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.random.get_rng_state()
    audit = mode_audit(model, X, y, OutputKind.LOGIT, n_passes=4, threshold=threshold, positive=positive)
    p = predict_scores(model, X, OutputKind.LOGIT)[:, positive]
    y_pred = np.where(p >= np.float32(threshold), positive, 1 - positive)
    assert audit.eval_accuracy == pytest.approx(accuracy_score(y, y_pred), abs=1e-6)
    assert audit.train_mode_accuracies.shape == (4,)
    assert audit.max_abs_score_diff > 0 and audit.mean_abs_score_diff > 0  # Dropout and batch statistics act
    assert audit.spread == pytest.approx(audit.train_mode_accuracies.max() - audit.train_mode_accuracies.min())
    assert audit.stochastic_layers == ("1: BatchNorm1d", "3: Dropout")
    for k, v in model.state_dict().items():  # running statistics untouched, batch count too
        assert torch.equal(v, state[k]), k
    assert all(m.training for m in model.modules())
    assert torch.equal(torch.random.get_rng_state(), rng)


def test_a_model_without_stochastic_layers_audits_to_no_spread() -> None:
    X, y = data()
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=1))
    audit = mode_audit(model, X, y, OutputKind.PROBABILITIES, n_passes=3)
    assert audit.spread == 0.0 and audit.max_abs_score_diff == 0.0 and audit.stochastic_layers == ()
    pred = predict_scores(model, X, OutputKind.PROBABILITIES).argmax(1)
    assert audit.eval_accuracy == pytest.approx(accuracy_score(y, pred), abs=1e-6)
