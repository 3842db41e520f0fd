"""Waiting in tests for something another process or thread does."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def until(check: Callable[[], T], what: str, timeout: float = 30.0, step: float = 0.1) -> T:
    """`check()`'s first truthy answer within `timeout` seconds; else fails naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what}")
