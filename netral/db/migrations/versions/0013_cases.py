"""cases after the report: cases, their append-only steps and attachments

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

A report starts a case (issue 13, item 1). The steps of a case are decisions of record (a letter sent,
a BAP signed, a decree issued), so like ``reviews`` and ``reports`` they are append-only, with
TRUNCATE refused on PostgreSQL; a correction is a new step. The case row itself only moves forward:
it is never deleted, never re-pointed at another report, and a closed case accepts no further step
and never reopens, whatever SQL reaches the database.

Vocabulary values are frozen here as they were when this revision was written (see 0003).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import netral.db.types

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CASE_STATUSES = ("open", "forwarded", "clarification", "examination", "recommendation", "sanctioned",
                  "closed_proven", "closed_not_proven")
_STEPS = ("forwarded_bawaslu", "forwarded_discipline", "handling_extended", "clarification_invited", "asn_response",
          "examination", "recommendation", "sanction", "closed_proven", "closed_not_proven")
_BODIES = ("bawaslu", "ppk", "bkn", "inspektorat", "majelis_kode_etik")
_SANCTIONS = ("moderate_allowance_cut_6m", "moderate_allowance_cut_9m", "moderate_allowance_cut_12m",
              "severe_demotion_12m", "severe_release_12m", "severe_dismissal", "moral_closed", "moral_open", "other")
_MEDIA_TYPES = ("application/pdf", "image/png", "image/jpeg")
_CLOSED = "('closed_proven', 'closed_not_proven')"


def _check(table: str, column: str, values: tuple[str, ...], nullable: bool = False) -> sa.CheckConstraint:
    sql = f"{column} IN ({', '.join(repr(v) for v in values)})"
    return sa.CheckConstraint(f"{column} IS NULL OR {sql}" if nullable else sql,
                              name=op.f(f"ck_{table}_{column}_allowed"))


_SQLITE_UP = [
    *[f"""CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table}
          BEGIN SELECT RAISE(ABORT, '{what}'); END"""
      for table, what in (("case_steps", "case steps are append-only"),
                          ("case_attachments", "case attachments are append-only"))
      for verb in ("UPDATE", "DELETE")],
    """CREATE TRIGGER cases_no_delete BEFORE DELETE ON cases
       BEGIN SELECT RAISE(ABORT, 'cases are never deleted'); END""",
    """CREATE TRIGGER cases_fixed_origin BEFORE UPDATE OF report_id, opened_at, opened_by ON cases
       WHEN NEW.report_id IS NOT OLD.report_id OR NEW.opened_at IS NOT OLD.opened_at
            OR NEW.opened_by IS NOT OLD.opened_by
       BEGIN SELECT RAISE(ABORT, 'a case keeps its report and opening'); END""",
    f"""CREATE TRIGGER cases_stay_closed BEFORE UPDATE OF status ON cases
       WHEN OLD.status IN {_CLOSED} AND NEW.status IS NOT OLD.status
       BEGIN SELECT RAISE(ABORT, 'a closed case stays closed'); END""",
    f"""CREATE TRIGGER case_steps_not_after_closing BEFORE INSERT ON case_steps
       WHEN (SELECT status FROM cases WHERE id = NEW.case_id) IN {_CLOSED}
       BEGIN SELECT RAISE(ABORT, 'a closed case accepts no further step'); END""",
]

_PG_UP = [
    *[f"""CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
          FOR EACH ROW EXECUTE FUNCTION netral_refuse('{what}')"""
      for table, what in (("case_steps", "case steps are append-only"),
                          ("case_attachments", "case attachments are append-only"))],
    """CREATE TRIGGER cases_no_delete BEFORE DELETE ON cases
       FOR EACH ROW EXECUTE FUNCTION netral_refuse('cases are never deleted')""",
    *[f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
          FOR EACH STATEMENT EXECUTE FUNCTION netral_refuse_statement('{what}')"""
      for table, what in (("cases", "cases are never deleted"), ("case_steps", "case steps are append-only"),
                          ("case_attachments", "case attachments are append-only"))],
    f"""CREATE FUNCTION netral_case_update() RETURNS trigger AS $$
       BEGIN
         IF NEW.report_id IS DISTINCT FROM OLD.report_id OR NEW.opened_at IS DISTINCT FROM OLD.opened_at
            OR NEW.opened_by IS DISTINCT FROM OLD.opened_by THEN
           RAISE EXCEPTION 'a case keeps its report and opening';
         END IF;
         IF OLD.status IN {_CLOSED} AND NEW.status IS DISTINCT FROM OLD.status THEN
           RAISE EXCEPTION 'a closed case stays closed';
         END IF;
         RETURN NEW;
       END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER cases_update_rules BEFORE UPDATE ON cases
       FOR EACH ROW EXECUTE FUNCTION netral_case_update()""",
    f"""CREATE FUNCTION netral_case_step_open() RETURNS trigger AS $$
       BEGIN
         IF (SELECT status FROM cases WHERE id = NEW.case_id) IN {_CLOSED} THEN
           RAISE EXCEPTION 'a closed case accepts no further step';
         END IF;
         RETURN NEW;
       END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER case_steps_not_after_closing BEFORE INSERT ON case_steps
       FOR EACH ROW EXECUTE FUNCTION netral_case_step_open()""",
]


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("opened_at", netral.db.types.UTCDateTime(), nullable=False),
        sa.Column("opened_by", sa.Integer(), nullable=False),
        sa.Column("updated_at", netral.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"], name=op.f("fk_cases_report_id_reports")),
        sa.ForeignKeyConstraint(["opened_by"], ["users.id"], name=op.f("fk_cases_opened_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("report_id", name=op.f("uq_cases_report_id")),
        _check("cases", "status", _CASE_STATUSES),
    )
    op.create_index(op.f("ix_cases_status"), "cases", ["status"])
    op.create_table(
        "case_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("ref_number", sa.String(length=120), nullable=False),
        sa.Column("body", sa.String(length=24), nullable=True),
        sa.Column("sanction", sa.String(length=40), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=False),
        sa.Column("recorded_at", netral.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_steps_case_id_cases")),
        sa.ForeignKeyConstraint(["recorded_by"], ["users.id"], name=op.f("fk_case_steps_recorded_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_steps")),
        _check("case_steps", "step", _STEPS),
        _check("case_steps", "body", _BODIES, nullable=True),
        _check("case_steps", "sanction", _SANCTIONS, nullable=True),
    )
    op.create_index(op.f("ix_case_steps_case_id"), "case_steps", ["case_id"])
    op.create_table(
        "case_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=40), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("original_name", sa.String(length=200), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", netral.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_attachments_case_id_cases")),
        sa.ForeignKeyConstraint(["step_id"], ["case_steps.id"], name=op.f("fk_case_attachments_step_id_case_steps")),
        sa.ForeignKeyConstraint(["uploaded_by"], ["users.id"], name=op.f("fk_case_attachments_uploaded_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_attachments")),
        _check("case_attachments", "media_type", _MEDIA_TYPES),
    )
    op.create_index(op.f("ix_case_attachments_case_id"), "case_attachments", ["case_id"])
    op.create_index(op.f("ix_case_attachments_step_id"), "case_attachments", ["step_id"])
    op.create_index(op.f("ix_case_attachments_sha256"), "case_attachments", ["sha256"])
    for stmt in _PG_UP if op.get_bind().dialect.name == "postgresql" else _SQLITE_UP:
        op.execute(stmt)


def downgrade() -> None:
    # Dropping a table drops its triggers on both back ends; the PostgreSQL functions go separately.
    op.drop_table("case_attachments")
    op.drop_table("case_steps")
    op.drop_table("cases")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS netral_case_update() CASCADE")
        op.execute("DROP FUNCTION IF EXISTS netral_case_step_open() CASCADE")
