"""Undo actions recorded while installing, run in reverse when a step fails, so a failed
install leaves the host as it found it."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)


class UndoStack:
    def __init__(self) -> None:
        self._actions: list[tuple[str, Callable[[], None]]] = []

    def push(self, description: str, action: Callable[[], None]) -> None:
        self._actions.append((description, action))

    def remove_if_new(self, path: Path) -> None:
        """Record that `path` is about to be created, unless it exists already."""
        if path.exists():
            return

        def _remove() -> None:
            if path.is_dir():
                shutil.rmtree(path)
            else:  # also when it was never created (the step failed first): nothing to undo
                path.unlink(missing_ok=True)

        self.push(f"remove {path}", _remove)

    def restore_file(self, path: Path) -> None:
        """Record a file's current content (or absence) before it is rewritten."""
        if not path.exists():
            self.push(f"remove {path}", lambda: path.unlink(missing_ok=True))
            return
        saved = path.read_bytes()
        mode = path.stat().st_mode & 0o777

        def _restore() -> None:
            path.write_bytes(saved)
            path.chmod(mode)

        self.push(f"restore {path}", _restore)

    def run(self) -> list[str]:
        """Undo everything, newest first; returns what could not be undone."""
        problems = []
        while self._actions:
            description, action = self._actions.pop()
            try:
                action()
            except Exception as exc:  # keep undoing the rest
                log.warning("could not %s: %s", description, exc)
                problems.append(f"{description}: {exc}")
        return problems

    def clear(self) -> None:
        self._actions.clear()

    def descriptions(self) -> list[str]:
        """What undoing would do, oldest first ([] when nothing was changed yet)."""
        return [description for description, _ in self._actions]
