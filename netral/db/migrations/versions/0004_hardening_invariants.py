"""hardening: append-only reviews and reports, TRUNCATE refused, reports need two different people

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

Why each trigger exists (issue 11, findings 4 and 18):

* ``BEFORE TRUNCATE`` on PostgreSQL: row triggers do not fire on TRUNCATE, so without these the
  application's own role could empty ``audit_log`` and ``verify`` would report a clean (empty) log.
* ``reviews`` and ``reports`` are append-only like ``audit_log``: a decision, once recorded, is
  evidence; a correction is a new review, never an edit.
* A report row needs the latest first-stage confirmation and the latest verification of its flag to
  be by two different users (unless the ``four_eyes`` policy row is switched off by the database
  owner, mirroring ``NETRAL_REQUIRE_SECOND_REVIEW=false``). The flag status alone could be set by any
  ``UPDATE flags``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Shared by both back ends: true when the report's flag has a confirmation and a verification by two
# different people, or the four-eyes policy is off and it has a confirmation.
_LATEST_CONFIRMER = ("(SELECT reviewer_id FROM reviews WHERE flag_id = NEW.flag_id AND stage = 'first' "
                     "AND decision = 'confirm' ORDER BY id DESC LIMIT 1)")
_LATEST_VERIFIER = ("(SELECT reviewer_id FROM reviews WHERE flag_id = NEW.flag_id AND stage = 'second' "
                    "AND decision = 'verify' ORDER BY id DESC LIMIT 1)")
_FOUR_EYES = "(SELECT enabled FROM db_policy WHERE name = 'four_eyes')"


def _reviewed_sql(false: str) -> str:
    return (f"{_LATEST_CONFIRMER} IS NOT NULL AND ("
            f"COALESCE({_FOUR_EYES}, TRUE) = {false} "
            f"OR ({_LATEST_VERIFIER} IS NOT NULL AND {_LATEST_VERIFIER} <> {_LATEST_CONFIRMER}))")


_SQLITE_UP = [
    """CREATE TRIGGER reviews_no_update BEFORE UPDATE ON reviews
       BEGIN SELECT RAISE(ABORT, 'reviews are append-only'); END""",
    """CREATE TRIGGER reviews_no_delete BEFORE DELETE ON reviews
       BEGIN SELECT RAISE(ABORT, 'reviews are append-only'); END""",
    """CREATE TRIGGER reports_no_update BEFORE UPDATE ON reports
       BEGIN SELECT RAISE(ABORT, 'reports are append-only'); END""",
    """CREATE TRIGGER reports_no_delete BEFORE DELETE ON reports
       BEGIN SELECT RAISE(ABORT, 'reports are append-only'); END""",
    # SQLite fires the newest trigger first: the status check is recreated last so it speaks first.
    "DROP TRIGGER reports_need_verified",
    f"""CREATE TRIGGER reports_need_two_people BEFORE INSERT ON reports
       WHEN NOT ({_reviewed_sql('0')})
       BEGIN SELECT RAISE(ABORT, 'a report needs a confirmation and a verification by two different users');
       END""",
    """CREATE TRIGGER reports_need_verified BEFORE INSERT ON reports
       WHEN (SELECT status FROM flags WHERE id = NEW.flag_id) NOT IN ('verified', 'reported')
       BEGIN SELECT RAISE(ABORT, 'a report needs a verified flag'); END""",
]

_SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS reviews_no_update",
    "DROP TRIGGER IF EXISTS reviews_no_delete",
    "DROP TRIGGER IF EXISTS reports_no_update",
    "DROP TRIGGER IF EXISTS reports_no_delete",
    "DROP TRIGGER IF EXISTS reports_need_two_people",
]

_PG_UP = [
    """CREATE FUNCTION netral_refuse_statement() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION '%', TG_ARGV[0]; END; $$ LANGUAGE plpgsql""",
    *[f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
          FOR EACH STATEMENT EXECUTE FUNCTION netral_refuse_statement('{what}')"""
      for table, what in (("audit_log", "audit log is append-only"), ("posts", "posts are immutable snapshots"),
                          ("reviews", "reviews are append-only"), ("reports", "reports are append-only"))],
    """CREATE TRIGGER reviews_append_only BEFORE UPDATE OR DELETE ON reviews
       FOR EACH ROW EXECUTE FUNCTION netral_refuse('reviews are append-only')""",
    """CREATE TRIGGER reports_append_only BEFORE UPDATE OR DELETE ON reports
       FOR EACH ROW EXECUTE FUNCTION netral_refuse('reports are append-only')""",
    f"""CREATE OR REPLACE FUNCTION netral_report_needs_verified() RETURNS trigger AS $$
       BEGIN
         IF (SELECT status FROM flags WHERE id = NEW.flag_id) NOT IN ('verified', 'reported') THEN
           RAISE EXCEPTION 'a report needs a verified flag';
         END IF;
         IF NOT COALESCE(({_reviewed_sql('FALSE')}), FALSE) THEN
           RAISE EXCEPTION 'a report needs a confirmation and a verification by two different users';
         END IF;
         RETURN NEW;
       END; $$ LANGUAGE plpgsql""",
]

_PG_DOWN = [
    *[f"DROP TRIGGER IF EXISTS {t}_no_truncate ON {t}" for t in ("audit_log", "posts", "reviews", "reports")],
    "DROP TRIGGER IF EXISTS reviews_append_only ON reviews",
    "DROP TRIGGER IF EXISTS reports_append_only ON reports",
    "DROP FUNCTION IF EXISTS netral_refuse_statement() CASCADE",
    """CREATE OR REPLACE FUNCTION netral_report_needs_verified() RETURNS trigger AS $$
       BEGIN
         IF (SELECT status FROM flags WHERE id = NEW.flag_id) NOT IN ('verified', 'reported') THEN
           RAISE EXCEPTION 'a report needs a verified flag';
         END IF;
         RETURN NEW;
       END; $$ LANGUAGE plpgsql""",
]


def upgrade() -> None:
    op.create_table(
        "db_policy",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.execute(sa.text("INSERT INTO db_policy (name, enabled) VALUES ('four_eyes', TRUE)"))
    for stmt in _PG_UP if op.get_bind().dialect.name == "postgresql" else _SQLITE_UP:
        op.execute(stmt)


def downgrade() -> None:
    for stmt in _PG_DOWN if op.get_bind().dialect.name == "postgresql" else _SQLITE_DOWN:
        op.execute(stmt)
    op.drop_table("db_policy")
