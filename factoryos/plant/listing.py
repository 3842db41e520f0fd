"""Moved to `factoryos.listing` (every domain's list endpoints use it, the catalog too,
which must not import the plant).

Re-exported so existing imports keep working; new code imports the new home.
"""

from factoryos.listing import ListQuery, Page

__all__ = ["ListQuery", "Page"]
