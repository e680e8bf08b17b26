"""The temperature section of the checkpoint format, and calibrated checkpoints from any input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from evalstudio.core.errors import CheckpointError
from evalstudio.core.evaluation.calibrate import calibrate_checkpoint
from evalstudio.core.evaluation.pipeline import EvaluationSpec, checkpoint_temperature, run_evaluation
from evalstudio.core.models.checkpoint_format import (
    SECTIONS,
    derive_payload,
    make_payload,
    read_temperature,
    save_checkpoint,
    temperature_section,
)
from evalstudio.core.models.loading import load_checkpoint
from evalstudio.resources import resource_path

DEMO = resource_path("demo")


def test_temperature_is_a_registered_section_and_round_trips(tmp_path: Path) -> None:
    assert "temperature" in SECTIONS
    section = temperature_section(1.7, n_samples=40, fitted_on="cal.csv", nll_before=0.6, nll_after=0.5)
    payload = make_payload(model_state_dict={"w": torch.ones(2)}, classes=["a", "b"], temperature=section)
    path = save_checkpoint(tmp_path / "t.pt", payload)
    back = torch.load(path, weights_only=True)  # plain data
    assert read_temperature(back) == section
    assert read_temperature({"format": "evalstudio-checkpoint"}) is None
    for bad in ({"value": 0.0}, {"value": float("nan")}, {"value": "2"}, {"value": True}, 3.0):
        with pytest.raises(CheckpointError, match="temperature"):
            read_temperature({"temperature": bad})


def test_derive_payload_keeps_every_field_and_section_and_drops_strangers() -> None:
    source = make_payload(model_state_dict={"w": torch.zeros(3)}, optimizer_state_dict={}, epoch=4, history=[],
                          rng_state={}, preprocessing=None, classes=["x", "y"], feature_names=["f"], target="t",
                          config={"lr": 0.1}, best_epoch=3,
                          temperature=temperature_section(2.0, n_samples=9, fitted_on="a", nll_before=1, nll_after=0.9))
    source["format_version"] = 1  # an older writer
    source["someone_elses_key"] = 5
    new = derive_payload(source, temperature=temperature_section(1.2, n_samples=9, fitted_on="b", nll_before=1,
                                                                 nll_after=0.8))
    assert new["format_version"] == 2 and "someone_elses_key" not in new
    assert new["epoch"] == 4 and new["config"] == {"lr": 0.1} and new["best_epoch"] == 3
    assert new["temperature"]["value"] == 1.2 and source["temperature"]["value"] == 2.0
    with pytest.raises(ValueError, match="not fields"):
        derive_payload(source, not_a_field=1)


def test_a_plain_state_dict_becomes_a_calibrated_evalstudio_checkpoint(tmp_path: Path) -> None:
    """Weights saved by someone's own script (no evalstudio format): the written checkpoint carries the
    weights, the data's classes and T, and evaluating it applies T; someone else's dict with a
    'temperature' key is not read as one."""
    evalstudio_ckpt = torch.load(DEMO / "pima_checkpoint.pt", weights_only=True)
    plain = tmp_path / "plain.pt"
    torch.save({"state_dict": evalstudio_ckpt["model_state_dict"], "temperature": 99.0}, plain)
    assert checkpoint_temperature(load_checkpoint(plain)) is None
    spec = EvaluationSpec(data_path=str(DEMO / "pima-indians-diabetes.csv"), model_path=str(DEMO / "pima_model.py"),
                          checkpoint_path=str(plain), device="cpu")
    run = calibrate_checkpoint(spec, tmp_path / "cal.pt")
    written = torch.load(tmp_path / "cal.pt", weights_only=True)
    assert written["classes"] == ["0", "1"] and written["temperature"]["n_samples"] == 768
    assert written["temperature"]["fitted_on"] == "pima-indians-diabetes.csv"
    out = run_evaluation(EvaluationSpec(data_path=spec.data_path, model_path=spec.model_path,
                                        checkpoint_path=str(tmp_path / "cal.pt"), device="cpu"))
    assert out.temperature is not None and out.temperature["value"] == pytest.approx(run.fit.temperature)
    assert out.uncalibrated is not None
    np.testing.assert_allclose(out.predictions.y_score, run.calibrated.y_score, atol=1e-12)
    assert out.report.metrics["log_loss"] == pytest.approx(run.after["log_loss"], abs=1e-12)
    assert any("temperature" in n and "applied" in n for n in out.notes)
