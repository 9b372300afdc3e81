"""vocabulary CHECK constraints: flag status, role, review stage/decision/category/behaviour, job state

The values are frozen here as they were when this revision was written (a migration must replay the
same way forever); ``tests/test_vocabulary.py`` compares the migrated database with
``netral.vocabulary`` so a new value cannot be added to the code without a migration that allows it.

SQLite cannot add a constraint to an existing table: Alembic's batch mode copies the table. The copy
runs with ``legacy_alter_table`` on, so renaming the copy does not trip over the report trigger that
names ``flags`` in its body, and foreign keys off, so dropping the old table does not cascade.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CATEGORIES = ("SUPPORT", "ATTACK", "SOLICITATION", "CAMPAIGN", "ATTRIBUTE")
_BEHAVIOURS = ("kampanye_daring", "unggah_komentar_bagikan_suka", "ikut_grup_akun_pemenangan", "foto_gestur_simbol",
               "atribut_partai", "latar_partai_calon", "ajakan_berpihak", "surat_dukungan_ktp", "keanggotaan_partai")
# table -> [(column, allowed values, nullable)]
CHECKS: dict[str, list[tuple[str, tuple[str, ...], bool]]] = {
    "flags": [("status", ("pending", "needs_info", "confirmed", "dismissed", "verified", "reported"), False)],
    "users": [("role", ("reviewer", "supervisor", "analyst", "admin"), False)],
    "reviews": [("stage", ("first", "second"), False),
                ("decision", ("confirm", "dismiss", "more_info", "verify", "return"), False),
                ("category", _CATEGORIES, True),
                ("behaviour", _BEHAVIOURS, True)],
    "train_jobs": [("status", ("queued", "running", "done", "failed"), False)],
}


def _condition(column: str, values: tuple[str, ...], nullable: bool) -> str:
    sql = f"{column} IN ({', '.join(repr(v) for v in values)})"
    return f"{column} IS NULL OR {sql}" if nullable else sql


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("PRAGMA foreign_keys=OFF")
        op.execute("PRAGMA legacy_alter_table=ON")
    for table, checks in CHECKS.items():
        with op.batch_alter_table(table, recreate="always" if sqlite else "never") as batch:
            for column, values, nullable in checks:
                name = op.f(f"ck_{table}_{column}_allowed")
                batch.create_check_constraint(name, _condition(column, values, nullable))
    if sqlite:
        op.execute("PRAGMA legacy_alter_table=OFF")
        op.execute("PRAGMA foreign_keys=ON")


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("PRAGMA foreign_keys=OFF")
        op.execute("PRAGMA legacy_alter_table=ON")
    for table, checks in CHECKS.items():
        with op.batch_alter_table(table, recreate="always" if sqlite else "never") as batch:
            for column, _values, _nullable in checks:
                batch.drop_constraint(op.f(f"ck_{table}_{column}_allowed"), type_="check")
    if sqlite:
        op.execute("PRAGMA legacy_alter_table=OFF")
        op.execute("PRAGMA foreign_keys=ON")
