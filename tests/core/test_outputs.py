"""Outputs read as probabilities must be probabilities; a double sigmoid is flagged."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from evalstudio.core.errors import ModelError
from evalstudio.core.models.outputs import OutputKind, check_scores, output_notes, to_probabilities


def probs(raw: list[list[float]], kind: OutputKind) -> np.ndarray:
    return to_probabilities(torch.tensor(raw), kind).numpy()


def test_real_probabilities_pass() -> None:
    check_scores(probs([[0.0], [1.0], [0.3]], OutputKind.PROBABILITY), OutputKind.PROBABILITY)
    check_scores(probs([[0.2, 0.8], [1.0, 0.0]], OutputKind.PROBABILITIES), OutputKind.PROBABILITIES)
    check_scores(probs([[-40.0], [7.0]], OutputKind.LOGIT), OutputKind.LOGIT)


def test_logits_declared_as_one_probability_column_are_refused() -> None:
    with pytest.raises(ModelError) as exc:
        check_scores(probs([[-2.5], [0.4], [3.0]], OutputKind.PROBABILITY), OutputKind.PROBABILITY)
    assert str(exc.value) == (
        "the model's outputs were read as probabilities, but they range from -2.5 to 3, outside [0, 1]. "
        "They look like logits: use --outputs logits (or auto) so evalstudio applies sigmoid."
    )


def test_logits_declared_as_class_probabilities_are_refused() -> None:
    scores = probs([[0.5, 0.5], [2.0, 1.5]], OutputKind.PROBABILITIES)
    with pytest.raises(ModelError) as exc:
        check_scores(scores, OutputKind.PROBABILITIES, np.array([4, 9]))
    assert str(exc.value) == (
        "the model's outputs were read as probabilities, but they do not sum to 1 in 1 rows (row 9 sums to 3.5). "
        "They look like logits: use --outputs logits (or auto) so evalstudio applies softmax."
    )


def test_probabilities_read_as_logits_are_flagged() -> None:
    # Raw outputs already in [0, 1] (sigmoid inside forward()) read as logits.
    squeezed = probs([[0.0], [0.2], [1.0]], OutputKind.LOGIT)
    assert squeezed[:, 1].min() == pytest.approx(0.5) and squeezed[:, 1].max() == pytest.approx(0.7310586)
    (note,) = output_notes(np.array([[0.0], [0.2], [1.0]]), OutputKind.LOGIT)
    assert note.startswith("warning: every raw output lies in [0, 1]") and "--outputs probabilities" in note
    assert output_notes(np.array([[-0.1], [0.2]]), OutputKind.LOGIT) == []
    assert output_notes(np.array([[0.0], [0.2]]), OutputKind.PROBABILITY) == []
    # Rows that are distributions already (softmax inside forward()) read as logits.
    (note,) = output_notes(np.array([[0.2, 0.8], [1.0, 0.0], [0.5, 0.5]]), OutputKind.LOGITS)
    assert note.startswith("warning: every row of raw outputs already sums to 1")
    assert output_notes(np.array([[0.2, 0.7], [1.0, 0.0]]), OutputKind.LOGITS) == []
    assert output_notes(np.array([[0.2, 0.8]]), OutputKind.PROBABILITIES) == []
