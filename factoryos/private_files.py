"""Files that hold secrets (a session, a pair file, cached PLC passwords): written whole or not at all,
and never readable by others, not even for a moment."""

from __future__ import annotations

import os
from pathlib import Path


def write_private(path: Path, text: str) -> Path:
    """`text` into `path`, mode 0600 from its creation: written beside it, then swapped in."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, 0o600)  # an older file of that name kept its mode through O_CREAT
    os.replace(tmp, path)
    return path
