"""The first tutorial's model for the Pima Indians diabetes data: 8 -> 12 -> 8 -> 1, ending in Sigmoid.

evalstudio builds it with ``build_model()``; the output is already a probability, so training
uses BCELoss and evaluation applies no further sigmoid.
"""

import torch.nn as nn


class PimaClassifier(nn.Module):
    def __init__(self, n_features: int = 8) -> None:
        super().__init__()
        self.hidden1 = nn.Linear(n_features, 12)
        self.act1 = nn.ReLU()
        self.hidden2 = nn.Linear(12, 8)
        self.act2 = nn.ReLU()
        self.output = nn.Linear(8, 1)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x):
        x = self.act1(self.hidden1(x))
        x = self.act2(self.hidden2(x))
        return self.sigmoid(self.output(x))


def build_model(n_features: int = 8) -> nn.Module:
    return PimaClassifier(n_features)
