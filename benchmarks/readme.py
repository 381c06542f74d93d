"""Write one benchmark's section of benchmarks/README.md, leaving the others as they are."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

README = Path(__file__).resolve().parent / "README.md"
HEADER = ("# Benchmarks\n\nSpeed figures, each written by the script named in its section (run it "
          "again to refresh it). Machines are noisy: each figure is compared with a peer measured "
          "in the same run, and the ratio is the number to read.\n")


def update_section(title: str, body: str, path: Path = README) -> None:
    """Replace (or append) the section ``## title`` of ``path`` with ``body``, atomically."""
    text = path.read_text() if path.is_file() else HEADER
    block = f"## {title}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _: block + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + block
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".README.")
    with os.fdopen(fd, "w") as f:
        f.write(text.rstrip() + "\n")
    os.replace(tmp, path)
