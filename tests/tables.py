"""Small tables with the traps of the real ones (CI has no /work/shared/data): written on the fly.

- :func:`churn_like`: telco's traps -- a customer id per row, yes/no and 3-4 value text columns, a
  numeric column with a few blank (" ") cells, a numeric class code, a constant column; label last.
- :func:`adult_like`: the adult file's traps -- no header, a space after every comma, ``?`` for
  missing, label last (``<=50K`` / ``>50K``; ``>50K.`` in its test file).
- :func:`titanic_like`: an integer id, names (one per row), a mostly empty text column, a numeric
  class code, a numeric column with many blanks; target not last.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

CONTRACTS = ("Month-to-month", "One year", "Two year")
PAYMENTS = ("Electronic check", "Mailed check", "Bank transfer (automatic)", "Credit card (automatic)")


def churn_like(path: Path, n: int = 400, seed: int = 0, *, blanks: int = 7) -> Path:
    """``customerID,gender,Senior,Partner,tenure,Contract,PaymentMethod,Country,MonthlyCharges,TotalCharges,Churn``.

    Churn depends on the contract, tenure and charges, so a model can learn it.
    """
    rng = np.random.default_rng(seed)
    lines = ["customerID,gender,Senior,Partner,tenure,Contract,PaymentMethod,Country,MonthlyCharges,TotalCharges,Churn"]
    blank_rows = set(rng.choice(n, size=blanks, replace=False).tolist()) if blanks else set()
    for i in range(n):
        contract = int(rng.choice(3, p=[0.5, 0.25, 0.25]))
        tenure = int(rng.integers(0, 72))
        monthly = float(np.round(rng.uniform(20, 110), 2))
        total = "" if i in blank_rows else f"{monthly * max(tenure, 1):.2f}"
        if i in blank_rows:
            total = " "
        logit = 1.2 - 1.4 * contract - 0.04 * tenure + 0.02 * (monthly - 60)
        churn = "Yes" if rng.random() < 1 / (1 + np.exp(-logit)) else "No"
        lines.append(",".join([
            f"{1000 + i}-{''.join(rng.choice(list('ABCDEFGHJK'), size=5))}",
            str(rng.choice(["Female", "Male"])), str(int(rng.random() < 0.2)), str(rng.choice(["Yes", "No"])),
            str(tenure), CONTRACTS[contract], f'"{PAYMENTS[int(rng.integers(0, 4))]}"', "US",
            f"{monthly:.2f}", total, churn,
        ]))
    path.write_text("\n".join(lines) + "\n")
    return path


WORK = ("Private", "Self-emp", "Federal-gov", "Local-gov")
EDU = ("HS-grad", "Bachelors", "Masters", "Some-college", "Doctorate")


def adult_like(path: Path, n: int = 300, seed: int = 0, *, test_file: bool = False, missing: int = 10) -> Path:
    """Headerless: age, workclass, fnlwgt, education, hours, native-country, income (label last).

    ``test_file``: labels written as the adult test file writes them (``>50K.``, ``<=50K.``).
    """
    rng = np.random.default_rng(seed)
    unknown = set(rng.choice(n, size=missing, replace=False).tolist()) if missing else set()
    lines = []
    for i in range(n):
        age = int(rng.integers(17, 80))
        edu = int(rng.integers(0, len(EDU)))
        hours = int(rng.integers(10, 70))
        rich = rng.random() < 1 / (1 + np.exp(-(-6 + 0.05 * age + 0.7 * edu + 0.04 * hours)))
        label = ">50K" if rich else "<=50K"
        if test_file:
            label += "."
        work = "?" if i in unknown else WORK[int(rng.integers(0, len(WORK)))]
        country = str(rng.choice(["United-States", "Mexico", "Canada"], p=[0.85, 0.1, 0.05]))
        lines.append(", ".join([str(age), work, str(int(rng.integers(10_000, 500_000))), EDU[edu], str(hours),
                                country, label]))
    path.write_text("\n".join(lines) + "\n")
    return path


def titanic_like(path: Path, n: int = 300, seed: int = 0) -> Path:
    """``PassengerId,Survived,Pclass,Name,Sex,Age,Cabin,Embarked`` (target second, not last)."""
    rng = np.random.default_rng(seed)
    lines = ["PassengerId,Survived,Pclass,Name,Sex,Age,Cabin,Embarked"]
    for i in range(n):
        pclass = int(rng.integers(1, 4))
        sex = str(rng.choice(["male", "female"]))
        age = "" if rng.random() < 0.2 else str(int(rng.integers(1, 80)))
        survived = int(rng.random() < (0.75 if sex == "female" else 0.2) + (0.1 if pclass == 1 else 0))
        cabin = f"C{rng.integers(1, 200)}" if rng.random() < 0.25 else ""
        embarked = "" if rng.random() < 0.01 else str(rng.choice(["S", "C", "Q"]))
        lines.append(f'{i + 1},{survived},{pclass},"Person{i}, Mr. X",{sex},{age},{cabin},{embarked}')
    path.write_text("\n".join(lines) + "\n")
    return path
