"""``evalstudio --self-test``: prove that an installed (or frozen) evalstudio works, without a display.

The self-test runs the whole product path on the bundled Pima demo: it loads the CSV and the
demo model through the core, trains two epochs (checkpoints written to a temporary folder),
evaluates the trained checkpoint through :func:`evalstudio.core.evaluation.pipeline.run_evaluation` exactly
as the CLI and the GUI do, prints the metrics, and finally draws a pyqtgraph plot on Qt's
offscreen platform. In a PyInstaller build this catches what freezing breaks: a module or a
shared library left out, resources not found, Qt plugins missing.

It prints one line per step on stdout and exits 0; on the first failure it prints one line,
``self-test failed at <step>: <what went wrong>``, on stderr and exits 1 (never a traceback).
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evalstudio.core.evaluation.pipeline import EvaluationOutcome
    from evalstudio.core.training.results import TrainResult

DEMO_CSV = "pima-indians-diabetes.csv"
DEMO_MODEL = "pima_model.py"
DEMO_CHECKPOINT = "pima_checkpoint.pt"
EPOCHS = 2
SEED = 0
# The metrics printed, in this order (those the report lacks are skipped).
SHOWN_METRICS = (
    "accuracy", "balanced_accuracy", "precision", "recall", "f1", "specificity", "mcc",
    "roc_auc", "average_precision", "log_loss",
)


class SelfTestFailure(Exception):
    """A self-test step failed; ``str()`` is the one line shown to the user."""


@dataclass(frozen=True)
class SelfTestResult:
    """What a passing self-test produced.

    Attributes
    ----------
    train : TrainResult -- the two-epoch run on the demo data
    outcome : EvaluationOutcome -- the evaluation of that run's last checkpoint on the demo CSV
    bundled : EvaluationOutcome or None -- the evaluation of the shipped demo checkpoint, when present
    qt_checked : bool -- whether the offscreen Qt step ran
    seconds : float -- wall time of the whole self-test
    """

    train: "TrainResult"
    outcome: "EvaluationOutcome"
    bundled: "EvaluationOutcome | None"
    qt_checked: bool
    seconds: float


def _one_line(exc: BaseException) -> str:
    """``str(exc)`` on one line; the exception type is named unless it is one of ours."""
    from evalstudio.core.errors import EvalStudioError

    text = " ".join(str(exc).split()) or "(no message)"
    return text if isinstance(exc, EvalStudioError) else f"{type(exc).__name__}: {text}"


def _step(name: str, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except SelfTestFailure:
        raise
    except Exception as exc:  # any failure, including an ImportError in a frozen build, is reported
        raise SelfTestFailure(f"self-test failed at {name}: {_one_line(exc)}") from exc


def _format_metrics(metrics: dict[str, Any]) -> str:
    parts = []
    for key in SHOWN_METRICS:
        value = metrics.get(key)
        if isinstance(value, (int, float)) and value is not None:
            parts.append(f"{key}={value:.4f}")
    return " ".join(parts)


def _check_finite(name: str, metrics: dict[str, Any]) -> None:
    for key in ("accuracy", "roc_auc", "log_loss"):
        value = metrics.get(key)
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise SelfTestFailure(f"self-test failed at {name}: metric {key} is {value!r}, expected a finite number")


def _qt_check(out: Callable[[str], None], losses: Sequence[float]) -> bool:
    """Draw the loss curve with pyqtgraph offscreen and render it to an image.

    Returns False (and says so) when a QApplication already runs on a real display, so the
    self-test never pops up a window.
    """
    from PySide6.QtCore import QSize
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    created = app is None
    if app is None:
        app = QApplication(["evalstudio-self-test"])
    platform = QApplication.platformName()
    import pyqtgraph as pg

    widget = pg.PlotWidget()
    try:
        widget.resize(320, 200)
        widget.plot(list(range(1, len(losses) + 1)), list(losses), pen="b")
        image = widget.grab().toImage()
        if image.isNull() or image.width() < 10:
            raise SelfTestFailure("self-test failed at qt: the offscreen plot rendered an empty image")
        from evalstudio.resources import resource_path

        icon_file = resource_path("icons", "evalstudio.svg")
        if icon_file.is_file():
            pixmap = QIcon(str(icon_file)).pixmap(QSize(64, 64))
            if pixmap.isNull():
                raise SelfTestFailure(
                    f"self-test failed at qt: the icon {icon_file} did not render (Qt's SVG plugin is missing)"
                )
    finally:
        widget.close()
        widget.deleteLater()
        app.processEvents()
    out(f"qt: pyqtgraph drew {image.width()}x{image.height()} on the {platform!r} platform")
    if created:
        app.processEvents()
    return True


def run_self_test(*, epochs: int = EPOCHS, qt: bool = True, out: Callable[[str], None] = print) -> SelfTestResult:
    """Run the self-test and return what it produced.

    Parameters
    ----------
    epochs : int
        Training epochs on the demo data.
    qt : bool
        Also draw a plot with Qt's offscreen platform (skipped when False).
    out : callable
        Receives each progress line.

    Raises
    ------
    SelfTestFailure
        With the one line to show, naming the step that failed.
    """
    t0 = time.perf_counter()
    if qt and "PySide6.QtWidgets" not in sys.modules:
        # Offscreen even on a desktop: the self-test must never need (or open) a window.
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

    from evalstudio import __version__

    out(f"evalstudio {__version__} self-test ({'frozen' if getattr(sys, 'frozen', False) else 'python'} "
        f"{sys.version.split()[0]}, {sys.platform})")

    def find_demo() -> tuple[Path, Path]:
        from evalstudio.resources import resource_path

        csv, model = resource_path("demo", DEMO_CSV), resource_path("demo", DEMO_MODEL)
        for p in (csv, model):
            if not p.is_file():
                raise FileNotFoundError(f"the bundled demo file {p} is missing; reinstall evalstudio")
        return csv, model

    csv_path, model_path = _step("resources", find_demo)
    out(f"resources: {csv_path.parent}")

    def import_torch() -> str:
        import torch

        return str(torch.__version__)

    out(f"torch {_step('import torch', import_torch)}")

    def load_data() -> Any:
        from evalstudio.core.data.dataset import load_csv

        return load_csv(csv_path)

    data = _step("load data", load_data)
    counts = ", ".join(f"{c}: {n}" for c, n in zip(data.classes, data.class_counts()))
    out(f"data: {data.n_samples} rows, {data.n_features} features, target {data.target_name!r} ({counts})")

    def load() -> tuple[Any, Any]:
        from evalstudio.core.models.loading import infer_output_kind, load_model

        loaded = load_model(model_path, n_features=data.n_features, n_classes=data.n_classes)
        return loaded, infer_output_kind(loaded.module, data.n_features, data.n_classes)

    loaded, kind = _step("load model", load)
    out(f"model: {loaded.entry} from {model_path.name}, outputs {kind.value}")

    with tempfile.TemporaryDirectory(prefix="evalstudio-selftest-") as tmp:

        def train() -> "TrainResult":
            from evalstudio.core.training.config import TrainConfig
            from evalstudio.core.training.loop import fit, seeded

            config = TrainConfig(epochs=epochs, batch_size=32, seed=SEED, device="cpu", val_fraction=0.2)
            module = seeded(loaded.builder, SEED) if loaded.builder is not None else loaded.module
            return fit(module, data, config, output_kind=kind, out_dir=tmp)

        result = _step("train", train)
        for h in result.history:
            out(f"epoch {h.epoch}: train_loss={h.train_loss:.4f} val_loss={h.val_loss:.4f} "
                f"val_accuracy={h.val_accuracy:.4f} ({h.seconds:.2f} s)")
        if len(result.history) != epochs or not result.last_checkpoint:
            raise SelfTestFailure(
                f"self-test failed at train: expected {epochs} epochs and a checkpoint, "
                f"got {len(result.history)} epochs and checkpoint {result.last_checkpoint!r}"
            )

        def evaluate(checkpoint: Path) -> "EvaluationOutcome":
            from evalstudio.core.evaluation.pipeline import EvaluationSpec, run_evaluation

            spec = EvaluationSpec(data_path=str(csv_path), model_path=str(model_path),
                                  checkpoint_path=str(checkpoint), device="cpu")
            return run_evaluation(spec)

        outcome = _step("evaluate", lambda: evaluate(Path(result.last_checkpoint)))
    metrics = outcome.report.metrics
    _check_finite("evaluate", metrics)
    # The checkpoint records its training rows: evaluation on the file that trained it leaves them out.
    if outcome.leakage is None or outcome.leakage.training_rows == 0:
        raise SelfTestFailure("self-test failed at evaluate: the trained checkpoint's training rows were not "
                              "recognised in the file that trained it")
    out(f"rows: {outcome.leakage.headline()}")
    out(f"metrics (trained checkpoint, {outcome.report.n_samples} rows, threshold "
        f"{outcome.report.threshold:g}): {_format_metrics(metrics)}")

    bundled = None
    bundled_ckpt = csv_path.parent / DEMO_CHECKPOINT
    if bundled_ckpt.is_file():
        bundled = _step("evaluate bundled checkpoint", lambda: evaluate(bundled_ckpt))
        _check_finite("evaluate bundled checkpoint", bundled.report.metrics)
        out(f"metrics (bundled {DEMO_CHECKPOINT}): {_format_metrics(bundled.report.metrics)}")

    qt_checked = False
    if qt:
        losses = [h.train_loss for h in result.history]
        qt_checked = bool(_step("qt", lambda: _qt_check(out, losses)))
    seconds = time.perf_counter() - t0
    out(f"self-test passed in {seconds:.1f} s")
    return SelfTestResult(result, outcome, bundled, qt_checked, seconds)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``evalstudio --self-test``: 0 when every step passed, 1 otherwise.

    ``--no-qt`` skips the offscreen Qt step (for a machine without Qt's system libraries).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    qt = "--no-qt" not in args
    try:
        run_self_test(qt=qt, out=lambda line: print(line, flush=True))
    except SelfTestFailure as exc:
        print(str(exc), file=sys.stderr, flush=True)
        return 1
    except Exception as exc:  # a failure outside any step (e.g. evalstudio itself not importable)
        print(f"self-test failed: {_one_line(exc)}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
