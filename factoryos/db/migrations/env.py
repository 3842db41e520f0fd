"""Alembic environment: online migrations only, as the owner role, one runner at a time."""

from alembic import context
from sqlalchemy import create_engine, pool, text

from factoryos.schema import metadata

# Any constant works; it only has to be the same for every migrating process.
MIGRATION_LOCK = 7_340_033


def run() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as conn:
        conn.execute(text("select pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
        conn.commit()
        try:
            context.configure(connection=conn, target_metadata=metadata, transaction_per_migration=True)
            with context.begin_transaction():
                context.run_migrations()
        finally:
            conn.execute(text("select pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})
            conn.commit()
    engine.dispose()


run()
