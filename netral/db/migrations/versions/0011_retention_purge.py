"""retention purge: posts deletable only with a permit the audited purge writes (UU PDP 27/2022)

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-07

Posts stay immutable snapshots for every path but one. ``netral privacy purge``
(``netral.review.retention``) deletes posts past their retention period; for each it first appends a
``post.purge`` audit record carrying the post's sha256, then writes a row in ``post_deletions`` (the
permit) naming the post, its hash and that record, then deletes the post's derived rows and the post.
The triggers below make that order the only one that works:

* ``posts``: DELETE is refused (same message as before) unless a permit for the row with the same
  content hash exists; the delete consumes the permit (AFTER DELETE), so a permit is single-use and a
  later post that reuses the id (SQLite may reuse the largest rowid) is protected again.
* ``post_deletions``: a permit can only be inserted for an existing post with that hash, naming the
  newest audit record, which must be the ``post.purge`` record for that post; permits cannot be updated.
  So no deletion can happen without the chain first recording what is deleted. On PostgreSQL a deferred
  constraint trigger also refuses to commit a transaction that leaves a permit unused, so a permit lives
  only inside the purge's transaction. (SQLite has no deferred triggers; whoever can write the SQLite
  file can drop triggers anyway.)
* ``reviews``: still append-only, except the reviews of a flag whose post holds a permit (a dismissed
  flag's reviews go with its post; the audit log keeps the decisions).

A plain ``DELETE FROM posts`` (or ``reviews``) keeps failing on both back ends; UPDATE and TRUNCATE are
refused as before.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import netral.db.types

revision: str = "0011"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_POST_REFUSED = "posts are immutable snapshots"
_REVIEW_REFUSED = "reviews are append-only"
_PERMIT_REFUSED = ("a post deletion permit needs the post with that hash and, as the newest audit record, "
                   "the post.purge record of that post")

_SQLITE_UP = [
    "DROP TRIGGER posts_no_delete",
    f"""CREATE TRIGGER posts_no_delete BEFORE DELETE ON posts
       WHEN NOT EXISTS (SELECT 1 FROM post_deletions d
                        WHERE d.post_id = OLD.id AND d.content_sha256 = OLD.content_sha256)
       BEGIN SELECT RAISE(ABORT, '{_POST_REFUSED}'); END""",
    """CREATE TRIGGER posts_delete_consumes_permit AFTER DELETE ON posts
       BEGIN DELETE FROM post_deletions WHERE post_id = OLD.id; END""",
    f"""CREATE TRIGGER post_deletions_need_audit BEFORE INSERT ON post_deletions
       WHEN NOT EXISTS (SELECT 1 FROM audit_log a
                        WHERE a.id = NEW.audit_id AND a.action = 'post.purge' AND a.entity = 'post'
                          AND a.entity_id = CAST(NEW.post_id AS TEXT)
                          AND a.id = (SELECT MAX(id) FROM audit_log))
         OR NOT EXISTS (SELECT 1 FROM posts p WHERE p.id = NEW.post_id AND p.content_sha256 = NEW.content_sha256)
       BEGIN SELECT RAISE(ABORT, '{_PERMIT_REFUSED}'); END""",
    """CREATE TRIGGER post_deletions_no_update BEFORE UPDATE ON post_deletions
       BEGIN SELECT RAISE(ABORT, 'post deletion permits cannot be changed'); END""",
    "DROP TRIGGER reviews_no_delete",
    f"""CREATE TRIGGER reviews_no_delete BEFORE DELETE ON reviews
       WHEN NOT EXISTS (SELECT 1 FROM flags f JOIN post_deletions d ON d.post_id = f.post_id
                        WHERE f.id = OLD.flag_id)
       BEGIN SELECT RAISE(ABORT, '{_REVIEW_REFUSED}'); END""",
]

_SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS posts_delete_consumes_permit",
    "DROP TRIGGER IF EXISTS post_deletions_need_audit",
    "DROP TRIGGER IF EXISTS post_deletions_no_update",
    "DROP TRIGGER posts_no_delete",
    f"""CREATE TRIGGER posts_no_delete BEFORE DELETE ON posts
       BEGIN SELECT RAISE(ABORT, '{_POST_REFUSED}'); END""",
    "DROP TRIGGER reviews_no_delete",
    f"""CREATE TRIGGER reviews_no_delete BEFORE DELETE ON reviews
       BEGIN SELECT RAISE(ABORT, '{_REVIEW_REFUSED}'); END""",
]

_PG_UP = [
    # posts: UPDATE refused as before; DELETE only with a permit, which the delete consumes.
    "DROP TRIGGER posts_immutable ON posts",
    f"""CREATE TRIGGER posts_immutable BEFORE UPDATE ON posts
       FOR EACH ROW EXECUTE FUNCTION netral_refuse('{_POST_REFUSED}')""",
    f"""CREATE FUNCTION netral_post_delete_permitted() RETURNS trigger AS $$
       BEGIN
         IF NOT EXISTS (SELECT 1 FROM post_deletions d
                        WHERE d.post_id = OLD.id AND d.content_sha256 = OLD.content_sha256) THEN
           RAISE EXCEPTION '{_POST_REFUSED}';
         END IF;
         RETURN OLD;
       END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER posts_delete_needs_permit BEFORE DELETE ON posts
       FOR EACH ROW EXECUTE FUNCTION netral_post_delete_permitted()""",
    """CREATE FUNCTION netral_consume_post_permit() RETURNS trigger AS $$
       BEGIN DELETE FROM post_deletions WHERE post_id = OLD.id; RETURN NULL; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER posts_delete_consumes_permit AFTER DELETE ON posts
       FOR EACH ROW EXECUTE FUNCTION netral_consume_post_permit()""",
    # post_deletions: written only right after the post's purge record; never changed; never outlives
    # the transaction that wrote it.
    f"""CREATE FUNCTION netral_permit_needs_audit() RETURNS trigger AS $$
       BEGIN
         IF NOT EXISTS (SELECT 1 FROM audit_log a
                        WHERE a.id = NEW.audit_id AND a.action = 'post.purge' AND a.entity = 'post'
                          AND a.entity_id = NEW.post_id::text
                          AND a.id = (SELECT MAX(id) FROM audit_log))
            OR NOT EXISTS (SELECT 1 FROM posts p
                           WHERE p.id = NEW.post_id AND p.content_sha256 = NEW.content_sha256) THEN
           RAISE EXCEPTION '{_PERMIT_REFUSED}';
         END IF;
         RETURN NEW;
       END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER post_deletions_need_audit BEFORE INSERT ON post_deletions
       FOR EACH ROW EXECUTE FUNCTION netral_permit_needs_audit()""",
    """CREATE TRIGGER post_deletions_no_update BEFORE UPDATE ON post_deletions
       FOR EACH ROW EXECUTE FUNCTION netral_refuse('post deletion permits cannot be changed')""",
    """CREATE FUNCTION netral_permit_used() RETURNS trigger AS $$
       BEGIN
         IF EXISTS (SELECT 1 FROM post_deletions WHERE post_id = NEW.post_id) THEN
           RAISE EXCEPTION 'a post deletion permit must be used in the transaction that wrote it';
         END IF;
         RETURN NULL;
       END; $$ LANGUAGE plpgsql""",
    """CREATE CONSTRAINT TRIGGER post_deletions_used AFTER INSERT ON post_deletions
       DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION netral_permit_used()""",
    # reviews: UPDATE refused as before; DELETE only for a flag whose post holds a permit.
    "DROP TRIGGER reviews_append_only ON reviews",
    f"""CREATE TRIGGER reviews_append_only BEFORE UPDATE ON reviews
       FOR EACH ROW EXECUTE FUNCTION netral_refuse('{_REVIEW_REFUSED}')""",
    f"""CREATE FUNCTION netral_review_delete_permitted() RETURNS trigger AS $$
       BEGIN
         IF NOT EXISTS (SELECT 1 FROM flags f JOIN post_deletions d ON d.post_id = f.post_id
                        WHERE f.id = OLD.flag_id) THEN
           RAISE EXCEPTION '{_REVIEW_REFUSED}';
         END IF;
         RETURN OLD;
       END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER reviews_delete_needs_permit BEFORE DELETE ON reviews
       FOR EACH ROW EXECUTE FUNCTION netral_review_delete_permitted()""",
]

_PG_DOWN = [
    "DROP TRIGGER IF EXISTS reviews_delete_needs_permit ON reviews",
    "DROP TRIGGER reviews_append_only ON reviews",
    f"""CREATE TRIGGER reviews_append_only BEFORE UPDATE OR DELETE ON reviews
       FOR EACH ROW EXECUTE FUNCTION netral_refuse('{_REVIEW_REFUSED}')""",
    "DROP FUNCTION IF EXISTS netral_review_delete_permitted()",
    "DROP TRIGGER IF EXISTS posts_delete_needs_permit ON posts",
    "DROP TRIGGER IF EXISTS posts_delete_consumes_permit ON posts",
    "DROP TRIGGER posts_immutable ON posts",
    f"""CREATE TRIGGER posts_immutable BEFORE UPDATE OR DELETE ON posts
       FOR EACH ROW EXECUTE FUNCTION netral_refuse('{_POST_REFUSED}')""",
    "DROP FUNCTION IF EXISTS netral_post_delete_permitted()",
    "DROP FUNCTION IF EXISTS netral_consume_post_permit()",
]


def upgrade() -> None:
    op.create_table(
        "post_deletions",
        sa.Column("post_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("created_at", netral.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["audit_id"], ["audit_log.id"]),
        sa.PrimaryKeyConstraint("post_id"),
    )
    for stmt in _PG_UP if op.get_bind().dialect.name == "postgresql" else _SQLITE_UP:
        op.execute(stmt)


def downgrade() -> None:
    for stmt in _PG_DOWN if op.get_bind().dialect.name == "postgresql" else _SQLITE_DOWN:
        op.execute(stmt)
    # Dropping the table drops its own triggers (and, on PostgreSQL, the functions are dropped next).
    op.drop_table("post_deletions")
    if op.get_bind().dialect.name == "postgresql":
        for fn in ("netral_permit_needs_audit", "netral_permit_used"):
            op.execute(f"DROP FUNCTION IF EXISTS {fn}()")
