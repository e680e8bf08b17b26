"""Tables in: CSV sniffing and reading, the :class:`~evalstudio.core.data.dataset.Dataset`, previews, preprocessing.

The bottom layer of the core: below it only :mod:`evalstudio.core.paths`, :mod:`evalstudio.core.errors`
and :mod:`evalstudio.core.atomic` (and numpy, pandas, pyarrow).
"""
