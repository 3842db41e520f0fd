"""The active license: one file, replaced atomically on activation."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from factoryos.licensing.document import License
from factoryos.licensing.verify import verify_license

if TYPE_CHECKING:
    from factoryos.config import Settings

LICENSE_FILE_ENV = "FACTORYOS_LICENSE_FILE"  # read by Settings.license_file
LICENSE_FILE_NAME = "license.lic"


def default_license_path(settings: Settings) -> Path:
    """`settings.license_file` (`$FACTORYOS_LICENSE_FILE`), else `<data dir>/license.lic`."""
    return settings.license_file or settings.data_dir / LICENSE_FILE_NAME


def read_license_argument(value: str) -> str:
    """`license activate FILE|KEY`: a path that exists is read, anything else is the key."""
    candidate = Path(value).expanduser()
    try:
        if candidate.is_file():
            return candidate.read_text()
    except OSError:  # a long key is not a valid file name
        pass
    return value


def activate(text: str, path: Path, **verify_options: Any) -> License:
    """Verify first, so a bad key never replaces a good one."""
    document = verify_license(text, **verify_options)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".license-")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(f"# FactoryOS license for {document.customer}\n{text.strip()}\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return document


def load_active(path: Path, **verify_options: Any) -> License | None:
    """The activated license, verified again (None when none was activated)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    return verify_license(text, **verify_options)
