"""Write the bundled mixed-type demo table, resources/demo/churn.csv (synthetic, seeded, reproducible).

    .venv/bin/python scripts/make_churn_demo.py

A customer-churn table shaped like the public telco one, with the traps real tables have: a customer
id on every row, yes/no and 3-4 value text columns, a numeric 0/1 code, a numeric column with blank
cells (" ", as telco writes a new customer's total charges), a text column with a few rare values, a
value written with a stray space, and the label (``Churn``: Yes / No) last. Churn follows the
contract, tenure, charges, internet service and payment method, so a model can learn it (about 80 %
accuracy). No real customer is in it. ``scripts/make_demo_checkpoints.py`` then splits it into
training rows and ``churn-holdout.csv`` and trains ``churn_model.py`` on the training rows.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "resources" / "demo" / "churn.csv"
N_ROWS = 2000

CONTRACTS = ("Month-to-month", "One year", "Two year")
INTERNET = ("DSL", "Fiber optic", "No")
PAYMENTS = ("Electronic check", "Mailed check", "Bank transfer (automatic)", "Credit card (automatic)")
# A long tail: the last two are rare (fewer than 5 rows), so they share the "(other)" input.
REGIONS = ("North", "South", "East", "West", "Central", "Islands", "Overseas")
REGION_P = (0.3, 0.25, 0.2, 0.15, 0.0985, 0.0010, 0.0005)


def main() -> int:
    rng = np.random.default_rng(2024)
    header = ["customerID", "gender", "SeniorCitizen", "Partner", "Dependents", "tenure", "PhoneService",
              "InternetService", "Contract", "PaperlessBilling", "PaymentMethod", "Region", "MonthlyCharges",
              "TotalCharges", "Churn"]
    rows = []
    ids = rng.choice(10**7, size=N_ROWS, replace=False)
    for i in range(N_ROWS):
        contract = int(rng.choice(3, p=[0.55, 0.21, 0.24]))
        tenure = 0 if rng.random() < 0.006 else int(np.clip(rng.gamma(2 + 3 * contract, 6), 1, 72))
        internet = int(rng.choice(3, p=[0.34, 0.44, 0.22]))
        phone = "Yes" if rng.random() < 0.9 else "No"
        monthly = round(float(20 + 25 * (internet == 0) + 50 * (internet == 1) + 10 * (phone == "Yes")
                              + rng.normal(0, 8)), 2)
        payment = int(rng.choice(4, p=[0.34, 0.23, 0.22, 0.21]))
        senior = int(rng.random() < 0.16)
        logit = (-0.9 + 1.3 * (contract == 0) - 1.2 * (contract == 2) - 0.035 * tenure + 0.9 * (internet == 1)
                 - 0.8 * (internet == 2) + 0.6 * (payment == 0) + 0.4 * senior + 0.01 * (monthly - 65))
        churn = "Yes" if rng.random() < 1 / (1 + np.exp(-logit)) else "No"
        total = " " if tenure == 0 else f"{monthly * tenure * rng.uniform(0.95, 1.05):.2f}"
        partner = str(rng.choice(["Yes", "No"]))
        rows.append([
            f"{ids[i] % 10000:04d}-{''.join(rng.choice(list('ABCDEFGHIJKLMNOPQRSTUVWXYZ'), size=5))}",
            str(rng.choice(["Female", "Male"])), str(senior), partner,
            "No" if partner == "No" and rng.random() < 0.8 else str(rng.choice(["Yes", "No"])),
            str(tenure), phone, INTERNET[internet], CONTRACTS[contract],
            str(rng.choice(["Yes", "No"], p=[0.6, 0.4])), PAYMENTS[payment],
            str(rng.choice(REGIONS, p=REGION_P)), f"{monthly:.2f}", total, churn,
        ])
    rows[7][9] = " Yes"  # a stray space, trimmed on reading
    with OUT.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    print(f"wrote {OUT} ({N_ROWS} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
