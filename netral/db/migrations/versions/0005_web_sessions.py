"""server-side web sessions and one-time password setup links

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

A session cookie signed with the secret key could not be revoked (issue 11, finding 5); sessions now
live in ``web_sessions``. New users set their own password through a one-time link (finding 3), so
``users`` gains the link's hash and expiry.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import netral.db.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", netral.db.types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", netral.db.types.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", netral.db.types.UTCDateTime(), nullable=True),
        sa.Column("revoked_reason", sa.String(length=40), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_sha256"),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    # Plain ADD COLUMN (no batch copy): SQLite's batch mode would recreate ``users`` and drop the
    # CHECK constraint names migration 0003 gave it.
    op.add_column("users", sa.Column("setup_token_sha256", sa.String(length=64), nullable=True))
    op.add_column("users", sa.Column("setup_expires_at", netral.db.types.UTCDateTime(), nullable=True))
    op.add_column("users", sa.Column("password_changed_at", netral.db.types.UTCDateTime(), nullable=True))
    op.create_index("ux_users_setup_token", "users", ["setup_token_sha256"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_users_setup_token", table_name="users")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("password_changed_at")
        batch.drop_column("setup_expires_at")
        batch.drop_column("setup_token_sha256")
    op.drop_index("ix_web_sessions_user_id", table_name="web_sessions")
    op.drop_table("web_sessions")
