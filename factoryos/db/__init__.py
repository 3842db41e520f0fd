"""Database layer: embedded PostgreSQL, roles, engines, tenant sessions, migrations."""
