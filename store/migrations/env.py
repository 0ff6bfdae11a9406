"""Alembic environment: runs migrations on the engine the store hands over."""

from alembic import context

from signpost.store.schema import metadata

engine = context.config.attributes.get("engine")
if engine is None:
    from signpost.config.settings import load_settings
    from signpost.store.db import make_engine

    engine = make_engine(load_settings().store_url)


def render_item(type_, obj, autogen_context):
    """Migrations name plain SQLAlchemy types, so they never import our schema module."""
    if type_ == "type" and type(obj).__name__ == "UTCDateTime":
        return "sa.DateTime(timezone=True)"
    return False


with engine.begin() as connection:
    # SQLite cannot ALTER most things in place; batch mode rebuilds tables instead.
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
    )
    context.run_migrations()
