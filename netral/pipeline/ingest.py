"""Ingestion: validate records, keep only roster authors, store immutable snapshots.

Every source (file import, snscrape, the HTTP API) yields plain dict records with a line number and
ends up in :func:`ingest_records`, which validates each through the one post model
(:class:`netral.pipeline.incoming.IncomingPost`), so the scope rule and the snapshot rule are applied
in one place.
Records are committed in batches; a crash loses at most the open batch, and because ``(platform,
post_id)`` is unique a re-run stores exactly the records that are still missing.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from netral import audit
from netral.db.schema import Handle, IngestRun, Post
from netral.db.types import utcnow
from netral.pipeline.incoming import REQUIRED, IncomingPost, RecordError, parse_post
from netral.pipeline.textio import Rejection, read_text_lines
from netral.settings import Settings, get_settings


@dataclass
class IngestResult:
    stored: int = 0
    duplicates: int = 0
    changed_duplicates: int = 0
    not_on_roster: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejections

    def merge(self, other: IngestResult) -> None:
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.changed_duplicates += other.changed_duplicates
        self.not_on_roster += other.not_on_roster
        self.rejections += other.rejections


def _store_batch(session: Session, batch: list[tuple[int, IncomingPost]], source: str, result: IngestResult) -> None:
    keys = {(p.platform, p.author) for _, p in batch}
    handle_rows = session.execute(
        select(Handle.platform, Handle.handle, Handle.account_id).where(
            tuple_(Handle.platform, Handle.handle).in_(keys)
        )
    ).all()
    owners = {(r.platform, r.handle): r.account_id for r in handle_rows}
    ids = {(p.platform, p.post_id) for _, p in batch}
    existing = {
        (r.platform, r.post_id): r.content_sha256
        for r in session.execute(
            select(Post.platform, Post.post_id, Post.content_sha256).where(tuple_(Post.platform, Post.post_id).in_(ids))
        ).all()
    }
    for _, post in batch:
        account_id = owners.get((post.platform, post.author))
        if account_id is None:
            # Out of scope: counted, never stored (not even the text).
            result.not_on_roster += 1
            continue
        digest = post.content_sha256()
        key = (post.platform, post.post_id)
        if key in existing:
            result.duplicates += 1
            if existing[key] != digest:
                result.changed_duplicates += 1
            continue
        existing[key] = digest
        session.add(Post(platform=post.platform, post_id=post.post_id, account_id=account_id,
                         author_handle=post.author, url=post.url, created_at=post.created_at, text=post.text,
                         kind=post.kind, content_sha256=digest, source=source[:300]))
        result.stored += 1


def ingest_records(
    session_or_factory: Session | sessionmaker[Session],
    records: Iterable[tuple[int, object]],
    source: str,
    *,
    settings: Settings | None = None,
    actor: str = "system",
    on_progress: Callable[[int], None] | None = None,
) -> IngestResult:
    """Validate and store records from one source.

    With a sessionmaker each batch is its own transaction (files, snscrape); with a Session the
    caller owns the one transaction (the API, where a request is all-or-nothing).
    """
    settings = settings or get_settings()
    result = IngestResult()
    own_tx = isinstance(session_or_factory, sessionmaker)
    batch: list[tuple[int, IncomingPost]] = []

    def flush() -> None:
        nonlocal batch
        if not batch:
            return
        part = IngestResult()
        if own_tx:
            for attempt in range(2):
                part = IngestResult()
                with session_or_factory() as s:  # type: ignore[operator]
                    try:
                        _store_batch(s, batch, source, part)
                        s.commit()
                        break
                    except IntegrityError:
                        # A concurrent writer stored some of these meanwhile; redo with fresh lookups.
                        s.rollback()
                        if attempt:
                            raise
        else:
            _store_batch(session_or_factory, batch, source, part)  # type: ignore[arg-type]
            session_or_factory.flush()  # type: ignore[union-attr]
        result.merge(part)
        if on_progress:
            on_progress(len(batch))
        batch = []

    for line, raw in records:
        try:
            batch.append((line, parse_post(raw, settings)))
        except RecordError as exc:
            result.rejections.append(Rejection(source, line, exc.field, exc.reason))
            continue
        if len(batch) >= settings.ingest_batch_size:
            flush()
    flush()
    _log_run(session_or_factory, source, result, actor)
    return result


def _log_run(target: Session | sessionmaker[Session], source: str, result: IngestResult, actor: str) -> None:
    """Processing of personal data is logged (UU PDP): what came in, what was kept, what was refused."""
    counts = {"stored": result.stored, "duplicates": result.duplicates, "not_on_roster": result.not_on_roster,
              "invalid": len(result.rejections)}

    def write(s: Session) -> None:
        s.add(IngestRun(source=source[:300], finished_at=utcnow(), stored=result.stored,
                        duplicates=result.duplicates, not_on_roster=result.not_on_roster,
                        invalid=len(result.rejections)))
        audit.append(s, actor=actor, action="ingest", entity="source", entity_id=source[:64], after=counts)

    if isinstance(target, sessionmaker):
        with target() as s:
            write(s)
            s.commit()
    else:
        write(target)


# --- file sources -----------------------------------------------------------------------------------

def iter_file_records(path: Path) -> tuple[Iterator[tuple[int, object]], list[Rejection]]:
    """Records of a JSONL or CSV export with their line numbers, plus undecodable lines."""
    lines, rejections = read_text_lines(path)
    suffix = path.suffix.lower()
    if suffix in {".jsonl", ".ndjson", ".json"}:
        return _iter_jsonl(path, lines, rejections), rejections
    if suffix == ".csv":
        return _iter_csv(path, lines, rejections), rejections
    rejections.append(Rejection(str(path), 0, None, f"format tidak didukung: {suffix or '(tanpa ekstensi)'}; "
                                                    "gunakan .jsonl atau .csv"))
    return iter(()), rejections


def _iter_jsonl(path: Path, lines: list[tuple[int, str]], rejections: list[Rejection]) -> Iterator[tuple[int, object]]:
    for number, line in lines:
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            rejections.append(Rejection(str(path), number, None, f"JSON tidak valid: {exc.msg} (kolom {exc.colno})"))


def _iter_csv(path: Path, lines: list[tuple[int, str]], rejections: list[Rejection]) -> Iterator[tuple[int, object]]:
    numbers = [n for n, _ in lines]
    reader = csv.DictReader(io.StringIO("".join(line for _, line in lines)))
    header = reader.fieldnames or []
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        rejections.append(Rejection(str(path), numbers[0] if numbers else 1, ",".join(missing),
                                    "kolom wajib tidak ada di header CSV"))
        return
    try:
        for row in reader:
            number = numbers[reader.line_num - 1] if reader.line_num <= len(numbers) else reader.line_num
            if None in row:
                rejections.append(Rejection(str(path), number, None, "jumlah kolom lebih banyak dari header"))
                continue
            yield number, {k: v for k, v in row.items() if v not in (None, "") or k in REQUIRED}
    except csv.Error as exc:
        rejections.append(Rejection(str(path), reader.line_num, None, f"CSV rusak: {exc}"))


def ingest_file(factory: sessionmaker[Session], path: Path, *, settings: Settings | None = None,
                actor: str = "cli", on_progress: Callable[[int], None] | None = None) -> IngestResult:
    if not path.is_file():
        return IngestResult(rejections=[Rejection(str(path), 0, None, "file tidak ditemukan")])
    records, rejections = iter_file_records(path)
    result = ingest_records(factory, records, str(path), settings=settings, actor=actor, on_progress=on_progress)
    # The iterators collect decoding and JSON errors lazily; report everything in line order.
    result.rejections = sorted(rejections + result.rejections, key=lambda r: r.line)
    return result


def count_records(path: Path) -> int:
    """Cheap upper bound for a progress bar."""
    try:
        with path.open("rb") as fh:
            return sum(1 for _ in fh)
    except OSError:
        return 0

