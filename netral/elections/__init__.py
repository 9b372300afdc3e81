"""Election configurations (``data/elections/*.yaml``): the model, the directory reader and voter regions.

- :mod:`netral.elections.model`: what a config says (contestants, parties, gestures, offices, campaign window).
- :mod:`netral.elections.catalog`: reading a directory strictly (``netral elections validate``) or tolerantly
  and re-reading it when a file changes (scans, the web app).
- :mod:`netral.elections.regions`: which configured region an account's unit names.
"""

from __future__ import annotations

from netral.elections.catalog import (
    ConfigFile,
    ElectionCatalog,
    current_catalog,
    fingerprint,
    load_election_file,
    load_elections,
    read_catalog,
)
from netral.elections.model import (
    Contestant,
    Election,
    ElectionConfigError,
    ElectionType,
    Gesture,
    Office,
    Party,
)
from netral.elections.regions import voter_regions

__all__ = [
    "ConfigFile",
    "Contestant",
    "Election",
    "ElectionCatalog",
    "ElectionConfigError",
    "ElectionType",
    "Gesture",
    "Office",
    "Party",
    "current_catalog",
    "fingerprint",
    "load_election_file",
    "load_elections",
    "read_catalog",
    "voter_regions",
]
