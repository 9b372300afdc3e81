"""Append-only, hash-chained audit log.

Each record's hash covers its own content and the previous record's hash, so editing or deleting any
record breaks the chain from that point on; ``verify_chain`` finds the first break. The database
also refuses UPDATE and DELETE on the table (triggers in the initial migration); the chain catches
what a trigger cannot, such as someone with raw file access.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from netral.db.schema import AuditRecord
from netral.db.types import utcnow

GENESIS = "0" * 64


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

    On PostgreSQL the latest row is locked so two concurrent writers cannot both chain to it.
    """
    stmt = select(AuditRecord).order_by(AuditRecord.id.desc()).limit(1)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    last = session.scalars(stmt).first()
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
            problems.append(ChainProblem(rec.id, "does not chain to the previous record (deleted or reordered)"))
        actual = record_hash(rec.prev_hash, rec.at, rec.actor, rec.action, rec.entity, rec.entity_id,
                             rec.before, rec.after, rec.reason)
        if actual != rec.hash:
            problems.append(ChainProblem(rec.id, "content does not match its hash (edited)"))
        prev = rec.hash
    return problems


def head_hash(session: Session) -> str:
    last = session.scalars(select(AuditRecord).order_by(AuditRecord.id.desc()).limit(1)).first()
    return last.hash if last else GENESIS
