"""The local clock the people using Netral read: one definition of WIB and of "a zone by name".

Bottom layer (imports nothing from Netral). Election files and settings name zones (``Asia/Jakarta``);
a host without tz data must still show WIB, so :func:`zone` falls back to the fixed UTC+7 offset.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WIB = dt.timezone(dt.timedelta(hours=7), "WIB")
DEFAULT_ZONE_NAME = "Asia/Jakarta"


def zone(name: str | None = None) -> dt.tzinfo:
    """The zone called ``name`` (default Asia/Jakarta); WIB when the host has no data for it."""
    try:
        return ZoneInfo(name or DEFAULT_ZONE_NAME)
    except (ZoneInfoNotFoundError, ValueError):
        return WIB
