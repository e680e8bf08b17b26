"""Items 1, 3 and 4: evaluation throughput, threshold lookups, ROC curve and AUC."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from bench.harness import Item, interleaved, median_time, per_call, sync


def _mlp(dims: list[int]) -> Any:
    import torch.nn as nn

    layers: list[nn.Module] = []
    for a, b in zip(dims[:-1], dims[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1]).eval()


def _tutorial_loop(model: Any, X: Any, y: Any, multiclass: bool, device: Any = "cpu") -> tuple[int, int, int, int, int]:
    """The tutorials' evaluation loop: DataLoader(batch_size=32), ``.item()`` per batch per count."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    correct = tp = fp = fn = tn = 0
    with torch.no_grad():
        for xb, yb in DataLoader(TensorDataset(X, y), batch_size=32):
            xb, yb = xb.to(device), yb.to(device)
            out = model(xb)
            pred = out.argmax(dim=1) if multiclass else (torch.sigmoid(out.reshape(-1)) >= 0.5).long()
            correct += (pred == yb).sum().item()
            tp += ((pred == 1) & (yb == 1)).sum().item()
            fp += ((pred == 1) & (yb != 1)).sum().item()
            fn += ((pred != 1) & (yb == 1)).sum().item()
            tn += ((pred != 1) & (yb != 1)).sum().item()
    return correct, tp, fp, fn, tn


def eval_throughput(scale: dict[str, Any]) -> list[Item]:
    """Item 1: rows/s of the core evaluator vs the tutorial loop and vs one bare forward pass."""
    import torch

    from evalstudio.core.evaluation.predict import predict_scores
    from evalstudio.core.evaluation.metrics import evaluate_predictions
    from evalstudio.core.models.outputs import OutputKind
    from evalstudio.core.evaluation.predictions import Predictions

    n_tut, reps, dev = scale["tutorial_rows"], scale["repeats"], scale.get("device", "cpu")
    items = []
    for name, dims, kind, n in (("tutorial 8-12-8-1", [8, 12, 8, 1], OutputKind.LOGIT, scale["eval_rows"]),
                                ("wide 64-256-256-10", [64, 256, 256, 10], OutputKind.LOGITS, scale["wide_rows"])):
        torch.manual_seed(0)
        model = _mlp(dims).to(dev)
        n_classes = max(2, dims[-1])
        X = torch.randn(n, dims[0])
        y = torch.randint(0, n_classes, (n,))
        X_np, y_np = X.numpy(), y.numpy()
        X_dev = X.to(dev)  # the limit: data already on the device, no transfer
        classes = tuple(str(c) for c in range(n_classes))

        def bare() -> None:
            with torch.inference_mode():
                model(X_dev)
            sync(dev)

        def ours() -> Any:
            scores = predict_scores(model, X_np, kind, device=dev)  # includes the host -> device copy
            return evaluate_predictions(Predictions(y_np, scores, classes), threshold=0.5)

        t_bare, t_scores, t_ours = interleaved(
            [bare, lambda: predict_scores(model, X_np, kind, device=dev), ours], reps)
        t_tut, _ = median_time(lambda: _tutorial_loop(model, X[:n_tut], y[:n_tut], n_classes > 2, dev), 1,
                               warmup=0)
        report = ours()
        correct = _tutorial_loop(model, X[:n_tut], y[:n_tut], n_classes > 2, dev)[0]
        scores_tut = predict_scores(model, X_np[:n_tut], kind, device=dev)
        agree = int((scores_tut.argmax(1) == y_np[:n_tut]).sum()) == correct if n_classes > 2 else None
        rate = lambda t, rows: rows / t  # noqa: E731
        r_ours, r_bare, r_tut = rate(t_ours, n), rate(t_bare, n), rate(t_tut, n_tut)
        slowdown = r_bare / r_ours
        items.append(Item(
            f"1-{name.split()[0]}-vs-limit", f"Evaluation throughput, {name}",
            f"{n:,} rows on {dev}: predict_scores (from host memory) + evaluate_predictions (all metrics, threshold "
            "table, AUC) vs one bare forward pass under inference_mode over the same tensor already on the device", "rows/s", r_ours, r_bare,
            "bare forward (limit)", r_ours / r_bare, "within 1.3x of the limit (ratio >= 0.77)", slowdown <= 1.3,
            note=_limit_note(slowdown),
            details={"seconds_ours": t_ours, "seconds_bare": t_bare, "seconds_scores_only": t_scores,
                     "scores_only_vs_limit": t_bare / t_scores, "accuracy": report.metrics.get("accuracy")},
        ))
        items.append(Item(
            f"1-{name.split()[0]}-vs-tutorial", f"Evaluation throughput, {name}",
            f"core evaluator ({n:,} rows) vs the tutorial loop (DataLoader batch 32, .item() per count; timed on "
            f"{n_tut:,} rows)", "rows/s", r_ours, r_tut, "tutorial loop", r_ours / r_tut,
            "ahead of the tutorial loop (the issue's target is the limit above; planning saw 100x+ for the "
            "tutorial model)", r_ours / r_tut > 1,
            note="" if n_classes == 2 else "a compute-bound model: the forward pass itself dominates both loops",
            details={"tutorial_accuracy_agrees": agree},
        ))
    return items


