"""Batch scan: score every post the active model has not scored yet, and flag the ones above threshold.

Resumability comes from the data, not from a cursor: a post is "done" when a score row for
(post, model version) exists, and scores and flags of a chunk commit together. A scan killed at
any point loses at most its open chunk; the next run selects exactly the posts still unscored.
A post has at most one flag (unique constraint); a newer model re-scoring a pending flag updates
it and moves the old scores to its history.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, sessionmaker

from netral.db.schema import Account, Flag, FlagScoreHistory, Post, Score
from netral.db.types import utcnow
from netral.elections import Election, load_elections
from netral.pipeline.evidence import EvidenceExtractor
from netral.settings import Settings, get_settings
from netral.vocabulary import FlagStatus

if TYPE_CHECKING:  # torch is imported only where a model is actually used
    from netral.models.classifier import Classifier


@dataclass
class ScanFilter:
    since: datetime | None = None
    unit: str | None = None
    platform: str | None = None
    limit: int | None = None


@dataclass
class ScanResult:
    scanned: int = 0
    flagged: int = 0
    updated_flags: int = 0
    seconds: float = 0.0
    flag_ids: list[int] = field(default_factory=list)

    @property
    def posts_per_second(self) -> float:
        return self.scanned / self.seconds if self.seconds else 0.0


def pending_posts(session: Session, version: str, filt: ScanFilter) -> list[int]:
    scored = select(Score.id).where(and_(Score.post_id == Post.id, Score.model_version == version)).exists()
    stmt = select(Post.id).where(~scored).order_by(Post.id)
    if filt.unit or filt.platform:
        stmt = stmt.join(Account, Account.id == Post.account_id)
    if filt.since:
        stmt = stmt.where(Post.created_at >= filt.since)
    if filt.unit:
        stmt = stmt.where(Account.unit == filt.unit)
    if filt.platform:
        stmt = stmt.where(Post.platform == filt.platform)
    if filt.limit:
        stmt = stmt.limit(filt.limit)
    return list(session.scalars(stmt))


def match_election(elections: Sequence[Election], spans: Sequence[dict], when: datetime) -> Election | None:
    """The election the evidence points at most often; else one whose campaign window covers the post."""
    votes = Counter(s.get("election_id") for s in spans if s.get("election_id"))
    by_id = {e.id: e for e in elections}
    for eid, _ in votes.most_common():
        if eid in by_id:
            return by_id[eid]
    for e in elections:
        if e.window_note(when) is None:
            return e
    return None


def scan(
    factory: sessionmaker[Session],
    clf: Classifier,
    filt: ScanFilter | None = None,
    *,
    chunk_size: int = 256,
    batch_size: int = 32,
    extractor: EvidenceExtractor | None = None,
    elections: Sequence[Election] | None = None,
    explain: bool = True,
    on_progress: Callable[[int], None] | None = None,
    settings: Settings | None = None,
) -> ScanResult:
    """Score the posts ``clf`` has not scored yet, flag those above threshold, attach evidence.

    The evidence extractor and the elections come from the arguments, else from ``settings.elections_dir``
    (the caller's settings; the process settings only when a caller passes neither).
    """
    filt = filt or ScanFilter()
    if extractor is None or elections is None:
        directory = (settings or get_settings()).elections_dir
        extractor = extractor or EvidenceExtractor.for_directory(directory)
        elections = list(elections) if elections is not None else load_elections(directory)
    version = clf.name
    with factory() as session:
        todo = pending_posts(session, version, filt)
    result = ScanResult()
    started = time.perf_counter()
    for start in range(0, len(todo), chunk_size):
        ids = todo[start:start + chunk_size]
        with factory() as session:
            posts = list(session.scalars(select(Post).where(Post.id.in_(ids)).order_by(Post.id)))
            probs = clf.probabilities([p.text for p in posts], batch_size=batch_size)
            flags = {f.post_id: f for f in session.scalars(select(Flag).where(Flag.post_id.in_(ids)))}
            touched: list[tuple[Flag, str]] = []
            for post, row in zip(posts, probs, strict=True):
                score = float(row[0])
                cats = {c: round(float(v), 4) for c, v in zip(clf.categories, row[1:], strict=True)}
                session.add(Score(post_id=post.id, model_version=version, partisan_score=score, categories=cats))
                flag = _apply_flag(session, post, flags.get(post.id), score, cats, clf, extractor, elections, result)
                if flag is not None:
                    touched.append((flag, post.text))
            if explain and touched:
                from netral.models.explain import gradient_x_input

                drivers = gradient_x_input(clf, [text for _, text in touched])
                for (flag, _), found in zip(touched, drivers, strict=True):
                    flag.drivers = [d.to_dict() for d in found]
            session.commit()
        result.scanned += len(ids)
        if on_progress:
            on_progress(len(ids))
    result.seconds = time.perf_counter() - started
    return result


def _apply_flag(session: Session, post: Post, flag: Flag | None, score: float, cats: dict[str, float],
                clf: Classifier, extractor: EvidenceExtractor, elections: Sequence[Election],
                result: ScanResult) -> Flag | None:
    """Create or update the post's flag; returns the flag whose scores changed (for drivers), if any."""
    if flag is not None:
        if flag.status == FlagStatus.PENDING and flag.model_version != clf.name:
            session.add(FlagScoreHistory(flag_id=flag.id, model_version=flag.model_version,
                                         threshold=flag.threshold, partisan_score=flag.partisan_score,
                                         categories=flag.categories))
            flag.model_version, flag.threshold = clf.name, clf.threshold
            flag.partisan_score, flag.categories, flag.updated_at = score, cats, utcnow()
            result.updated_flags += 1
            return flag
        return None  # flags in review or decided keep the scores people saw; the score row records the new view
    spans = [s.to_dict() for s in extractor.extract(post.text, when=post.created_at)]
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
