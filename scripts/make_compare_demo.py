"""Rebuild the second demo checkpoint the Compare view and ``compare`` are shown with (CPU, fixed seed).

    .venv/bin/python scripts/make_compare_demo.py

``resources/demo/pima_checkpoint_raw.pt`` is the demo network (``pima_model.py``) trained exactly as
``pima_checkpoint.pt`` is by ``scripts/make_demo_checkpoints.py`` (the same 80 % of the demo CSV,
split once, stratified, seed 0; 100 epochs, batch 16, lr 1e-3, no validation rows; the rows'
fingerprints recorded), except on raw features, without standardisation. Neither checkpoint saw
``pima-holdout.csv``, so comparing them there (or on the full demo CSV, where both leave their
training rows out) is honest:

    evalstudio compare --model resources/demo/pima_model.py --checkpoint resources/demo/pima_checkpoint.pt \\
        --model resources/demo/pima_model.py --checkpoint resources/demo/pima_checkpoint_raw.pt \\
        --name standardised --name raw --data resources/demo/pima-holdout.csv
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo"


def main() -> int:
    import pandas as pd
    from sklearn.model_selection import train_test_split

    from evalstudio.cli import main as cli

    full = pd.read_csv(DEMO / "pima-indians-diabetes.csv")
    # The split of make_demo_checkpoints.py: the rows pima-holdout.csv does not hold.
    train, holdout = train_test_split(full, test_size=0.2, stratify=full.iloc[:, -1], random_state=0)
    if not pd.read_csv(DEMO / "pima-holdout.csv").equals(holdout.sort_index().reset_index(drop=True)):
        print("pima-holdout.csv is not the split this script expects; run make_demo_checkpoints.py first",
              file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as out:
        # Named after the CSV its rows come from, as make_demo_checkpoints.py names it (the checkpoint records it).
        train_csv = Path(out) / "pima-indians-diabetes-train.csv"
        train.sort_index().to_csv(train_csv, index=False)
        code = cli(["train", "--model", str(DEMO / "pima_model.py"), "--data", str(train_csv), "--epochs", "100",
                    "--batch-size", "16", "--lr", "0.001", "--no-standardize", "--seed", "0", "--device", "cpu",
                    "--val-fraction", "0", "--out", str(Path(out) / "run"), "--quiet"])
        if code != 0:
            return code
        shutil.copyfile(Path(out) / "run" / "best.pt", DEMO / "pima_checkpoint_raw.pt")
    print(f"wrote {DEMO / 'pima_checkpoint_raw.pt'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
