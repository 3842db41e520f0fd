"""Moved to `factoryos.patching` (the catalog needs it too, and must not import the plant).

Re-exported so existing imports keep working; new code imports the new home.
"""

from factoryos.patching import changes

__all__ = ["changes"]
