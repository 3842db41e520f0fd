"""Moved to `factoryos.db.constraints` (the catalog needs it too, and must not import the plant).

Re-exported so existing imports keep working; new code imports the new home.
"""

from factoryos.db.constraints import constraint_errors, constraint_name

__all__ = ["constraint_errors", "constraint_name"]
