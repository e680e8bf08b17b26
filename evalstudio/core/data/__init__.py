"""Tables in: CSV sniffing and reading, the :class:`~evalstudio.core.data.dataset.Dataset`, previews, preprocessing.

The bottom layer of the core: it uses only :mod:`evalstudio.core.errors` (and numpy, pandas, pyarrow).
"""
