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
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select, tuple_
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from netral import audit
from netral.db.engine import ensure_transaction
from netral.db.schema import Account, Handle, IngestRun, Post
from netral.db.types import utcnow
from netral.pipeline.incoming import REQUIRED, IncomingPost, RecordError, parse_post
from netral.pipeline.textio import Rejection, iter_text_lines
from netral.settings import Settings, get_settings


class IngestStopped(Exception):
    """A run stopped by something outside the records (database, disk); it has been logged.

    ``result`` holds what was committed before the stop, ``reason`` names the line reached."""

    def __init__(self, result: IngestResult, reason: str) -> None:
        super().__init__(reason)
        self.result = result
        self.reason = reason


@dataclass
class IngestResult:
    stored: int = 0
    duplicates: int = 0
    changed_duplicates: int = 0
    # Out of scope, counted and never stored: authors not on the roster, and (``deactivated``, a part of
    # this count) authors whose roster account is deactivated.
    not_on_roster: int = 0
    deactivated: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejections

    def merge(self, other: IngestResult) -> None:
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.changed_duplicates += other.changed_duplicates
        self.not_on_roster += other.not_on_roster
        self.deactivated += other.deactivated
        self.rejections += other.rejections


def _store_batch(session: Session, batch: list[tuple[int, IncomingPost]], source: str, result: IngestResult) -> None:
    keys = {(p.platform, p.author) for _, p in batch}
    handle_rows = session.execute(
        select(Handle.platform, Handle.handle, Handle.account_id, Account.active)
        .join(Account, Account.id == Handle.account_id)
        .where(tuple_(Handle.platform, Handle.handle).in_(keys))
    ).all()
    owners = {(r.platform, r.handle): r.account_id for r in handle_rows if r.active}
    inactive = {(r.platform, r.handle) for r in handle_rows if not r.active}
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
            # Out of scope: counted, never stored (not even the text). A deactivated account is out of
            # scope for new posts; the posts stored while it was active stay.
            result.not_on_roster += 1
            result.deactivated += (post.platform, post.author) in inactive
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
    source_rejections: list[Rejection] | None = None,
) -> IngestResult:
    """Validate and store records from one source.

    ``source_rejections`` is the list a file reader fills with lines it could not decode or parse; it
    is read when the run is logged, so the run's ``invalid`` count includes them.

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
                        _store_batch_safely(s, batch, source, part)
                        s.commit()
                        break
                    except IntegrityError:
                        # A concurrent writer stored some of these meanwhile; redo with fresh lookups.
                        s.rollback()
                        if attempt:
                            raise
        else:
            _store_batch_safely(session_or_factory, batch, source, part)  # type: ignore[arg-type]
        result.merge(part)
        if on_progress:
            on_progress(len(batch))
        batch = []

    line = 0
    failure: str | None = None
    try:
        for line, raw in records:
            try:
                batch.append((line, parse_post(raw, settings)))
            except RecordError as exc:
                result.rejections.append(Rejection(source, line, exc.field, exc.reason))
                continue
            if len(batch) >= settings.ingest_batch_size:
                flush()
        flush()
    except Exception as exc:
        # Whatever stops the run (the database going away, a disk error), the run is still logged with
        # what was committed before it: processing personal data must leave a trace (UU PDP).
        first = str(exc).splitlines()[0][:300] if str(exc) else ""
        failure = f"berhenti setelah baris {line}: {type(exc).__name__}: {first}"
        if not own_tx:
            session_or_factory.rollback()  # type: ignore[union-attr]
            result = IngestResult(rejections=result.rejections)  # the request's posts were rolled back
        raise IngestStopped(result, failure) from exc
    finally:
        _log_run(session_or_factory, source, result, actor, error=failure,
                 extra_invalid=len(source_rejections or ()))
    return result


_UNSTORABLE = (DBAPIError, UnicodeError, ValueError, OverflowError)


def _store_batch_safely(session: Session, batch: list[tuple[int, IncomingPost]], source: str,
                        part: IngestResult) -> None:
    """Store a batch; if the database refuses it, store record by record (each in a savepoint) so only
    the records it refuses are rejected, with their line, and a post a concurrent writer stored after
    our lookup counts as the duplicate it now is (no IntegrityError reaches the caller)."""
    ensure_transaction(session, immediate=True)  # a writer: take the lock now, not at the first INSERT
    try:
        with session.begin_nested():
            _store_batch(session, batch, source, part)
            session.flush()
        return
    except _UNSTORABLE:
        part.__init__()  # type: ignore[misc]
    for line, post in batch:
        one = IngestResult()
        try:
            with session.begin_nested():
                _store_batch(session, [(line, post)], source, one)
                session.flush()
        except _UNSTORABLE as exc:
            stored = None
            if isinstance(exc, IntegrityError):
                stored = session.scalar(select(Post.content_sha256).where(Post.platform == post.platform,
                                                                          Post.post_id == post.post_id))
            if stored is not None:
                part.duplicates += 1
                part.changed_duplicates += int(stored != post.content_sha256())
                continue
            detail = str(getattr(exc, "orig", exc)).splitlines()[0][:200] if str(exc) else type(exc).__name__
            part.rejections.append(Rejection(source, line, None, f"ditolak basis data: {detail}"))
            continue
        part.merge(one)


def _log_run(target: Session | sessionmaker[Session], source: str, result: IngestResult, actor: str,
             error: str | None = None, extra_invalid: int = 0) -> None:
    """Processing of personal data is logged (UU PDP): what came in, what was kept, what was refused,
    and why a run stopped early if it did. With a caller's Session the row joins its transaction
    (after a failure that transaction was rolled back first, so the row is all it holds)."""
    invalid = len(result.rejections) + extra_invalid
    counts: dict[str, object] = {"stored": result.stored, "duplicates": result.duplicates,
                                 "not_on_roster": result.not_on_roster, "invalid": invalid}
    if result.deactivated:
        counts["deactivated"] = result.deactivated
    if error:
        counts["error"] = error

    def write(s: Session) -> None:
        s.add(IngestRun(source=source[:300], finished_at=utcnow(), stored=result.stored,
                        duplicates=result.duplicates, not_on_roster=result.not_on_roster,
                        invalid=invalid, error=error))
        audit.append(s, actor=actor, action="ingest.failed" if error else "ingest", entity="source",
                     entity_id=source[:64], after=counts)

    if isinstance(target, sessionmaker):
        with target() as s:
            write(s)
            s.commit()
    else:
        write(target)
        if error:
            target.commit()  # the caller re-raises and would roll the log back with everything else


# --- file sources -----------------------------------------------------------------------------------

def iter_file_records(path: Path) -> tuple[Iterator[tuple[int, object]], list[Rejection]]:
    """Records of a JSONL or CSV export with their line numbers, streamed; the list of rejections
    (undecodable or broken lines) fills as the iterator is consumed."""
    rejections: list[Rejection] = []
    suffix = path.suffix.lower()
    if suffix in {".jsonl", ".ndjson", ".json"}:
        return _iter_jsonl(path, iter_text_lines(path, rejections), rejections), rejections
    if suffix == ".csv":
        return _iter_csv(path, iter_text_lines(path, rejections), rejections), rejections
    rejections.append(Rejection(str(path), 0, None, f"format tidak didukung: {suffix or '(tanpa ekstensi)'}; "
                                                    "gunakan .jsonl atau .csv"))
    return iter(()), rejections


def _iter_jsonl(path: Path, lines: Iterable[tuple[int, str]],
                rejections: list[Rejection]) -> Iterator[tuple[int, object]]:
    for number, line in lines:
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            rejections.append(Rejection(str(path), number, None, f"JSON tidak valid: {exc.msg} (kolom {exc.colno})"))
        except RecursionError:
            rejections.append(Rejection(str(path), number, None, "JSON bersarang terlalu dalam"))


class _Numbered:
    """Feeds lines to ``csv.reader`` and remembers the physical number of the last one it handed out."""

    def __init__(self, lines: Iterable[tuple[int, str]]) -> None:
        self._lines = iter(lines)
        self.number = 0

    def __iter__(self) -> _Numbered:
        return self

    def __next__(self) -> str:
        self.number, line = next(self._lines)
        return line


def _iter_csv(path: Path, lines: Iterable[tuple[int, str]],
              rejections: list[Rejection]) -> Iterator[tuple[int, object]]:
    """Rows as dicts; a row the parser cannot read (an over-long field, a stray quote) is rejected on
    its own and reading goes on with the next line (it used to end the file silently)."""
    source = _Numbered(lines)
    reader = csv.reader(source)
    header: list[str] | None = None
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            rejections.append(Rejection(str(path), source.number, None, f"baris CSV rusak: {exc}"))
            continue
        if header is None:
            header = [h.strip().lstrip("\ufeff") for h in row]
            missing = [c for c in REQUIRED if c not in header]
            if missing:
                rejections.append(Rejection(str(path), source.number, ",".join(missing),
                                            "kolom wajib tidak ada di header CSV"))
                return
            continue
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            rejections.append(Rejection(str(path), source.number, None, "jumlah kolom lebih banyak dari header"))
            continue
        values = dict(zip(header, row, strict=False))
        yield source.number, {k: v for k, v in values.items() if v != "" or k in REQUIRED}


def ingest_file(factory: sessionmaker[Session], path: Path, *, settings: Settings | None = None,
                actor: str = "cli", on_progress: Callable[[int], None] | None = None) -> IngestResult:
    """Import one file; never raises for what is in the file. A failure outside the file (the
    database, the disk) stops the run, which is still logged, and is reported as a rejection naming
    the line reached; re-running resumes (stored posts are duplicates the second time)."""
    if not path.is_file():
        return IngestResult(rejections=[Rejection(str(path), 0, None, "file tidak ditemukan")])
    records, rejections = iter_file_records(path)
    try:
        result = ingest_records(factory, records, str(path), settings=settings, actor=actor,
                                on_progress=on_progress, source_rejections=rejections)
    except IngestStopped as stop:
        result = stop.result
        result.rejections.append(Rejection(str(path), 0, None, f"impor {stop.reason}; post yang sudah tersimpan "
                                                               "tetap ada, jalankan lagi untuk melanjutkan"))
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

