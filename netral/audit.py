"""Append-only, hash-chained audit log.

Each record's hash covers its own content and the previous record's hash, so editing or deleting any
record breaks the chain from that point on; ``verify_chain`` finds every break. The database also
refuses UPDATE, DELETE and TRUNCATE on the table (triggers in migrations 0001 and 0004); the chain
catches what a trigger cannot, such as someone with raw file access.

Someone who owns the database can still rewrite a record and recompute every hash after it. That is
caught only by a copy of the head kept outside the database: ``export_head`` writes one (``netral
audit head --output FILE``, run from cron onto other storage), ``verify_against`` checks the log
still contains exactly that record at that position.

Appends are serialised: two writers must never read the same head. PostgreSQL takes a
transaction-scoped advisory lock; SQLite starts the write transaction with ``BEGIN IMMEDIATE`` before
the head is read (the driver otherwise reads it outside any transaction). Both locks last until the
caller commits, so callers keep slow work (PDF rendering) out of transactions that append.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from netral.db.engine import ensure_transaction
from netral.db.schema import AuditRecord
from netral.db.types import utcnow

GENESIS = "0" * 64
# Any fixed 64-bit number, used only by this application's advisory lock on PostgreSQL.
PG_LOCK_KEY = 0x4E6574726C417564  # "NetrlAud"


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def record_hash(prev_hash: str, at: datetime, actor: str, action: str, entity: str, entity_id: str,
                before: Any, after: Any, reason: str) -> str:
    payload = _canonical([prev_hash, at.isoformat(), actor, action, entity, entity_id, before, after, reason])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def append(session: Session, *, actor: str, action: str, entity: str, entity_id: object,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
           reason: str = "") -> AuditRecord:
    """Add one record in the caller's transaction, chained to the latest one.

    The chain lock (see the module docstring) is taken before the head is read and held until the
    caller's transaction ends, so concurrent writers queue instead of forking the chain.
    """
    lock_chain(session)
    last = session.scalars(select(AuditRecord).order_by(AuditRecord.id.desc()).limit(1)).first()
    prev = last.hash if last else GENESIS
    # Round-trip through JSON so what is hashed is exactly what is stored.
    before_j = json.loads(_canonical(before)) if before is not None else None
    after_j = json.loads(_canonical(after)) if after is not None else None
    at = utcnow()
    rec = AuditRecord(at=at, actor=actor, action=action, entity=entity, entity_id=str(entity_id),
                      before=before_j, after=after_j, reason=reason, prev_hash=prev,
                      hash=record_hash(prev, at, actor, action, entity, str(entity_id), before_j, after_j, reason))
    session.add(rec)
    session.flush()
    return rec


def lock_chain(session: Session) -> None:
    """Serialise appends until the session's transaction ends (no-op if it already holds the lock)."""
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_LOCK_KEY})
    elif dialect == "sqlite":
        # pysqlite opens a transaction only before INSERT/UPDATE/DELETE. One that is open has
        # written, so it already holds SQLite's single write lock; otherwise take it now.
        ensure_transaction(session, immediate=True)


@dataclass(frozen=True)
class ChainProblem:
    record_id: int | None
    problem: str


def verify_chain(session: Session) -> list[ChainProblem]:
    """Every break in the chain: edited content, removed or reordered records.

Ids are not expected to be contiguous (a rolled-back transaction consumes a PostgreSQL sequence
value); the hash links alone decide. Removing only the newest records is invisible to the chain by
itself: compare ``head_hash`` with a copy kept elsewhere for that.
"""
    problems: list[ChainProblem] = []
    prev = GENESIS
    for rec in session.scalars(select(AuditRecord).order_by(AuditRecord.id)):
        if rec.prev_hash != prev:
            problems.append(ChainProblem(rec.id, "tidak tersambung ke catatan sebelumnya "
                                                 "(ada yang dihapus atau urutannya diubah)"))
        actual = record_hash(rec.prev_hash, rec.at, rec.actor, rec.action, rec.entity, rec.entity_id,
                             rec.before, rec.after, rec.reason)
        if actual != rec.hash:
            problems.append(ChainProblem(rec.id, "isi tidak cocok dengan sidiknya (diedit)"))
        prev = rec.hash
    return problems


def head_hash(session: Session) -> str:
    last = session.scalars(select(AuditRecord).order_by(AuditRecord.id.desc()).limit(1)).first()
    return last.hash if last else GENESIS


def export_head(session: Session) -> dict[str, Any]:
    """The newest record's position and hash, to keep outside the database (JSON-serialisable)."""
    last = session.scalars(select(AuditRecord).order_by(AuditRecord.id.desc()).limit(1)).first()
    count = session.scalar(select(func.count()).select_from(AuditRecord)) or 0
    return {"format": "netral-audit-head/1", "id": last.id if last else None, "count": count,
            "hash": last.hash if last else GENESIS, "at": last.at.isoformat() if last else None,
            "exported_at": utcnow().isoformat()}


def verify_against(session: Session, anchor: dict[str, Any]) -> list[ChainProblem]:
    """Problems between the log and a head exported earlier (empty: the log extends that head).

    The record the anchor names must still exist with the same hash and the same number of records
    up to it; together with ``verify_chain`` this proves nothing before the anchor was rewritten,
    removed or recomputed, and the log was not cut back below it.
    """
    try:
        anchor_id, anchor_hash, anchor_count = anchor["id"], str(anchor["hash"]), int(anchor["count"])
    except (KeyError, TypeError, ValueError):
        return [ChainProblem(None, "berkas bukan head audit Netral (perlu id, hash, count)")]
    if anchor_id is None:
        return []
    rec = session.get(AuditRecord, int(anchor_id))
    if rec is None:
        return [ChainProblem(int(anchor_id), "catatan head yang diekspor tidak ada lagi (log dipotong atau dihapus)")]
    problems: list[ChainProblem] = []
    if rec.hash != anchor_hash:
        problems.append(ChainProblem(rec.id, "sidik berbeda dari head yang diekspor (riwayat ditulis ulang)"))
    upto = session.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.id <= rec.id)) or 0
    if upto != anchor_count:
        problems.append(ChainProblem(rec.id, f"{upto} catatan sampai head yang diekspor, {anchor_count} saat "
                                             "diekspor (ada catatan yang dihapus atau disisipkan)"))
    return problems
