"""Accuracy on real-world tables: evalstudio's defaults beside a scikit-learn logistic regression.

    .venv/bin/python scripts/table_accuracy.py                       # every table listed below that exists
    .venv/bin/python scripts/table_accuracy.py --synthetic-only      # only the generated credit-like table
    .venv/bin/python scripts/table_accuracy.py --data my.csv:label   # any CSV (":TARGET" when not the last column)

For each table it runs, as a user would and with nothing edited:

- ``evalstudio kfold`` (5 folds, every default) with ``--predictions``, whose ``fold`` column says which
  fold scored each row;
- ``evalstudio train`` (every default: a stratified fifth held out for validation) and ``evalstudio
  evaluate`` of its ``best.pt`` on the same file (which leaves out the rows that trained it);
- on the SAME folds, scikit-learn's ``LogisticRegression(max_iter=2000)`` after a ``ColumnTransformer``
  of ``OneHotEncoder(handle_unknown="ignore")`` on the text columns and ``SimpleImputer(median)`` +
  ``StandardScaler`` on the numeric ones, fitted per fold on the fold's training rows. The baseline
  reads the file with pandas (``skipinitialspace``, ``?`` as missing, no header where evalstudio found
  none) and uses the columns evalstudio uses as features, so the two differ in model and encoding only.

The model is a small network, written to the work folder (``mlp.py``): one hidden layer of 32 units.
The tables: ``../shared/data`` (telco, titanic, adult; titanic's label ``Survived`` is not its last
column, so it gets ``--target Survived``: the one flag used) and a generated credit-like table that no
default was tuned on (``--synthetic``; its traps: an id per row, ``' ?'`` and blank cells, a space
after every separator, a semicolon separator, a numeric region code, a free-text column, a rare
category). Prints one table (markdown) and the exact commands.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
TABLES = (("telco_customer_churn.csv", None), ("titanic.csv", "Survived"), ("adult-train.csv", None))
MLP = """import torch.nn as nn


def build_model(n_features, n_classes=2):
    return nn.Sequential(nn.Linear(n_features, 32), nn.ReLU(), nn.Linear(32, n_classes))
