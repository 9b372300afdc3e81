"""One batch job of a kind at a time (a scan), across processes, released when the holder dies.

Two scans at once both picked the same unscored posts; the second died on the unique constraint of
``scores`` (issue 11, finding 16). A second scan now either waits or stops at once with a message
naming what holds the lock. The lock must vanish with its holder, or a ``kill -9`` would block every
later scan: PostgreSQL's session advisory lock dies with the connection; for SQLite (one machine by
construction) ``flock`` on a file next to the database dies with the process.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text


class JobBusy(Exception):
    """Another process holds the lock; the message says so in Indonesian, for the operator."""


def _pg_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"netral-job:{name}".encode()).digest()[:8], "big", signed=True)


def _sqlite_lock_path(engine: Engine, name: str) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise JobBusy("basis data SQLite di memori tidak mendukung kunci pekerjaan")
    return Path(database).with_name(Path(database).name + f".{name}.lock")


@contextmanager
def exclusive(engine: Engine, name: str, *, wait: bool = False) -> Iterator[None]:
    """Hold the ``name`` lock for the block; ``wait`` blocks until it is free, else ``JobBusy`` at once."""
    if engine.dialect.name == "postgresql":
        key = _pg_key(name)
        with engine.connect() as conn:
            if wait:
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            elif not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
                raise JobBusy(f"tugas {name!r} lain sedang berjalan pada basis data ini; tunggu sampai selesai "
                              f"atau jalankan dengan --wait")
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
        return
    path = _sqlite_lock_path(engine, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            raise JobBusy(f"tugas {name!r} lain sedang berjalan (proses {holder}); tunggu sampai selesai atau jalankan "
                          f"dengan --wait") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock (and so does the process dying)
