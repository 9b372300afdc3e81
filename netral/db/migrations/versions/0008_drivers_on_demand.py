"""drivers on demand: the model version a flag's drivers were computed with

The scan no longer computes drivers (gradient x input cost three forward passes per flag); they are
computed on the first opening of a flag or by ``netral explain``. ``drivers_version`` tells computed
drivers (possibly none) from not yet computed, and drivers of an older model from current ones.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("flags") as batch:
        batch.add_column(sa.Column("drivers_version", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("flags") as batch:
        batch.drop_column("drivers_version")
