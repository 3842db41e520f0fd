"""Which connection a backup uses: the superuser's, on the FactoryOS database.

The owner role cannot dump (FORCE ROW LEVEL SECURITY hides every row from it) and the
app role must never get more rights, so backups use the admin URL the configuration
already holds for `db init` and `audit verify`.
"""

from __future__ import annotations

from sqlalchemy import make_url

from factoryos.db.engine import DatabaseUrls


def backup_source_url(urls: DatabaseUrls, database: str) -> str | None:
    """The admin URL pointed at `database`, or None when no admin URL is configured."""
    if not urls.admin:
        return None
    return make_url(urls.admin).set(database=database).render_as_string(hide_password=False)
