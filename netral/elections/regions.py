"""Where an ASN votes, as far as the roster tells: the configured region named in the account's unit.

On 27 November 2024 a Malang ASN votes in the Pilgub Jawa Timur and in one Pilkada (Kota Malang, Kabupaten
Malang or Kota Batu), and all of them have a pair number 2. When a post says only "nomor 2", the elections the
author can vote in narrow the candidates down; nothing else may, because guessing one pair would put words in
the ASN's mouth. The roster has no voting-address field, so the region comes from the unit's name ("Dinas
Pendidikan Kota Batu", "Pemkab Malang"). That is where the ASN works, not necessarily where they vote: the
narrowing is only used when a post gives no better hint, and a unit that names no configured region (or two)
leaves every election in play.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from netral.elections.model import NATIONAL, Election

# How unit names abbreviate the kinds of area: "Kab. Malang", "Pemkab Malang", "Pemkot Batu", "Pemprov Jatim".
_PREFIXES = [
    (re.compile(r"\b(?:pemkab|pemerintah\s+kabupaten|kab\.?)\s+", re.IGNORECASE), "kabupaten "),
    (re.compile(r"\b(?:pemkot|pemerintah\s+kota)\s+", re.IGNORECASE), "kota "),
    (re.compile(r"\b(?:pemprov|pemerintah\s+provinsi|provinsi|prov\.?)\s+", re.IGNORECASE), ""),
]


def _normalise(text: str) -> str:
    for pattern, replacement in _PREFIXES:
        text = pattern.sub(replacement, text)
    return " ".join(text.casefold().split())


def _names(election: Election) -> list[str]:
    return [_normalise(name) for name in (election.regions[0], *election.region_aliases)]


def voter_regions(unit: str | None, elections: Sequence[Election]) -> tuple[str, ...] | None:
    """The configured region chain (most specific first) that ``unit`` names, or None when it names none or two.

    "Dinas Kesehatan Kota Batu" with a Kota Batu config gives ``("Kota Batu", "Jawa Timur")``; "Pemprov Jatim"
    with a Pilgub config whose ``region_aliases`` has "Jatim" gives ``("Jawa Timur",)``.
    """
    if not unit:
        return None
    text = f" {_normalise(unit)} "
    found: dict[str, tuple[str, ...]] = {}
    for election in elections:
        if election.regions[0].casefold() == NATIONAL:
            continue
        if any(re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text) for name in _names(election)):
            found.setdefault(election.regions[0].casefold(), election.regions)
    if not found:
        return None
    # Keep the most specific areas: "Kota Batu" beats "Jawa Timur" when a unit names both.
    depth = max(len(chain) for chain in found.values())
    deepest = {chain for chain in found.values() if len(chain) == depth}
    if len(deepest) != 1:
        return None
    return deepest.pop()
