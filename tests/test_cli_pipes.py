"""A reader that goes away early (``evalstudio ... | head -1``) does not stop the run or make it fail."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from evalstudio.resources import resource_path


def test_closing_stdout_early_still_writes_every_output(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    preds = tmp_path / "predictions.csv"
    proc = subprocess.Popen(
        [sys.executable, "-m", "evalstudio.cli", "evaluate", "--model", str(resource_path("demo", "pima_model.py")),
         "--checkpoint", str(resource_path("demo", "pima_checkpoint.pt")),
         "--data", str(resource_path("demo", "pima-indians-diabetes.csv")),
         "--json", str(out), "--predictions", str(preds), "--no-intervals"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # as `| head -1` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 0, err
    assert first.strip()
    assert "BrokenPipe" not in err and "Broken pipe" not in err and "Exception ignored" not in err
    assert out.stat().st_size > 0 and preds.read_text().count("\n") == 155  # header + the 154 held-out rows
