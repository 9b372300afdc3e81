"""The local clock the people using Netral read: Indonesia's three zones (WIB, WITA, WIT) and "a zone by name".

Bottom layer (imports nothing from Netral). Election files and settings name zones (``Asia/Makassar``); a
report about a Pilkada in Sulawesi must show WITA, not the WIB of the capital. A host without tz data must
still show the right clock, so :func:`zone` falls back to the fixed offsets Indonesia's zones have had since
1988 (none observes daylight saving), and to WIB for a name it does not know.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WIB = dt.timezone(dt.timedelta(hours=7), "WIB")
WITA = dt.timezone(dt.timedelta(hours=8), "WITA")
WIT = dt.timezone(dt.timedelta(hours=9), "WIT")
DEFAULT_ZONE_NAME = "Asia/Jakarta"

# Indonesia's IANA zones with their fixed offsets (the fallback when the host has no tz data).
INDONESIAN_ZONES: dict[str, dt.timezone] = {
    "Asia/Jakarta": WIB, "Asia/Pontianak": WIB, "Asia/Makassar": WITA, "Asia/Jayapura": WIT,
}
_ABBREVIATIONS: dict[dt.timedelta, str] = {dt.timedelta(hours=7): "WIB", dt.timedelta(hours=8): "WITA",
                                           dt.timedelta(hours=9): "WIT"}


def zone(name: str | dt.tzinfo | None = None) -> dt.tzinfo:
    """The zone called ``name`` (default Asia/Jakarta); an Indonesian zone's fixed offset when the host has no
    data for it; WIB for a name nobody knows. A ``tzinfo`` is returned as it is."""
    if isinstance(name, dt.tzinfo):
        return name
    key = name or DEFAULT_ZONE_NAME
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError):
        return INDONESIAN_ZONES.get(key, WIB)


def abbreviation(local: dt.datetime) -> str:
    """``WIB``, ``WITA`` or ``WIT`` for an aware time at UTC+7, +8 or +9; otherwise ``UTC+hh:mm``.

    Chosen by offset rather than by the zone database's abbreviation, whose spelling has changed between
    tzdata releases; the offset is what the three Indonesian names mean.
    """
    offset = local.utcoffset()
    if offset is None:
        return ""
    if offset in _ABBREVIATIONS:
        return _ABBREVIATIONS[offset]
    sign = "-" if offset < dt.timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def to_local(value: dt.datetime, name: str | dt.tzinfo | None = None) -> dt.datetime:
    """``value`` on the clock of zone ``name`` (see :func:`zone`)."""
    return value.astimezone(zone(name))
