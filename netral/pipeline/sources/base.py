"""What every post source looks like to the ingestion pipeline.

File imports, scrapers and anything added later hand :func:`netral.pipeline.ingest.ingest_records`
the same thing: ``(record number, raw dict)`` pairs whose keys are the fields of
:class:`netral.pipeline.incoming.IncomingPost` (the model file import and ``POST /api/posts`` share).
Validation, the roster scope rule and the snapshot rule therefore stay in one place and a source only
has to know how to read its platform.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from sqlalchemy.orm import Session, sessionmaker

from netral.pipeline.ingest import IngestResult, ingest_records
from netral.settings import Settings

Record = tuple[int, dict[str, Any]]


@runtime_checkable
class Source(Protocol):
    """A finite stream of raw post records.

    ``name`` ends up in ``posts.source`` and the ingest log, so it should say where the data came
    from (tool and target), not just the platform. The int in each pair is a running record number
    that rejections quote, the way file imports quote line numbers.
    """

    name: str

    def iter_records(self) -> Iterator[Record]: ...


class SourceError(RuntimeError):
    """A source could not deliver (network, blocked, page layout changed, target not public).

    Carries platform and target so the operator sees which scrape failed without a traceback;
    whatever was yielded before the failure is still valid and gets stored.
    """

    def __init__(self, platform: str, target: str, reason: str) -> None:
        super().__init__(f"{platform} {target}: {reason}")
        self.platform = platform
        self.target = target
        self.reason = reason


@dataclass
class SourceRun:
    result: IngestResult
    error: SourceError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.result.ok


def ingest_source(
    factory: sessionmaker[Session],
    source: Source,
    *,
    settings: Settings | None = None,
    actor: str = "cli",
    on_record: Callable[[int], None] | None = None,
) -> SourceRun:
    """Ingest everything a source yields, even when it fails half-way.

    A SourceError raised inside ``ingest_records``' loop would skip the final flush and drop the
    open batch, so the error is caught here, the stream is ended cleanly, and the error is returned
    next to the counts of what did get in.
    """
    run = SourceRun(IngestResult())

    def guarded() -> Iterator[Record]:
        try:
            for number, record in source.iter_records():
                if on_record:
                    on_record(number)
                yield number, record
        except SourceError as exc:
            run.error = exc

    run.result = ingest_records(factory, guarded(), source.name, settings=settings, actor=actor)
    return run
