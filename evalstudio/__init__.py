"""evalstudio: honest, fast evaluation of PyTorch classifiers."""

__version__ = "0.1.0"
