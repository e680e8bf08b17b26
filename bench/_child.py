"""Run one loader or evaluation in a fresh process and print its time and peak memory as JSON.

``python -m bench._child {evalstudio-csv|pandas-csv|evaluate-csv} PATH``. Peak memory is the
process's peak resident set (``ru_maxrss``) minus its resident set just before the work, after
the imports, so interpreter and library memory do not count against the loader.
"""

from __future__ import annotations

import json
import resource
import sys
import time


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * resource.getpagesize()


def main(argv: list[str]) -> int:
    mode, path = argv[0], argv[1]
    import numpy as np  # noqa: F401
    import pandas as pd
    import pyarrow.csv  # noqa: F401

    from evalstudio.core.data import load_csv

    extra: dict[str, object] = {}
    if mode == "evaluate-csv":
        import torch

        from evalstudio.core.evaluate import evaluate_dataset
        from evalstudio.core.metrics import evaluate_predictions
        from evalstudio.core.outputs import OutputKind

        torch.set_num_threads(1)
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(8, 12), torch.nn.ReLU(), torch.nn.Linear(12, 8),
                                    torch.nn.ReLU(), torch.nn.Linear(8, 1)).eval()
    before = _rss_bytes()
    t0 = time.perf_counter()
    if mode == "evalstudio-csv":
        data = load_csv(path)
        shape = data.X.shape
    elif mode == "pandas-csv":
        frame = pd.read_csv(path)
        shape = (frame.shape[0], frame.shape[1] - 1)
    elif mode == "evaluate-csv":
        data = load_csv(path)
        pred = evaluate_dataset(model, data, OutputKind.LOGIT)
        report = evaluate_predictions(pred)
        shape = data.X.shape
        extra["accuracy"] = report.metrics["accuracy"]
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    print(json.dumps({"seconds": seconds, "peak_delta_bytes": max(0, peak - before), "rows": int(shape[0]),
                      "features": int(shape[1]), **extra}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
