"""Models in: model files, checkpoints (evalstudio's own format, key matching, pickle safety), output kinds, devices.

May use :mod:`evalstudio.core.data` below it; knows nothing of evaluation or training.
"""
