"""Rebuild the bundled demo checkpoints reproducibly (CPU, fixed seeds) with evalstudio's own trainer.

    .venv/bin/python scripts/make_demo_checkpoints.py

Each demo CSV is split once (stratified, seed 0): 20 % of its rows become ``<name>-holdout.csv``,
which the checkpoint never sees (``evalstudio evaluate --demo`` scores it there, honestly); the
rest (all of them: no validation rows) train the model for a fixed number of epochs. Writes
resources/demo/{pima,wine,churn}_checkpoint.pt (standardisation fitted on the training rows inside, and
the fingerprints of those rows, so Evaluate on the full demo CSV leaves them out on its own and
scores exactly the held-out rows; churn's carries its column encoding too) and
resources/demo/{pima,wine,churn}-holdout.csv.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo"

RUNS = {
    "pima": ["--model", "pima_model.py", "--data", "pima-indians-diabetes.csv",
             "--epochs", "100", "--batch-size", "16", "--lr", "0.001"],
    "wine": ["--model", "wine_model.py", "--data", "wine.csv",
             "--epochs", "60", "--batch-size", "16", "--lr", "0.003"],
    # The mixed-type demo (scripts/make_churn_demo.py): text, blanks and an id column; the
    # checkpoint carries the column encoding learned from its training rows.
    "churn": ["--model", "churn_model.py", "--data", "churn.csv",
              "--epochs", "40", "--batch-size", "32", "--lr", "0.003"],
}


def main() -> int:
    from evalstudio.cli import main as cli

    import pandas as pd
    from sklearn.model_selection import train_test_split

    for name, argv in RUNS.items():
        argv = [str(DEMO / a) if a.endswith((".py", ".csv")) else a for a in argv]
        source = Path(argv[argv.index("--data") + 1])
        # The split keeps each line as written (a pandas round trip would rewrite blanks, spaces, quotes).
        lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
        full = pd.read_csv(source)
        train, holdout = train_test_split(full, test_size=0.2, stratify=full.iloc[:, -1], random_state=0)
        (DEMO / f"{name}-holdout.csv").write_text(
            "".join([lines[0], *(lines[i + 1] for i in sorted(holdout.index))]), encoding="utf-8")
        with tempfile.TemporaryDirectory() as out:
            # Named after the CSV its rows come from: the checkpoint records this name (and the hash).
            train_csv = Path(out) / (source.stem + "-train.csv")
            train_csv.write_text("".join([lines[0], *(lines[i + 1] for i in sorted(train.index))]), encoding="utf-8")
            argv[argv.index("--data") + 1] = str(train_csv)
            code = cli(["train", *argv, "--seed", "0", "--device", "cpu", "--val-fraction", "0",
                        "--out", out, "--quiet"])
            if code != 0:
                return code
            shutil.copyfile(Path(out) / "best.pt", DEMO / f"{name}_checkpoint.pt")
        print(f"wrote {DEMO / f'{name}_checkpoint.pt'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
