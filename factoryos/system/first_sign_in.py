"""The owner's first password, left by the installer in a file: removed once it served.

`factoryos install` writes the generated password to a root-only file so the admin can sign
in. A plain password on disk should not outlive its use: the server removes the file when the
account it names signs in, or once it is 24 hours old, whichever comes first.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

log = logging.getLogger(__name__)

MAX_AGE_SECONDS = 24 * 3600


def named_email(path: Path) -> str | None:
    """The `email:` line of the file, or None when there is no readable file."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        key, _, value = line.partition(":")
        if key.strip() == "email":
            return value.strip()
    return None


def retire(path: Path, *, signed_in: str | None = None, now: float | None = None,
           max_age: float = MAX_AGE_SECONDS) -> bool:
    """Remove the file if `signed_in` is the account it names or it is older than `max_age`."""
    try:
        age = (time.time() if now is None else now) - path.stat().st_mtime
    except FileNotFoundError:
        return False
    except OSError as exc:
        log.warning("could not look at the first sign-in file: %s", exc.strerror)
        return False
    email = named_email(path) if signed_in is not None else None
    due = age >= max_age or (email is not None and email.casefold() == signed_in.casefold())  # type: ignore[union-attr]
    if not due:
        return False
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        log.warning("could not remove the first sign-in file: %s", exc.strerror)
        return False
    log.info("removed the owner's first password (%s)", "first sign-in" if age < max_age else "24 hours old")
    return True
