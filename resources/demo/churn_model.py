"""The mixed-type demo's model: a small network over the encoded customer table.

evalstudio reads churn.csv's text columns as categories and its numbers as numbers, and builds this
model with ``build_model(n_features=...)``: the number of inputs the column encoding makes (one
per category, one per number, one per "(missing)" indicator), not the number of columns in the file.
The output is one logit (Churn = Yes); training uses BCEWithLogitsLoss.
"""

import torch.nn as nn


def build_model(n_features: int = 31) -> nn.Module:
    return nn.Sequential(nn.Linear(n_features, 16), nn.ReLU(), nn.Linear(16, 1))
