"""``python -m bench [--quick] [--only 1,5] [--threads N]``: run the suite, write results and table."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

#: item number -> (title, target, function name in its module)
ITEMS: dict[str, tuple[str, str, str, str]] = {
    "1": ("Evaluation throughput", "within 1.3x of a bare forward pass", "bench.evaluation", "eval_throughput"),
    "2": ("Training epoch time", ">= 1.5x a DataLoader loop at batch 64", "bench.training", "epoch_time"),
    "3": ("Threshold lookup", "<= 50 us at 1e7", "bench.evaluation", "threshold_lookup"),
    "4": ("ROC curve and AUC", ">= 5x sklearn", "bench.evaluation", "roc_auc"),
    "5": ("k-fold, folds trained together", ">= 3x sequential", "bench.training", "kfold_stacked"),
    "6": ("CSV loading", "no slower than pandas, <= 3x memory", "bench.io_items", "csv_loading"),
    "7": ("The app", "16 ms / 50 ms / 2.5 s", "bench.gui_items", "app_items"),
    "8": ("Memory evaluating a large CSV", "< 3x the float32 matrix", "bench.io_items", "eval_memory"),
    "9": ("Training-rows check", "<= 0.5 s at 1M rows; <= 10 bytes a training row", "bench.training_rows",
          "training_rows_check"),
    "10": ("Bootstrap intervals", ">= 50x a scikit-learn loop; <= 5 s at 1M rows", "bench.intervals",
           "bootstrap_intervals_item"),
    "11": ("Comparing two models", "DeLong >= 8x, paired bootstrap >= 50x", "bench.comparison_items",
           "compare_items"),
    "12": ("Mixed table: load and encode", "at least as fast as pandas + ColumnTransformer; <= 3x memory",
           "bench.mixed_items", "mixed_loading"),
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="smaller sizes and fewer repeats (under 3 minutes)")
    p.add_argument("--scale", choices=("full", "quick", "tiny"), help=argparse.SUPPRESS)  # tiny: the smoke test
    p.add_argument("--only", default="", help="comma-separated item numbers, e.g. 1,5 (default: all)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch intra-op threads (default 1: small models are overhead-bound, and spinning "
                        "threads collapse on a shared 2-core machine; ratios compare like with like)")
    p.add_argument("--device", default="cpu",
                   help="where items 1, 2 and 5 run: cpu (default), cuda, cuda:N, auto (CUDA when present)")
    p.add_argument("--json", default=str(ROOT / "bench" / "results.json"), help="where results.json goes")
    p.add_argument("--markdown", default=str(ROOT / "BENCHMARKS.md"), help="where the table goes ('' for none)")
    p.add_argument("--render", action="store_true", help="only rebuild the Markdown from an existing --json file")
    return p


def run_items(which: Sequence[str], scale: dict[str, Any], log: Callable[[str], None]) -> list[dict[str, Any]]:
    import importlib

    from bench.harness import Item

    out: list[dict[str, Any]] = []
    for key in which:
        title, target, module, func = ITEMS[key]
        t0 = time.perf_counter()
        log(f"[{key}] {title} ...")
        try:
            items = getattr(importlib.import_module(module), func)(scale)
        except Exception as exc:  # one broken item must not lose the others' figures
            tb = traceback.format_exc(limit=-2).strip().splitlines()[-1]
            items = [Item(f"{key}-failed", title, "failed", "", None, None, "", None, target, None,
                          note=f"not measured: the item raised {type(exc).__name__}: {exc} ({tb})")]
        for it in items:
            d = it.to_dict()
            d["item"] = int(key)
            out.append(d)
            ratio = "-" if d["ratio"] is None else f"{d['ratio']:.3g}x"
            log(f"    {d['id']}: ours {d['ours']} {d['unit']}, baseline {d['baseline']}, ratio {ratio}, met {d['met']}")
        log(f"    ({time.perf_counter() - t0:.1f} s)")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.render:  # the figures as measured; the commentary as bench/commentary.md says it now
        from bench.report import markdown

        results = json.loads(Path(args.json).read_text(encoding="utf-8"))
        commentary = ROOT / "bench" / "commentary.md"
        if commentary.is_file():
            results["commentary"] = commentary.read_text(encoding="utf-8").strip()
        Path(args.markdown).write_text(markdown(results), encoding="utf-8")
        return 0
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
    import torch

    from bench.harness import SCALES, machine_info
    from bench.report import markdown

    mode = args.scale or ("quick" if args.quick else "full")
    which = [k.strip() for k in args.only.split(",") if k.strip()] or list(ITEMS)
    unknown = [k for k in which if k not in ITEMS]
    if unknown:
        print(f"error: unknown item(s) {', '.join(unknown)}; the items are {', '.join(ITEMS)}.", file=sys.stderr)
        return 2
    torch.set_num_threads(max(1, args.threads))
    from evalstudio.core.models.device import resolve_device
    from evalstudio.core.errors import EvalStudioError

    try:
        device = resolve_device(args.device)
    except EvalStudioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    scale = {**SCALES[mode], "device": str(device)}
    started = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    t0 = time.perf_counter()
    log = lambda s: print(s, flush=True)  # noqa: E731
    log(f"evalstudio bench ({mode}) on {device}, torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    machine = machine_info()
    items = run_items(which, scale, log)
    try:
        machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    commentary = ROOT / "bench" / "commentary.md"
    results = {
        "mode": mode, "started": started, "seconds": time.perf_counter() - t0, "machine": machine,
        "device": str(device), "scale": scale, "items": items,
        "commentary": commentary.read_text(encoding="utf-8").strip() if commentary.is_file() else "",
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=2, default=float) + "\n", encoding="utf-8")
    if args.markdown:
        Path(args.markdown).write_text(markdown(results), encoding="utf-8")
    log(f"wrote {args.json}" + (f" and {args.markdown}" if args.markdown else "") +
        f" in {results['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
