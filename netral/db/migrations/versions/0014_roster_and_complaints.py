"""roster as it is (PPPK, non-ASN, rank, superior, PPK, deactivation) and complaint intake

* ``accounts``: ``nip`` (and the dates read from it) become optional, because non-ASN staff
  (honorer/PPNPN) have no NIP; they are identified by ``employee_number`` (the institution's own staff
  number). ``employment_type`` (PNS / PPPK / non-ASN) decides how the 18-digit number is read, since an
  NI PPPK is laid out differently from a NIP. ``rank_grade``, ``superior_nip`` and ``ppk`` are what a
  report's addressee needs; ``active`` with its date and reason records a deactivation.
* ``flags.source``: ``model`` (the scan) or ``complaint`` (a complaint recorded by staff); both follow the
  same review path.
* ``complaints``: append-only like ``reviews`` and ``reports`` (a recorded complaint is evidence). Its
  text and link are stored as a post (kind ``complaint``) so the post immutability trigger covers it.
  Like a dismissed flag's reviews (0011), a complaint row may be deleted only together with its post by
  the retention purge, i.e. while a ``post_deletions`` permit names that post.

SQLite cannot make a column nullable in place: ``accounts`` is copied. The copy runs with foreign keys
off (``handles`` cascade on delete: dropping the old table with them on would empty ``handles``), which
SQLite honours only outside a transaction, hence ``transaction_per_migration`` in ``env.py``; the
migration refuses to run rather than copy with them on, and checks the foreign keys afterwards.
``flags.source`` is added in place (a column CHECK is allowed in SQLite's ADD COLUMN).

The vocabulary values are frozen here as they were when this revision was written.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import netral.db.types

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EMPLOYMENT_TYPES = ("pns", "pppk", "non_asn")
_FLAG_SOURCES = ("model", "complaint")
_COMPLAINT_SOURCES = ("public", "bawaslu", "superior")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


_REFUSED = "complaints are append-only"
_SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER complaints_no_update BEFORE UPDATE ON complaints
       BEGIN SELECT RAISE(ABORT, '{_REFUSED}'); END""",
    f"""CREATE TRIGGER complaints_no_delete BEFORE DELETE ON complaints
       WHEN NOT EXISTS (SELECT 1 FROM post_deletions d WHERE d.post_id = OLD.post_id)
       BEGIN SELECT RAISE(ABORT, '{_REFUSED}'); END""",
]
_PG_TRIGGERS = [
    f"""CREATE TRIGGER complaints_append_only BEFORE UPDATE ON complaints
       FOR EACH ROW EXECUTE FUNCTION netral_refuse('{_REFUSED}')""",
    f"""CREATE FUNCTION netral_complaint_delete_permitted() RETURNS trigger AS $$
       BEGIN
         IF NOT EXISTS (SELECT 1 FROM post_deletions d WHERE d.post_id = OLD.post_id) THEN
           RAISE EXCEPTION '{_REFUSED}';
         END IF;
         RETURN OLD;
       END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER complaints_delete_needs_permit BEFORE DELETE ON complaints
       FOR EACH ROW EXECUTE FUNCTION netral_complaint_delete_permitted()""",
    f"""CREATE TRIGGER complaints_no_truncate BEFORE TRUNCATE ON complaints
       FOR EACH STATEMENT EXECUTE FUNCTION netral_refuse_statement('{_REFUSED}')""",
]


def _foreign_keys_off() -> None:
    op.execute("PRAGMA foreign_keys=OFF")
    if op.get_bind().exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError("migration 0014: SQLite kept foreign keys on (a transaction was open); copying "
                           "accounts now would delete every handle. Run `netral db upgrade` again.")


