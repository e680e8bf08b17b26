"""A small multiclass model for scikit-learn's wine data (13 features, 3 cultivars).

It has BatchNorm and Dropout on purpose: the mode audit shows how train-mode passes jitter.
Outputs are 3 logits (softmax at evaluation, CrossEntropyLoss in training).
"""

import torch.nn as nn


def build_model(n_features: int = 13, n_classes: int = 3) -> nn.Module:
    return nn.Sequential(
        nn.Linear(n_features, 32),
        nn.BatchNorm1d(32),
        nn.ReLU(),
        nn.Dropout(0.3),
        nn.Linear(32, n_classes),
    )
