"""Alembic environment of the evfleet run store.

The store runs the migrations itself (``evfleet.store.runs.open_store``) and hands over an open connection in
``config.attributes["connection"]``; the ``alembic`` command line works too with ``-x url=...``.
On PostgreSQL a transaction-level advisory lock serialises concurrent upgrades; on SQLite the store's
``BEGIN IMMEDIATE`` does.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

#: Arbitrary constant identifying evfleet's migration lock on PostgreSQL.
_PG_LOCK_ID = 7_214_150


def _run(connection: sa.engine.Connection) -> None:
    context.configure(connection=connection, target_metadata=None, transaction_per_migration=False)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_ID})")
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("give the database with: alembic -x url=sqlite:///path/to/evfleet.db upgrade head")
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
