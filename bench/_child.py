"""Run one loader or evaluation in a fresh process and print its time and peak memory as JSON.

``python -m bench._child {evalstudio-csv|pandas-csv|evaluate-csv|evalstudio-mixed|sklearn-mixed} PATH``. Peak memory is the
process's peak resident set (``VmHWM``) minus its resident set just before the work, after the
imports, so interpreter and library memory do not count against the loader. (Not ``ru_maxrss``:
Linux carries it across ``exec`` from the forking parent, so a child would report the bench's
own peak.)
"""

from __future__ import annotations

import json
import sys
import time


def _status_bytes(key: str) -> int:
    """``VmRSS`` / ``VmHWM`` of this process from /proc/self/status, in bytes."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{key} not in /proc/self/status")


def main(argv: list[str]) -> int:
    mode, path = argv[0], argv[1]
    import numpy as np  # noqa: F401
    import pandas as pd
    import pyarrow.csv  # noqa: F401

    from evalstudio.core.data.dataset import load_csv

    extra: dict[str, object] = {}
    if mode == "evaluate-csv":
        import torch

        from evalstudio.core.evaluation.predict import evaluate_dataset
        from evalstudio.core.evaluation.metrics import evaluate_predictions
        from evalstudio.core.models.outputs import OutputKind

        torch.set_num_threads(1)
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(8, 12), torch.nn.ReLU(), torch.nn.Linear(12, 8),
                                    torch.nn.ReLU(), torch.nn.Linear(8, 1)).eval()
    if mode in ("evalstudio-mixed", "sklearn-mixed"):  # imported before the clock starts, as the others
        from sklearn.compose import ColumnTransformer
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        from evalstudio.core.training.inputs import fit_scaler
    before = _status_bytes("VmRSS")
    t0 = time.perf_counter()
    if mode == "evalstudio-csv":
        data = load_csv(path)
        shape = data.X.shape
    elif mode == "pandas-csv":
        frame = pd.read_csv(path)
        shape = (frame.shape[0], frame.shape[1] - 1)
    elif mode == "evalstudio-mixed":
        data = load_csv(path)
        X = fit_scaler(data, data.encoding).transform(data.X)
        shape = X.shape
    elif mode == "sklearn-mixed":
        frame = pd.read_csv(path)
        numeric = [c for c in frame.columns if c.startswith("x")]
        text = [c for c in frame.columns if c.startswith("c")]
        transformer = ColumnTransformer([
            ("num", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()), numeric),
            ("cat", OneHotEncoder(handle_unknown="ignore"), text),
        ])
        out = transformer.fit_transform(frame[numeric + text])
        shape = out.shape
    elif mode == "evaluate-csv":
        data = load_csv(path)
        pred = evaluate_dataset(model, data, OutputKind.LOGIT)
        report = evaluate_predictions(pred)
        shape = data.X.shape
        extra["accuracy"] = report.metrics["accuracy"]
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    seconds = time.perf_counter() - t0
    peak = _status_bytes("VmHWM")
    print(json.dumps({"seconds": seconds, "peak_delta_bytes": max(0, peak - before), "rows": int(shape[0]),
                      "features": int(shape[1]), **extra}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
