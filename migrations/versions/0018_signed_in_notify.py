"""signed-in notify: PostgreSQL tells every worker when a signed-in person's rows change

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-26 02:00:00.000000

On PostgreSQL each worker keeps a copy of the people signed in through it (lms.signed_in) and listens on
the channel `lms_signed_in`. A statement that changes a row the signed-in lookup reads
(lms.services.sessions) notifies the channel, on commit, with what it touched: user ids, `o<org id>` for
an organisation or one of its units, or `*` for everything (a new content release, a TRUNCATE, or more
ids than a notification holds). SQLite has no such channel, and keeps no copy.
"""

from __future__ import annotations

from alembic import op


revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

CHANNEL = "lms_signed_in"
# The tables the signed-in lookup reads, what a changed row of each tells the workers, and which changes
# can touch a copy (a new session, person, organisation or unit is in no one's copy yet).
TABLES = {
    "user_account": ("r.id::text", ("UPDATE", "DELETE")),
    "user_session": ("r.user_id::text", ("UPDATE", "DELETE")),
    "membership": ("r.user_id::text", ("INSERT", "UPDATE", "DELETE")),
    "organization": ("'o' || r.id", ("UPDATE", "DELETE")),
    "org_unit": ("'o' || r.org_id", ("UPDATE", "DELETE")),
    "invitation": (
        "(SELECT u.id::text FROM user_account u WHERE u.email = r.email)",
        ("INSERT", "UPDATE", "DELETE"),
    ),
    "prompt_delivery": ("r.user_id::text", ("INSERT", "UPDATE", "DELETE")),
    "content_release": ("'*'", ("INSERT", "UPDATE", "DELETE")),
}
TRANSITIONS = {
    "INSERT": "REFERENCING NEW TABLE AS new_rows",
    "UPDATE": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "DELETE": "REFERENCING OLD TABLE AS old_rows",
}


def _function(table: str, key: str) -> str:
    rows = {
        "INSERT": f"SELECT {key} AS k FROM new_rows r",
        "UPDATE": f"SELECT {key} AS k FROM old_rows r UNION SELECT {key} FROM new_rows r",
        "DELETE": f"SELECT {key} AS k FROM old_rows r",
    }
    return f"""
CREATE OR REPLACE FUNCTION lms_signed_in_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    keys text;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        keys := '*';
    ELSIF TG_OP = 'INSERT' THEN
        SELECT string_agg(DISTINCT k, ',') INTO keys FROM ({rows["INSERT"]}) changed;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT string_agg(DISTINCT k, ',') INTO keys FROM ({rows["UPDATE"]}) changed;
    ELSE
        SELECT string_agg(DISTINCT k, ',') INTO keys FROM ({rows["DELETE"]}) changed;
    END IF;
    IF keys IS NOT NULL THEN
        -- A notification holds under 8000 bytes: beyond a few thousand ids, everyone is touched.
        IF length(keys) > 7000 THEN
            keys := '*';
        END IF;
        PERFORM pg_notify('{CHANNEL}', keys);
    END IF;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, (key, events) in TABLES.items():
        op.execute(_function(table, key))
        for event in events:
            op.execute(
                f"CREATE TRIGGER lms_signed_in_{event.lower()} AFTER {event} ON {table} "
                f"{TRANSITIONS[event]} FOR EACH STATEMENT EXECUTE FUNCTION lms_signed_in_{table}()"
            )
        op.execute(
            f"CREATE TRIGGER lms_signed_in_truncate AFTER TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION lms_signed_in_{table}()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP FUNCTION IF EXISTS lms_signed_in_{table}() CASCADE")
