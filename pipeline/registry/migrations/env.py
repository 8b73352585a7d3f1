"""Alembic's entry point: run the migrations on the connection pipeline.registry.migrate
hands over (there is no alembic.ini; `supportplan upgrade` and every command use this)."""

from alembic import context

from pipeline.registry.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