"""


def credit_like(path: Path, n: int = 5000, seed: int = 7) -> Path:
    """A german-credit / bank-marketing-like table with the traps of real files (see the docstring)."""
    rng = np.random.default_rng(seed)
    purposes = ("car", "furniture", "radio/TV", "education", "business", "repairs", "vacation", "retraining")
    purpose_p = (0.3, 0.2, 0.25, 0.1, 0.1, 0.03, 0.019, 0.001)
    housing = ("own", "rent", "free")
    jobs = ("unskilled", "skilled", "management", "unemployed")
    words = ("new", "used", "urgent", "family", "loan", "trip", "house", "study", "shop", "farm")
    lines = ["applicant_no; age; job; housing; region; purpose; amount; duration; savings; remark; risk"]
    for i in range(n):
        age = int(rng.integers(19, 75))
        job = int(rng.choice(4, p=[0.2, 0.55, 0.2, 0.05]))
        house = int(rng.choice(3, p=[0.6, 0.3, 0.1]))
        region = int(rng.integers(1, 6))  # a numeric code: 1..5 are regions, not amounts
        purpose = int(rng.choice(len(purposes), p=purpose_p))
        amount = float(np.round(rng.lognormal(8, 0.7), 0))
        duration = int(rng.choice([6, 12, 18, 24, 36, 48, 60]))
        savings = float(np.round(rng.exponential(2000), 2))
        logit = (-0.3 + 0.02 * (40 - age) + [0.8, 0.0, -0.6, 1.2][job] + [-0.4, 0.4, 0.6][house]
                 + [0.0, 0.6, -0.5, 0.3, -0.2][region - 1] + 0.5 * np.log(amount / 3000) + 0.03 * (duration - 24)
                 - 0.0002 * savings + (0.7 if purposes[purpose] in ("business", "vacation") else 0.0))
        bad = rng.random() < 1 / (1 + np.exp(-logit))
        cells = [
            f"{100000 + i * 7}", str(age), "?" if rng.random() < 0.03 else jobs[job],
            "" if rng.random() < 0.02 else housing[house], str(region), purposes[purpose],
            "" if rng.random() < 0.04 else f"{amount:.0f}", str(duration),
            "?" if rng.random() < 0.05 else f"{savings:.2f}",
            " ".join(rng.choice(words, size=3)) + f" #{i}", "bad" if bad else "good",
        ]
        lines.append("; ".join(cells))
    path.write_text("\n".join(lines) + "\n")
    return path


def run(cmd: list[str], cwd: Path) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr.strip()}")
    return time.perf_counter() - t0, proc.stdout


def baseline(path: Path, cv: dict, folds: np.ndarray) -> list[float]:
    """Logistic regression on one-hot + median-imputed, scaled columns, per fold on the same folds."""
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    text = path.read_text(errors="replace")
    first = text.splitlines()[0]
    sep = max((",", ";", "\t", "|"), key=first.count)
    headerless = any("no header row" in n for n in cv["data_notes"])
    frame = pd.read_csv(path, sep=sep, skipinitialspace=True, na_values=["?"], header=None if headerless else 0)
    frame.columns = [f"col_{k + 1}" for k in range(frame.shape[1])] if headerless else [str(c).strip() for c in frame.columns]
    used = [c for c in cv["features"]["columns"] if c["kind"] != "ignored"]
    text_cols = [c["name"] for c in used if not pd.api.types.is_numeric_dtype(frame[c["name"]])]
    num_cols = [c["name"] for c in used if c["name"] not in text_cols]
    y = frame[cv["target"]].astype(str).str.strip().to_numpy()
    X = frame[[c["name"] for c in used]]
    scores = []
    for k in np.unique(folds):
        test = folds == k
        model = make_pipeline(
            ColumnTransformer([
                ("text", make_pipeline(SimpleImputer(strategy="constant", fill_value="(missing)"),
                                       OneHotEncoder(handle_unknown="ignore")), text_cols),
                ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), num_cols),
            ]),
            LogisticRegression(max_iter=2000),
        )
        model.fit(X[~test], y[~test])
        scores.append(float(np.mean(model.predict(X[test]) == y[test])))
    return scores


def one_table(evalstudio: str, path: Path, target: str | None, work: Path) -> tuple[dict, list[str]]:
    name = path.stem
    flags = ["--target", target] if target else []
    base = ["--model", "mlp.py", "--data", str(path), *flags, "--device", "cpu"]
    kfold = [evalstudio, "kfold", *base, "--predictions", f"{name}-folds.csv", "--json", f"{name}-cv.json",
             "--no-intervals"]
    train = [evalstudio, "train", *base, "--out", f"{name}-run", "--overwrite", "--json", f"{name}-train.json",
             "--quiet", "--no-intervals"]
    evaluate = [evalstudio, "evaluate", "--model", "mlp.py", "--checkpoint", f"{name}-run/best.pt",
                "--data", str(path), "--device", "cpu", "--json", f"{name}-eval.json", "--quiet",
                "--no-intervals"]
    t_cv, cv_text = run(kfold, work)
    run(train, work)
    run(evaluate, work)
    cv = json.loads((work / f"{name}-cv.json").read_text())
    cv["data_notes"] = [line for line in cv_text.splitlines() if line.startswith("note:")] + cv.get("notes", [])
    cv["target"] = target or next(line.split("target '")[1].rstrip("')") for line in cv_text.splitlines()
                                  if line.startswith("data:"))
    with open(work / f"{name}-folds.csv", newline="") as fh:
        by_row = {int(r["row"]): int(r["fold"]) for r in csv.DictReader(fh)}
    folds = np.array([by_row[k] for k in sorted(by_row)])
    lr = baseline(path, cv, folds)
    accs = [f["metrics"]["accuracy"] for f in cv["folds"]]
    tr = json.loads((work / f"{name}-train.json").read_text())
    ev = json.loads((work / f"{name}-eval.json").read_text())
    row = {
        "table": path.name, "rows": len(folds), "inputs": cv["features"]["input_width"],
        "set_aside": [c["name"] for c in cv["features"]["columns"] if c["kind"] == "ignored"],
        "kfold": (float(np.mean(accs)), float(np.std(accs))), "lr": (float(np.mean(lr)), float(np.std(lr))),
        "train_val": tr["metrics"].get("accuracy", float("nan")),
        "evaluate": ev["metrics"]["accuracy"], "scored": ev["n_samples"],
        "seconds": t_cv,
    }
    return row, [" ".join(c[1:]).replace(str(ROOT) + "/", "") for c in (kfold, train, evaluate)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", action="append", default=[], metavar="CSV[:TARGET]", help="a table to add")
    ap.add_argument("--synthetic-only", action="store_true", help="only the generated credit-like table")
    ap.add_argument("--work", default="table-accuracy", help="work folder (default ./table-accuracy)")
    args = ap.parse_args(argv)
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    (work / "mlp.py").write_text(MLP)
    tables: list[tuple[Path, str | None]] = []
    if not args.synthetic_only:
        tables += [(SHARED / f, t) for f, t in TABLES if (SHARED / f).exists()]
        for spec in args.data:
            file, _, target = spec.partition(":")
            tables.append((Path(file).resolve(), target or None))
    tables.append((credit_like(work / "credit-like.csv"), None))
    evalstudio = str(Path(sys.executable).with_name("evalstudio"))
    rows, commands = [], []
    for path, target in tables:
        row, cmds = one_table(evalstudio, path, target, work)
        rows.append(row)
        commands += cmds
        print(f"done {path.name} ({row['seconds']:.0f} s k-fold)", file=sys.stderr)
    print("| table | rows | inputs | set aside | evalstudio 5-fold accuracy | LR, same folds | train: val accuracy "
          "| evaluate best.pt on the file (rows scored) |")
    print("|---|---:|---:|---|---|---|---:|---|")
    for r in rows:
        print(f"| {r['table']} | {r['rows']:,} | {r['inputs']} | {', '.join(r['set_aside']) or '-'} "
              f"| {r['kfold'][0]:.4f} ± {r['kfold'][1]:.4f} | {r['lr'][0]:.4f} ± {r['lr'][1]:.4f} "
              f"| {r['train_val']:.4f} | {r['evaluate']:.4f} ({r['scored']}) |")
    print(f"\ncommands (in {work}):")
    for c in commands:
        print("    evalstudio " + c)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
