"""Qt-free core, in four layers that only look down (checked by import-linter, see pyproject.toml):

- :mod:`~evalstudio.core.training` -- the loop, its configuration, callbacks, splits, k-fold
- :mod:`~evalstudio.core.evaluation` -- predicting, metrics, thresholds, curves, reports
- :mod:`~evalstudio.core.models` -- model files, checkpoints (evalstudio's format), devices
- :mod:`~evalstudio.core.data` -- CSV sniffing and reading, the dataset, preprocessing

and under them all :mod:`~evalstudio.core.paths` (a command's inputs and outputs, folder locks),
:mod:`~evalstudio.core.errors` (the error types every layer raises) and :mod:`~evalstudio.core.atomic`
(crash-safe file writes). Nothing in here imports PySide6,
pyqtgraph or the front ends.
"""
