"""Datasets: preparation helpers (``prep``) and loaders (``mnist``, ...).

Loaders read what ``data_prep/<name>.py`` wrote under :func:`genrepro.paths.data_dir`
and raise :class:`DataMissingError`, naming the exact command to run, when it is absent.
"""

from genrepro.data.prep import DataError, DataMissingError, run_prepare

__all__ = ["DataError", "DataMissingError", "run_prepare"]
