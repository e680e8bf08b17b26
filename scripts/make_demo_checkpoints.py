"""Rebuild the bundled demo checkpoints reproducibly (CPU, fixed seeds) with evalstudio's own trainer.

    .venv/bin/python scripts/make_demo_checkpoints.py

Each demo CSV is split once (stratified, seed 0): 20 % of its rows become ``<name>-holdout.csv``,
which the checkpoint never sees (``evalstudio evaluate --demo`` scores it there, honestly); the
rest (all of them: no validation rows) train the model for a fixed number of epochs. Writes
resources/demo/{pima,wine}_checkpoint.pt (standardisation fitted on the training rows inside, and
the fingerprints of those rows, so Evaluate on the full demo CSV leaves them out on its own and
scores exactly the held-out rows) and resources/demo/{pima,wine}-holdout.csv.
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
}


def main() -> int:
    from evalstudio.cli import main as cli

    import pandas as pd
    from sklearn.model_selection import train_test_split

    for name, argv in RUNS.items():
        argv = [str(DEMO / a) if a.endswith((".py", ".csv")) else a for a in argv]
        full = pd.read_csv(argv[argv.index("--data") + 1])
        train, holdout = train_test_split(full, test_size=0.2, stratify=full.iloc[:, -1], random_state=0)
        holdout.sort_index().to_csv(DEMO / f"{name}-holdout.csv", index=False)
        with tempfile.TemporaryDirectory() as out:
            # Named after the CSV its rows come from: the checkpoint records this name (and the hash).
            train_csv = Path(out) / (Path(argv[argv.index("--data") + 1]).stem + "-train.csv")
            train.sort_index().to_csv(train_csv, index=False)
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
