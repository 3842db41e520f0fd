"""SQLAlchemy Core table definitions, one module per domain.

Migrations under factoryos/db/migrations are the source of truth for DDL (RLS, grants,
triggers); these definitions are the query layer and must match them (a test compares).
"""

from factoryos.schema.base import metadata
from factoryos.schema import audit, catalog, connectivity, identity, plant, production, tenancy  # noqa: F401  (register tables)
from factoryos.schema import jobs, onboarding, orders  # noqa: F401
from factoryos.schema import handover  # noqa: F401
from factoryos.schema import nonconformances, signatures  # noqa: F401
from factoryos.schema import materials  # noqa: F401
from factoryos.schema import sso  # noqa: F401
from factoryos.schema import quality  # noqa: F401
from factoryos.schema import maintenance  # noqa: F401
from factoryos.schema import integrations  # noqa: F401
from factoryos.schema import edges  # noqa: F401

__all__ = ["metadata"]