def _limit_note(slowdown: float) -> str:
    if slowdown < 1.0:
        return (f"ours is {1 / slowdown:.2f}x faster than one bare forward over the whole tensor: the evaluator runs "
                "65,536-row batches, whose activations stay in cache")
    return f"ours is {slowdown:.2f}x slower than the bare forward" + (
        "" if slowdown <= 1.3 else ": the metrics pass (sorting scores for the threshold table and AUC) "
        "costs more than this small model's forward pass")


def _synthetic_scores(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """30 % positives; float32 scores in [0, 1], higher for positives, with many ties at 0 and 1."""
    y = rng.random(n) < 0.3
    return y, np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0, 1).astype(np.float32)


def threshold_lookup(scale: dict[str, Any]) -> list[Item]:
    """Item 3: one slider position through the ThresholdTable vs recounting with sklearn."""
    from sklearn.metrics import confusion_matrix

    from evalstudio.core.evaluation.thresholds import ThresholdTable

    items = []
    rng = np.random.default_rng(0)
    for n in scale["threshold_sizes"]:
        y, s = _synthetic_scores(rng, n)
        t0 = time.perf_counter()
        table = ThresholdTable.from_scores(y, s)
        t_build = time.perf_counter() - t0
        ts = [0.5, 0.1234567, float(s[n // 3]), float(s[n // 7]) + 1e-9, 0.99]
        lookup = per_call(lambda: table.counts_at(0.4321))
        t_sk, _ = median_time(lambda: confusion_matrix(y, s >= np.float32(0.4321), labels=[False, True]),
                              1 if n >= 5_000_000 else 3, warmup=0)
        mismatches = 0
        for t in ts:
            tn, fp, fn, tp = table.counts_at(t)
            ref = confusion_matrix(y, s >= s.dtype.type(t), labels=[False, True]).ravel()
            mismatches += int(tuple(int(v) for v in ref) != (tn, fp, fn, tp))
        ok_lookup = lookup <= 50e-6
        ok_build = t_build <= 1.5 if n >= 10_000_000 else None
        items.append(Item(
            f"3-lookup-{n:.0e}", f"Threshold lookup, {n:,} scores",
            "one slider position: ThresholdTable.counts_at vs sklearn confusion_matrix(y, s >= t)", "us",
            lookup * 1e6, t_sk * 1e6, "sklearn recount", t_sk / lookup,
            "<= 50 us per lookup at 1e7; table built in <= 1.5 s at 1e7; identical counts",
            (ok_lookup and mismatches == 0 and ok_build is not False),
            note=f"table built in {t_build:.2f} s; {mismatches} count mismatches at {len(ts)} thresholds",
            details={"build_seconds": t_build, "mismatches": mismatches, "thresholds_checked": len(ts)},
        ))
    return items


def roc_auc(scale: dict[str, Any]) -> list[Item]:
    """Item 4: ROC curve + AUC (and a plotting curve) vs sklearn roc_curve + roc_auc_score."""
    from sklearn.metrics import roc_auc_score, roc_curve

    from evalstudio.core.evaluation.thresholds import ThresholdTable

    items = []
    rng = np.random.default_rng(1)
    for n in scale["roc_sizes"]:
        y, s = _synthetic_scores(rng, n)
        reps = 1 if n >= 5_000_000 else 3
        out: dict[str, Any] = {}

        def ours() -> None:
            table = ThresholdTable.from_scores(y, s)
            out["table"] = table
            out["curve"] = table.roc_curve()
            out["auc"] = table.roc_auc

        def theirs() -> None:
            out["sk_curve"] = roc_curve(y, s)
            out["sk_auc"] = roc_auc_score(y, s)

        t_ours, t_sk = interleaved([ours, theirs], reps, warmup=0)
        t_plot, _ = median_time(lambda: out.__setitem__("plot", out["table"].roc_curve_for_plot()), reps, warmup=0)
        fpr, tpr, _ = out["curve"]
        pfpr, ptpr, _ = out["plot"]
        # Visible shape: the largest vertical gap between the full curve and the plotted one.
        gap = float(np.max(np.abs(np.interp(fpr, pfpr, ptpr) - tpr)))
        same_curve = bool(np.allclose(fpr, out["sk_curve"][0]) and np.allclose(tpr, out["sk_curve"][1]))
        auc_diff = abs(out["auc"] - out["sk_auc"])
        ratio = t_sk / t_ours
        items.append(Item(
            f"4-roc-{n:.0e}", f"ROC curve and AUC, {n:,} scores",
            "ThresholdTable.from_scores + roc_curve + roc_auc (the same outputs) vs sklearn roc_curve + roc_auc_score",
            "s",
            t_ours, t_sk, "sklearn", ratio, ">= 5x faster, AUC equal to 1e-12, plot curve <= a few thousand points",
            ratio >= 5 and auc_diff <= 1e-12 and len(pfpr) <= 5000,
            note=f"|AUC - sklearn| = {auc_diff:.1e}; curve equal to sklearn's: {same_curve}; the plotting curve "
                 f"(+{t_plot:.2f} s) keeps {len(pfpr)} of {len(fpr)} points, largest vertical gap {gap:.1e}",
            details={"auc_abs_diff": auc_diff, "plot_points": int(len(pfpr)), "curve_points": int(len(fpr)),
                     "plot_max_gap": gap, "curve_equal_to_sklearn": same_curve,
                     "plot_seconds": t_plot},
        ))
    return items
