"""The route audit walk's steps for the materials routes (see tests/audit/walk.py)."""

from __future__ import annotations
