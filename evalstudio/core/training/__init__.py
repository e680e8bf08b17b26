"""Training a model: the loop, its configuration, callbacks, early stopping, splits, k-fold and the stacked folds.

The top layer of the core: may use evaluation (per-epoch metrics), models and data.
"""
