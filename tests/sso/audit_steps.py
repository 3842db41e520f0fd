"""The route audit walk's steps for the sso routes (see tests/audit/walk.py)."""

from __future__ import annotations