def _foreign_keys_on() -> None:
    problems = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if problems:
        raise RuntimeError(f"migration 0014: foreign keys broken after copying accounts: {problems[:5]}")
    op.execute("PRAGMA foreign_keys=ON")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        _foreign_keys_off()
        op.execute("PRAGMA legacy_alter_table=ON")
    with op.batch_alter_table("accounts", recreate="always" if sqlite else "never") as batch:
        batch.alter_column("nip", existing_type=sa.String(18), nullable=True)
        batch.alter_column("birth_date", existing_type=sa.Date(), nullable=True)
        batch.alter_column("appointed", existing_type=sa.Date(), nullable=True)
        batch.add_column(sa.Column("employee_number", sa.String(64), nullable=True))
        batch.add_column(sa.Column("employment_type", sa.String(16), nullable=False, server_default="pns"))
        batch.add_column(sa.Column("rank_grade", sa.String(100), nullable=False, server_default=""))
        batch.add_column(sa.Column("superior_nip", sa.String(18), nullable=True))
        batch.add_column(sa.Column("ppk", sa.String(200), nullable=False, server_default=""))
        batch.add_column(sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("deactivated_at", netral.db.types.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("deactivation_reason", sa.Text(), nullable=True))
        batch.create_unique_constraint("uq_accounts_employee_number", ["employee_number"])
        batch.create_check_constraint(op.f("ck_accounts_employment_type_allowed"),
                                      _in("employment_type", _EMPLOYMENT_TYPES))
    if sqlite:
        op.execute("PRAGMA legacy_alter_table=OFF")
        _foreign_keys_on()
        op.execute("ALTER TABLE flags ADD COLUMN source VARCHAR(16) DEFAULT 'model' NOT NULL "
                   f"CONSTRAINT ck_flags_source_allowed CHECK ({_in('source', _FLAG_SOURCES)})")
    else:
        op.add_column("flags", sa.Column("source", sa.String(16), nullable=False, server_default="model"))
        op.create_check_constraint(op.f("ck_flags_source_allowed"), "flags", _in("source", _FLAG_SOURCES))

    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flag_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("complainant", sa.String(200), nullable=False),
        sa.Column("link", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("screenshot_sha256", sa.String(64), nullable=True),
        sa.Column("screenshot_type", sa.String(32), nullable=True),
        sa.Column("screenshot_bytes", sa.Integer(), nullable=True),
        sa.Column("received_at", netral.db.types.UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=False),
        sa.Column("created_at", netral.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["flag_id"], ["flags.id"]),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"]),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.ForeignKeyConstraint(["recorded_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("flag_id"),
        sa.UniqueConstraint("post_id"),
        sa.CheckConstraint(_in("source", _COMPLAINT_SOURCES), name=op.f("ck_complaints_source_allowed")),
    )
    op.create_index(op.f("ix_complaints_account_id"), "complaints", ["account_id"], unique=False)
    for stmt in _SQLITE_TRIGGERS if sqlite else _PG_TRIGGERS:
        op.execute(stmt)


def downgrade() -> None:
    """Back to 0013. Refused while non-ASN accounts exist (0013 needs a NIP for every account); complaint
    snapshots stay as posts (posts are immutable) and their flags as ordinary flags."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if op.get_bind().execute(sa.text("SELECT COUNT(*) FROM accounts WHERE nip IS NULL")).scalar():
        raise RuntimeError("migration 0014 downgrade: accounts without NIP (non-ASN) exist; 0013 cannot hold them")
    if sqlite:
        for stmt in ("DROP TRIGGER IF EXISTS complaints_no_update", "DROP TRIGGER IF EXISTS complaints_no_delete"):
            op.execute(stmt)
    else:
        op.execute("DROP FUNCTION IF EXISTS netral_complaint_delete_permitted() CASCADE")
    op.drop_index(op.f("ix_complaints_account_id"), table_name="complaints")
    op.drop_table("complaints")
    if sqlite:
        _foreign_keys_off()
        op.execute("PRAGMA legacy_alter_table=ON")
    with op.batch_alter_table("flags", recreate="always" if sqlite else "never") as batch:
        batch.drop_constraint(op.f("ck_flags_source_allowed"), type_="check")
        batch.drop_column("source")
    with op.batch_alter_table("accounts", recreate="always" if sqlite else "never") as batch:
        batch.drop_constraint(op.f("ck_accounts_employment_type_allowed"), type_="check")
        batch.drop_constraint("uq_accounts_employee_number", type_="unique")
        for column in ("deactivation_reason", "deactivated_at", "active", "ppk", "superior_nip", "rank_grade",
                       "employment_type", "employee_number"):
            batch.drop_column(column)
        batch.alter_column("nip", existing_type=sa.String(18), nullable=False)
        batch.alter_column("birth_date", existing_type=sa.Date(), nullable=False)
        batch.alter_column("appointed", existing_type=sa.Date(), nullable=False)
    if sqlite:
        op.execute("PRAGMA legacy_alter_table=OFF")
        _foreign_keys_on()
