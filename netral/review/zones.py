"""Which clock a case is read on: the zone of the election its flag belongs to.

A flag stores its election's id; the zone (and the election's type, which decides whether Bawaslu's track
runs under UU 7/2017 or UU 10/2016) lives in the election's config file. The report, the flag page and the
exports all ask here, so a Pilkada in Sulawesi shows WITA everywhere.

Config files are read on every lookup, cached by modification time, so an edited or new file takes effect
without a restart. A file that does not validate is skipped here (its flags fall back to the default zone)
rather than breaking a page; ``netral elections validate`` is where such a file is reported.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from netral.elections import ElectionConfigError, load_election_file

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ElectionClock:
    election_id: str
    timezone: str
    type: str | None  # pilpres, pileg, pilkada, party_list; None when the election has no config


_cache: dict[Path, tuple[int, int, ElectionClock | None]] = {}
_lock = threading.Lock()


def _read(path: Path) -> ElectionClock | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (stat.st_mtime_ns, stat.st_size)
    with _lock:
        cached = _cache.get(path)
    if cached is not None and cached[:2] == key:
        return cached[2]
    try:
        election = load_election_file(path)
        clock: ElectionClock | None = ElectionClock(election.id, election.timezone, election.type)
    except (ElectionConfigError, OSError, UnicodeDecodeError) as exc:
        log.warning("election config %s skipped for time zones: %s", path, exc)
        clock = None
    with _lock:
        _cache[path] = (*key, clock)
    return clock


@dataclass(frozen=True)
class ZoneBook:
    """Election id -> its clock, with the zone to use for a flag without a (known) election."""

    clocks: dict[str, ElectionClock]
    default_timezone: str

    def timezone(self, election_id: str | None) -> str:
        clock = self.clocks.get(election_id or "")
        return clock.timezone if clock is not None else self.default_timezone

    def election_type(self, election_id: str | None) -> str | None:
        clock = self.clocks.get(election_id or "")
        return clock.type if clock is not None else None


def zone_book(elections_dir: Path, default_timezone: str) -> ZoneBook:
    """The clocks of every election config in ``elections_dir`` (``settings.elections_dir``)."""
    clocks: dict[str, ElectionClock] = {}
    if elections_dir.is_dir():
        for path in sorted([*elections_dir.glob("*.yaml"), *elections_dir.glob("*.yml")]):
            clock = _read(path)
            if clock is not None:
                clocks.setdefault(clock.election_id, clock)
    return ZoneBook(clocks, default_timezone)
