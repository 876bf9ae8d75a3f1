"""Alembic environment: the engine comes from the application (lms.migrate) or LMS_DATABASE_URL."""

from __future__ import annotations

from alembic import context

import lms.models  # noqa: F401  (registers every table)
from lms.db import Base, make_engine

config = context.config
engine = config.attributes.get("engine")
if engine is None:
    from lms import config as lms_config

    engine = make_engine(lms_config.load()["DATABASE_URL"])

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
