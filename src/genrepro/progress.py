"""Progress reporting that reads well both in a terminal and in the rendered book.

Interactive runs get tqdm bars. Chapters executed by the book runner (which sets
``GENREPRO_PROGRESS=log``) print one short line per milestone instead, since a notebook
stores every refresh of a text progress bar as output.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from tqdm import TqdmWarning

with warnings.catch_warnings():  # no ipywidgets in a papermill kernel: fall back quietly
    warnings.simplefilter("ignore", TqdmWarning)
    from tqdm.auto import tqdm


def mode() -> str:
    """'bar' (tqdm), 'log' (milestone lines) or 'off', from ``GENREPRO_PROGRESS``."""
    m = os.environ.get("GENREPRO_PROGRESS", "bar")
    return m if m in ("bar", "log", "off") else "bar"


def bar(enabled: bool = True, **kw: Any) -> tqdm:
    """A tqdm bar, disabled unless ``enabled`` and the mode is 'bar'."""
    return tqdm(disable=not enabled or mode() != "bar", mininterval=2.0, **kw)


def log(message: str, enabled: bool = True) -> None:
    """Print ``message`` when ``enabled`` and the mode is 'log'."""
    if enabled and mode() == "log":
        print(message, flush=True)
