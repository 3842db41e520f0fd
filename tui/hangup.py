"""A terminal driver that outlives its terminal.

When the terminal goes away (the window closed, an SSH session dropped) every write to it fails.
Textual writes from a background thread that ends at the first failed write, after which the
app blocks on its full output queue and never leaves. This driver drops what cannot be written,
so the app can still be told to exit (the demo does so on SIGHUP) and its owner can shut down
cleanly.
"""

from __future__ import annotations

from typing import IO, Any

from textual.drivers.linux_driver import LinuxDriver


class _Dropping:
    """The driver's output file; writes to a terminal that is gone are dropped."""

    def __init__(self, file: IO[str]) -> None:
        self._file = file

    def write(self, text: str) -> int:
        try:
            return self._file.write(text)
        except OSError:  # EIO: the terminal hung up
            return len(text)

    def flush(self) -> None:
        try:
            self._file.flush()
        except OSError:
            pass

    def fileno(self) -> int:
        return self._file.fileno()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


class HangupSafeDriver(LinuxDriver):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._file = _Dropping(self._file)  # type: ignore[assignment]
