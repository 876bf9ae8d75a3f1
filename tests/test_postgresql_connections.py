"""PostgreSQL connections as lms.db makes them: a unit of work begins its transaction at its first write
(reads before it need no BEGIN), and a connection the server dropped while it sat idle in the pool is
replaced before anyone uses it."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, delete, func, insert, select, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from lms import db as lms_db
from lms.models import Organization

pytestmark = pytest.mark.postgres


@pytest.fixture
def engine(app):
    """An engine made as the app makes its own, with a pool of its own."""
    made = lms_db.make_engine(app.config["DATABASE_URL"])
    yield made
    made.dispose()


@pytest.fixture
def outsider(app):
    """Another client of the same database: sees only what is committed."""
    other = create_engine(app.config["DATABASE_URL"], poolclass=NullPool)
    yield other
    other.dispose()


def organisations_named(outsider, slug: str) -> int:
    with outsider.connect() as conn:
        return conn.scalar(select(func.count()).select_from(Organization).where(Organization.slug == slug))


def test_writes_after_reads_are_one_transaction_that_rolls_back_whole(engine, outsider):
    with Session(engine) as session:
        session.scalar(select(func.count()).select_from(Organization))  # a read: no transaction yet
        session.add(Organization(slug="lazy-one", name="One"))
        session.flush()
        session.add(Organization(slug="lazy-two", name="Two"))
        session.flush()
        assert organisations_named(outsider, "lazy-one") == 0  # not committed by the first write
        session.rollback()
    assert organisations_named(outsider, "lazy-one") == organisations_named(outsider, "lazy-two") == 0


def test_a_locking_read_holds_its_lock_until_the_unit_of_work_ends(engine, outsider):
    with outsider.begin() as conn:
        conn.execute(insert(Organization).values(slug="locked-one", name="Locked"))
    claim = select(Organization.id).where(Organization.slug == "locked-one").with_for_update(skip_locked=True)
    try:
        with Session(engine) as holder:
            assert holder.scalar(claim) is not None  # the unit of work's first statement
            with outsider.connect() as other:
                assert other.scalar(claim) is None  # still locked by the holder
            holder.rollback()
        with outsider.connect() as other:
            assert other.scalar(claim) is not None
    finally:
        with outsider.begin() as conn:
            conn.execute(delete(Organization).where(Organization.slug == "locked-one"))


def test_a_connection_dropped_while_idle_is_replaced_before_use(engine, outsider, monkeypatch):
    with engine.connect() as conn:
        pid = conn.scalar(text("SELECT pg_backend_pid()"))
    with outsider.connect() as killer:  # as a server restart or an idle timeout would
        assert killer.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    monkeypatch.setattr(lms_db, "PING_AFTER_IDLE_S", 0.0)  # the connection counts as idle long enough

    with engine.connect() as conn:
        assert conn.scalar(text("SELECT 1")) == 1
        assert conn.scalar(text("SELECT pg_backend_pid()")) != pid
