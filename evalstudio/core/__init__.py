"""Qt-free core: data, models, evaluation, metrics, training, cross-validation.

Nothing in here imports PySide6, pyqtgraph or the front ends (checked by import-linter).
"""
