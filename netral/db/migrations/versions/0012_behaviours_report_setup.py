"""SKB behaviours gain attending a declaration/campaign, state facilities and "other"; reports keep what they
were issued with (letterhead, zone, election type)

Two changes, one revision:

* ``reviews.behaviour``'s CHECK constraint allows three new values (``netral.vocabulary.Behaviour``). The
  values are frozen here as in migration 0003: a migration must replay the same way forever.
* ``reports.issued_with`` (JSON, nullable) records the letterhead, signatories, time zone and election type
  a report was rendered with, so a later re-render gives the same bytes (and the same SHA-256) even after
  the letterhead file or an election config changes. Reports issued before this revision have NULL and
  re-render with the template they were issued with (``report_v1.html``).

SQLite cannot alter a CHECK constraint: the batch copies ``reviews``. The copy runs with
``legacy_alter_table`` on (renaming the copy must not rewrite the report trigger that names ``reviews``
in its body) and foreign keys off. Dropping the old table drops the triggers on it (append-only since
0004, deletable with a retention permit since 0011), so their statements are read from ``sqlite_master``
first and run again on the copy, exactly as they were; ``tests/test_vocabulary.py``,
``tests/test_audit_chain.py`` and ``tests/test_retention.py`` check the result.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = ("kampanye_daring", "unggah_komentar_bagikan_suka", "ikut_grup_akun_pemenangan", "foto_gestur_simbol",
        "atribut_partai", "latar_partai_calon", "ajakan_berpihak", "surat_dukungan_ktp", "keanggotaan_partai")
_NEW = (*_OLD, "hadir_deklarasi_kampanye", "fasilitas_negara", "lainnya")
_NAME = "ck_reviews_behaviour_allowed"


def _condition(values: tuple[str, ...]) -> str:
    return f"behaviour IS NULL OR behaviour IN ({', '.join(repr(v) for v in values)})"


def _set_behaviours(values: tuple[str, ...]) -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    triggers: list[str] = []
    if sqlite:
        # The copy loses the triggers of the table it replaces: keep their exact statements.
        triggers = list(bind.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'trigger' "
                                             "AND tbl_name = 'reviews' ORDER BY rowid")).scalars())
        op.execute("PRAGMA foreign_keys=OFF")
        op.execute("PRAGMA legacy_alter_table=ON")
    with op.batch_alter_table("reviews", recreate="always" if sqlite else "never") as batch:
        batch.drop_constraint(op.f(_NAME), type_="check")
        batch.create_check_constraint(op.f(_NAME), _condition(values))
    if sqlite:
        for stmt in triggers:
            op.execute(stmt)
        op.execute("PRAGMA legacy_alter_table=OFF")
        op.execute("PRAGMA foreign_keys=ON")


def upgrade() -> None:
    _set_behaviours(_NEW)
    # A plain ALTER on both back ends: a batch copy of ``reports`` would drop its triggers (migration 0004).
    op.add_column("reports", sa.Column("issued_with", sa.JSON(), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN needs SQLite 3.35 or later; again no copy of ``reports``.
    op.execute("ALTER TABLE reports DROP COLUMN issued_with")
    _set_behaviours(_OLD)  # fails, as it should, while a review still uses one of the new values
