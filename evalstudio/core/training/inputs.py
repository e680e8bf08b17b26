"""A run's inputs: the column encoding learned from its training rows, then standardisation.

Used by :func:`evalstudio.core.training.loop.fit` and the stacked k-fold trainer alike, so a fold
trained alone and a fold trained stacked see the same inputs. A loaded dataset's encoding fixes
the inputs (the model's width); its knowledge -- medians, which categories are known, whether
missing cells were seen -- is learned here again from the training rows only, and the
validation rows are encoded with it. Datasets built in memory from a matrix have no encoding
and pass through.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evalstudio.core.data.encoding_state import from_state, to_state
from evalstudio.core.data.preprocessing import Standardizer

if TYPE_CHECKING:
    from evalstudio.core.data.dataset import Dataset
    from evalstudio.core.data.encoding import Encoding


def encode_training_rows(
    data: "Dataset", train: "Dataset", val: "Dataset | None", *, fixed: "Encoding | None" = None
) -> tuple["Dataset", "Dataset | None", "Encoding | None"]:
    """(training rows, validation rows, encoding): both encoded with an encoding learned from ``train``.

    ``fixed`` (a resumed run's or a fine-tuned checkpoint's encoding) is used as it is instead.
    """
    if fixed is not None:
        enc: Encoding | None = fixed
    elif data.encoding is not None and train.table is not None:
        enc = data.encoding.refit(train.table)
    else:
        enc = None
    if enc is None:
        return train, val, None
    return train.encoded_with(enc), (val.encoded_with(enc) if val is not None else None), enc


def fit_scaler(train: "Dataset", encoding: "Encoding | None") -> Standardizer:
    """A Standardizer fitted on the training rows' numeric inputs (one-hot and indicators pass through)."""
    mask = encoding.scaled_mask() if encoding is not None and encoding.width == train.n_features else None
    return Standardizer.fit(train.X, columns=mask)


def run_inputs(
    data: "Dataset", train: "Dataset", val: "Dataset | None", *, resume: dict[str, Any] | None,
    reuse: "Encoding | None", notes: list[str],
) -> tuple["Dataset", "Dataset | None", "Encoding | None"]:
    """:func:`encode_training_rows` for one run of ``fit``: a resumed run keeps its checkpoint's
    encoding (none when it recorded none), a fine-tuned one the starting checkpoint's (``reuse``)."""
    fixed = reuse
    if resume is not None:
        fixed = from_state(resume["encoding"]) if resume.get("encoding") is not None else None
        if fixed is None:
            return train, val, None
    elif reuse is not None:
        notes.append("column encoding reused from the starting checkpoint (learned from its training rows)")
    return encode_training_rows(data, train, val, fixed=fixed)


def encoding_meta(encoding: "Encoding | None") -> dict[str, Any]:
    """The checkpoint fields a run's encoding fills: ``encoding`` and the inputs' ``feature_names``."""
    if encoding is None:
        return {}
    return {"encoding": to_state(encoding), "feature_names": list(encoding.input_names)}
