"""Batch scan: score every post the active model has not scored yet, and flag the ones above threshold.

Pending posts stream in keyset pages (``id > last id``), so memory holds one page whatever the
size of the roster; ``--shard i/n`` splits the posts by id so that n processes scan disjoint parts.
Resumability comes from the data, not from a cursor: a post is "done" when a score row for
(post, model version) exists, and scores and flags of a chunk commit together. A scan killed at
any point loses at most its open chunk; the next run selects exactly the posts still unscored.
A post has at most one flag (unique constraint); a newer model re-scoring a pending flag updates
it and moves the old scores to its history.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session, sessionmaker

from netral.db.schema import Account, Flag, FlagScoreHistory, Post, Score
from netral.db.types import utcnow
from netral.elections import Election, current_catalog, voter_regions
from netral.pipeline.evidence import TYPE_PRIORITY, EvidenceExtractor
from netral.settings import Settings, get_settings
from netral.vocabulary import FlagSource, FlagStatus, PostKind

if TYPE_CHECKING:  # torch is imported only where a model is actually used
    from netral.models.classifier import Classifier


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count``: the posts whose id modulo ``count`` is ``index``.

    Shards are disjoint and cover every post, so ``count`` processes scanning one shard each never score
    the same post twice, and so never race for the same flag (the unique flag per post stays the backstop).
    """

    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ValueError(f"shard {self.index}/{self.count}: perlu 0 <= i < n dan n >= 1")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"i/n"`` as the CLI takes it (``0/4`` .. ``3/4``)."""
        try:
            index, count = (int(part) for part in text.split("/"))
        except ValueError:
            raise ValueError(f"--shard harus berbentuk i/n (mis. 0/4), dapat {text!r}") from None
        return cls(index, count)


@dataclass
class ScanFilter:
    since: datetime | None = None
    unit: str | None = None
    platform: str | None = None
    limit: int | None = None
    shard: Shard | None = None


@dataclass
class ScanResult:
    scanned: int = 0
    flagged: int = 0
    updated_flags: int = 0
    seconds: float = 0.0
    flag_ids: list[int] = field(default_factory=list)
    cascade_skipped: int = 0

    @property
    def posts_per_second(self) -> float:
        return self.scanned / self.seconds if self.seconds else 0.0


def _pending_query(version: str, filt: ScanFilter) -> Select[tuple[Post]]:
    """Posts ``version`` has not scored. Complaint snapshots are not posts of the ASN (they hold what a
    complainant wrote) and already have their flag, so the model never scores them."""
    scored = select(Score.id).where(and_(Score.post_id == Post.id, Score.model_version == version)).exists()
    stmt = select(Post).where(~scored, Post.kind != PostKind.COMPLAINT)
    if filt.unit or filt.platform:
        stmt = stmt.join(Account, Account.id == Post.account_id)
    if filt.since:
        stmt = stmt.where(Post.created_at >= filt.since)
    if filt.unit:
        stmt = stmt.where(Account.unit == filt.unit)
    if filt.platform:
        stmt = stmt.where(Post.platform == filt.platform)
    if filt.shard and filt.shard.count > 1:
        stmt = stmt.where(Post.id % filt.shard.count == filt.shard.index)
    return stmt


def count_pending(session: Session, version: str, filt: ScanFilter) -> int:
    """How many posts a scan would score (for a progress bar): one COUNT, no ids in memory."""
    sub = _pending_query(version, filt).with_only_columns(Post.id).order_by(Post.id)
    if filt.limit:
        sub = sub.limit(filt.limit)
    return int(session.scalar(select(func.count()).select_from(sub.subquery())) or 0)


def pending_pages(factory: sessionmaker[Session], version: str, filt: ScanFilter, page_size: int
                  ) -> Iterator[tuple[Session, list[Post]]]:
    """Unscored posts in id order, one keyset page (``id > last id seen``) per session.

    Memory holds one page, never the list of every pending id: a roster of millions of posts scans in
    the memory of one page. The caller commits the page's session before asking for the next one.
    """
    last_id = 0
    left = filt.limit
    base = _pending_query(version, filt)
    while left is None or left > 0:
        size = page_size if left is None else min(page_size, left)
        with factory() as session:
            posts = list(session.scalars(base.where(Post.id > last_id).order_by(Post.id).limit(size)))
            if not posts:
                return
            yield session, posts
        last_id = posts[-1].id
        if left is not None:
            left -= len(posts)


def pending_posts(session: Session, version: str, filt: ScanFilter) -> list[int]:
    """Every pending id (small scans and tests only; the scan itself pages with ``pending_pages``)."""
    stmt = _pending_query(version, filt).with_only_columns(Post.id).order_by(Post.id)
    if filt.limit:
        stmt = stmt.limit(filt.limit)
    return list(session.scalars(stmt))


def match_election(elections: Sequence[Election], spans: Sequence[dict], when: datetime) -> Election | None:
    """The election the evidence points at most often; else one whose campaign window covers the post.

    A span that may mean contestants of k elections gives each 1/k of a vote, so one unambiguous name
    outweighs a shared "nomor 2"; a tie goes by election type (pilpres, pileg, party list, pilkada) and then
    file order. The flag's election only sets its threshold and window note; the evidence keeps every match.
    """
    votes: Counter[str] = Counter()
    for span in spans:
        ids = {m.get("election_id") for m in span.get("matches") or [span] if isinstance(m, dict)} - {None}
        for eid in ids:
            votes[str(eid)] += 1 / len(ids)
    by_id = {e.id: e for e in elections}
    order = {e.id: i for i, e in enumerate(elections)}
    ranked = sorted((eid for eid in votes if eid in by_id),
                    key=lambda eid: (-votes[eid], TYPE_PRIORITY[by_id[eid].type], order[eid]))
    if ranked:
        return by_id[ranked[0]]
    for e in elections:
        if e.window_note(when) is None:
            return e
    return None


class Gate(Protocol):
    """A cheap first stage (``netral.pipeline.cascade``): which posts the full model must see."""

    name: str

    def passes(self, texts: Sequence[str]) -> list[bool]: ...


def scan(
    factory: sessionmaker[Session],
    clf: Classifier,
    filt: ScanFilter | None = None,
    *,
    chunk_size: int = 256,
    batch_size: int = 32,
    extractor: EvidenceExtractor | None = None,
    elections: Sequence[Election] | None = None,
    explain: bool = False,
    cascade: Gate | None = None,
    on_progress: Callable[[int], None] | None = None,
    settings: Settings | None = None,
) -> ScanResult:
    """Score the posts ``clf`` has not scored yet, flag those above threshold, attach evidence.

    Drivers (gradient x input) are not part of the scan by default: they cost about three forward passes
    per flag and a reviewer opens only some flags, so they are computed on the first opening of a flag or
    by ``netral explain`` (``netral.review.drivers``); ``explain=True`` computes them here instead.
    With a ``cascade``, posts its cheap stage lets through are scored by ``clf``; the others get a score
    row that records the stage (score 0, ``{"cascade": gate name}``), so they count as scanned and are
    never flagged.

    The evidence extractor and the elections come from the arguments, else from ``settings.elections_dir``
    as it is now (the caller's settings; the process settings only when a caller passes neither): a config
    added since the last scan is used, a broken one is left out and logged. The author's unit on the roster
    gives the region that narrows ambiguous evidence (``netral.elections.voter_regions``).
    """
    filt = filt or ScanFilter()
    if extractor is None or elections is None:
        chosen = settings or get_settings()
        extractor = extractor or EvidenceExtractor.for_directory(chosen.elections_dir, chosen.evidence_words)
        elections = list(elections) if elections is not None else current_catalog(chosen.elections_dir).elections
    version = clf.name
    result = ScanResult()
    started = time.perf_counter()
    for session, posts in pending_pages(factory, version, filt, chunk_size):
        texts = [p.text for p in posts]
        keep = cascade.passes(texts) if cascade is not None else [True] * len(posts)
        full = [i for i, k in enumerate(keep) if k]
        probs = clf.probabilities([texts[i] for i in full], batch_size=batch_size)
        row_of = dict(zip(full, probs, strict=True))
        flags = {f.post_id: f for f in session.scalars(select(Flag).where(Flag.post_id.in_([p.id for p in posts])))}
        units: dict[int, str] = {row.id: row.unit for row in session.execute(
            select(Account.id, Account.unit).where(Account.id.in_({p.account_id for p in posts})))}
        touched: list[tuple[Flag, str]] = []
        for i, post in enumerate(posts):
            row = row_of.get(i)
            if row is None:  # the cheap stage saw no political signal
                session.add(Score(post_id=post.id, model_version=version, partisan_score=0.0,
                                  categories={"cascade": cascade.name if cascade else ""}))
                result.cascade_skipped += 1
                continue
            score = float(row[0])
            cats = {c: round(float(v), 4) for c, v in zip(clf.categories, row[1:], strict=True)}
            session.add(Score(post_id=post.id, model_version=version, partisan_score=score, categories=cats))
            regions = voter_regions(units.get(post.account_id), elections)
            flag = _apply_flag(session, post, flags.get(post.id), score, cats, clf, extractor, elections, result,
                               regions)
            if flag is not None:
                touched.append((flag, post.text))
        if explain and touched:
            from netral.models.explain import gradient_x_input  # torch: only when asked for

            drivers = gradient_x_input(clf, [text for _, text in touched])
            for (flag, _), found in zip(touched, drivers, strict=True):
                flag.drivers, flag.drivers_version = [d.to_dict() for d in found], version
        session.commit()
        result.scanned += len(posts)
        if on_progress:
            on_progress(len(posts))
    result.seconds = time.perf_counter() - started
    return result


def _apply_flag(session: Session, post: Post, flag: Flag | None, score: float, cats: dict[str, float],
                clf: Classifier, extractor: EvidenceExtractor, elections: Sequence[Election],
                result: ScanResult, regions: Sequence[str] | None = None) -> Flag | None:
    """Create or update the post's flag; returns the flag whose scores changed (for drivers), if any."""
    if flag is not None:
        if flag.source != FlagSource.MODEL:
            return None  # a complaint's flag carries no model score to refresh
        if flag.status == FlagStatus.PENDING and flag.model_version != clf.name:
            session.add(FlagScoreHistory(flag_id=flag.id, model_version=flag.model_version,
                                         threshold=flag.threshold, partisan_score=flag.partisan_score,
                                         categories=flag.categories))
            flag.model_version, flag.threshold = clf.name, clf.threshold
            flag.partisan_score, flag.categories, flag.updated_at = score, cats, utcnow()
            flag.drivers, flag.drivers_version = [], None  # the old model's drivers explain the old score
            result.updated_flags += 1
            return flag
        return None  # flags in review or decided keep the scores people saw; the score row records the new view
    floor = min([clf.threshold, *(e.threshold for e in elections if e.threshold is not None)])
    if score < floor:  # below every threshold: no flag whatever the evidence, so no evidence to extract
        return None
    spans = [s.to_dict() for s in extractor.extract(post.text, when=post.created_at, regions=regions)]
    election = match_election(elections, spans, post.created_at)
    threshold = election.threshold if election is not None and election.threshold is not None else clf.threshold
    if score < threshold:
        return None
    new = Flag(post_id=post.id, status=FlagStatus.PENDING, model_version=clf.name, threshold=threshold,
               partisan_score=score, categories=cats, evidence=spans,
               election=election.id if election else None,
               window_note=election.window_note(post.created_at) if election else "tidak cocok dengan pemilu mana pun")
    session.add(new)
    session.flush()
    result.flagged += 1
    result.flag_ids.append(new.id)
    return new
