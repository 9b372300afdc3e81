"""The election config model: who is contesting, when campaigning is allowed, and how people refer to them.

The configs are data, not code, so an admin can add a Pilkada without a release. They feed two things that
must agree: the evidence extractor (names, numbers, slogans, hashtags, gestures become highlighted spans) and
the review screen (a post's date is put in context of the campaign window). A typo in a config would silently
weaken both, so every file is validated strictly and an error names the file and the field that is wrong
(loading: :mod:`netral.elections.catalog`).

Matching vocabulary per contestant or party:

- ``names``/``nicknames`` are people (CANDIDATE); ``aliases`` of a contestant name the pair or its team (PAIR);
  a party's ``name``/``abbreviation``/``aliases``/``symbols`` are the party (PARTY).
- ``case_sensitive`` lists terms that only count in exactly that spelling ("AMIN" the pair, not the "amin" that
  ends a prayer).
- ``context_only`` lists terms that only count right after a party word ("kader PKB", not "bayar PKB" the vehicle
  tax) or, for symbols, a symbol word ("lambang beringin", not the tree in the town square).
- ``ignore_phrases`` on the election are phrases that contain a term but are not evidence ("Kabinet Indonesia
  Maju", the Independence Day theme "Nusantara Baru, Indonesia Maju").
- ``offices`` of a contestant are posts a candidate held before the candidacy (a Pj. head of region, a minister,
  an incumbent): "Pj Wali Kota Malang Wahyu Hidayat meresmikan ..." written while he held the office reports an
  official duty, so a name inside such a title is not evidence up to the office's ``until`` date.
- ``unconfirmed`` records facts the config author could not verify, so reviewers know what to trust.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from netral.localtime import INDONESIAN_ZONES, zone
from netral.vocabulary import ElectionType

NATIONAL = "indonesia"  # the region of a national election: every voter votes in it


class ElectionConfigError(ValueError):
    """A config file that cannot be used; names the file and the dotted field path of each problem."""

    def __init__(self, path: Path | None, errors: list[tuple[str, str]]) -> None:
        self.path = path
        self.errors = errors
        where = path.name if path is not None else "<config>"
        super().__init__("; ".join(f"{where}: {field}: {message}" for field, message in errors))

    @property
    def field(self) -> str:
        """The first offending field, for callers that report one."""
        return self.errors[0][0] if self.errors else ""


class _Model(BaseModel):
    # Unknown keys are almost always typos ("hashtag:" for "hashtags:"); silently ignoring them would drop
    # evidence patterns without anyone noticing.
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _no_blank(values: list[str]) -> list[str]:
    for value in values:
        if not value:
            raise ValueError("ada teks kosong di dalam daftar")
    return values


class _Referable(_Model):
    """Fields shared by contestants and parties: matching controls and honesty notes."""

    slogans: list[str] = []
    hashtags: list[str] = []
    case_sensitive: list[str] = []
    context_only: list[str] = []
    unconfirmed: list[str] = []

    @field_validator("slogans", "case_sensitive", "context_only")
    @classmethod
    def _non_empty(cls, values: list[str]) -> list[str]:
        return _no_blank(values)

    @field_validator("hashtags")
    @classmethod
    def _hashtag_shape(cls, values: list[str]) -> list[str]:
        for value in values:
            body = value.removeprefix("#")
            if not body or not all(ch.isalnum() or ch == "_" for ch in body):
                raise ValueError(f"{value!r} bukan tagar (huruf, angka atau _ setelah '#')")
        return values

    def terms(self) -> list[str]:
        """Every string that refers to this entity (subclasses list theirs)."""
        raise NotImplementedError

    @model_validator(mode="after")
    def _controls_refer_to_terms(self) -> _Referable:
        known = {t.casefold() for t in self.terms()}
        for field in ("case_sensitive", "context_only"):
            for term in getattr(self, field):
                if term.casefold() not in known:
                    raise ValueError(f"isian {field} {term!r} bukan salah satu istilah entri ini")
        return self


class Office(_Model):
    """An office a candidate held before the candidacy, and how posts about its duties name the holder.

    ASN post about their head's work every day ("Pj Wali Kota Malang Wahyu Hidayat membuka Musrenbang"); that
    is the job, not support for a pair. Until ``until`` (the last day the duties were the holder's, or the day
    before the candidacy) a holder's name written with one of ``titles`` is therefore not evidence.
    """

    holder: list[str] = Field(min_length=1)  # how the holder is written: some of the contestant's names
    titles: list[str] = Field(min_length=1)  # "Pj Wali Kota Malang", "Pj Walikota", "Penjabat Wali Kota"
    until: dt.date
    note: str | None = None
    unconfirmed: list[str] = []

    @field_validator("holder", "titles")
    @classmethod
    def _non_empty(cls, values: list[str]) -> list[str]:
        return _no_blank(values)


class Contestant(_Referable):
    """A candidate pair (or single candidate) on the ballot."""

    ballot_number: int | None = Field(default=None, ge=1, le=99)
    names: list[str] = Field(min_length=1)
    nicknames: list[str] = []
    aliases: list[str] = []
    parties: list[str] = []
    offices: list[Office] = []

    @field_validator("names", "nicknames", "aliases", "parties")
    @classmethod
    def _non_empty_names(cls, values: list[str]) -> list[str]:
        return _no_blank(values)

    @model_validator(mode="after")
    def _holders_are_names(self) -> Contestant:
        people = {term.casefold() for term in [*self.names, *self.nicknames]}
        for office in self.offices:
            for holder in office.holder:
                if holder.casefold() not in people:
                    raise ValueError(f"offices: holder {holder!r} bukan salah satu names/nicknames entri ini")
        return self

    def terms(self) -> list[str]:
        return [*self.names, *self.nicknames, *self.aliases, *self.slogans]

    @property
    def label(self) -> str:
        """How reviewers see the contestant: ballot number (when known) and the names."""
        names = " – ".join(self.names)
        return f"{self.ballot_number:02d} {names}" if self.ballot_number is not None else names


class Party(_Referable):
    """A political party, as contestant in a party-list election and as supporter of candidates."""

    ballot_number: int | None = Field(default=None, ge=1, le=99)
    name: str = Field(min_length=1)
    abbreviation: str | None = None
    aliases: list[str] = []
    symbols: list[str] = []

    @field_validator("aliases", "symbols")
    @classmethod
    def _non_empty_aliases(cls, values: list[str]) -> list[str]:
        return _no_blank(values)

    def terms(self) -> list[str]:
        abbreviation = [self.abbreviation] if self.abbreviation else []
        return [self.name, *abbreviation, *self.aliases, *self.symbols, *self.slogans]

    @property
    def label(self) -> str:
        return self.abbreviation or self.name

    def refers_to(self, reference: str) -> bool:
        """Whether a contestant's ``parties`` entry means this party (by abbreviation, name or alias)."""
        wanted = reference.casefold()
        candidates = [self.name, *([self.abbreviation] if self.abbreviation else []), *self.aliases]
        return any(wanted == c.casefold() for c in candidates)


class Gesture(_Model):
    """A hand or finger gesture described in text ("salam dua jari") and the ballot number it signals."""

    phrases: list[str] = Field(min_length=1)
    ballot_number: int | None = Field(default=None, ge=1, le=99)
    note: str | None = None
    unconfirmed: list[str] = []

    @field_validator("phrases")
    @classmethod
    def _non_empty(cls, values: list[str]) -> list[str]:
        return _no_blank(values)


class Election(_Model):
    id: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=1)
    type: ElectionType
    # Most specific area first, comma-separated: "Kota Malang, Jawa Timur"; "Indonesia" for national elections.
    region: str = Field(min_length=1)
    # Other ways a roster unit names the area ("Jatim"); "Kab."/"Pemkab"/"Pemkot"/"Pemprov" are known already.
    region_aliases: list[str] = []
    timezone: str = "Asia/Jakarta"
    campaign_start: dt.date
    campaign_end: dt.date
    voting_day: dt.date
    contestants: list[Contestant] = []
    parties: list[Party] = []
    gestures: list[Gesture] = []
    ignore_phrases: list[str] = []
    # Flag threshold for posts matched to this election; None = the model's own (recall-based) one.
    threshold: float | None = Field(default=None, gt=0.0, lt=1.0)
    sources: list[str] = []
    unconfirmed: list[str] = []

    @field_validator("campaign_end")
    @classmethod
    def _end_after_start(cls, end: dt.date, info: ValidationInfo) -> dt.date:
        start = info.data.get("campaign_start")
        if start is not None and end < start:
            raise ValueError(f"campaign_end {end} lebih awal dari campaign_start {start}")
        return end

    @field_validator("voting_day")
    @classmethod
    def _voting_after_campaign(cls, voting: dt.date, info: ValidationInfo) -> dt.date:
        end = info.data.get("campaign_end")
        if end is not None and voting <= end:
            raise ValueError(f"voting_day {voting} harus sesudah campaign_end {end}")
        return voting

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            if name not in INDONESIAN_ZONES:  # Indonesia's zones work even on a host without tz data
                raise ValueError(f"zona waktu {name!r} tidak dikenal") from exc
        return name

    @field_validator("contestants")
    @classmethod
    def _unique_contestant_numbers(cls, contestants: list[Contestant]) -> list[Contestant]:
        _check_unique_numbers(n.ballot_number for n in contestants)
        return contestants

    @field_validator("parties")
    @classmethod
    def _unique_party_numbers(cls, parties: list[Party]) -> list[Party]:
        _check_unique_numbers(p.ballot_number for p in parties)
        return parties

    @field_validator("ignore_phrases", "region_aliases")
    @classmethod
    def _non_empty_phrases(cls, values: list[str]) -> list[str]:
        return _no_blank(values)

    @field_validator("region")
    @classmethod
    def _region_parts(cls, region: str) -> str:
        if any(not part.strip() for part in region.split(",")):
            raise ValueError(f"{region!r}: ada bagian kosong di antara koma")
        return region

    @model_validator(mode="after")
    def _gestures_point_at_contestants(self) -> Election:
        numbers = {c.ballot_number for c in self.contestants} | {p.ballot_number for p in self.parties}
        for gesture in self.gestures:
            if gesture.ballot_number is not None and gesture.ballot_number not in numbers:
                raise ValueError(f"gestur {gesture.phrases[0]!r} menunjuk nomor urut {gesture.ballot_number}, "
                                 "yang tidak dimiliki kontestan mana pun")
        return self

    # --- time ---------------------------------------------------------------------------------------

    def local_date(self, when: dt.datetime) -> dt.date:
        """The calendar date of ``when`` where the election is held; naive datetimes are taken as local."""
        if when.tzinfo is None:
            return when.date()
        return when.astimezone(self._zone()).date()

    def in_campaign(self, when: dt.datetime) -> bool:
        return self.campaign_start <= self.local_date(when) <= self.campaign_end

    def window_note(self, when: dt.datetime) -> str | None:
        """An Indonesian note for the reviewer when a post falls outside the campaign window, else None.

        Neutrality rules bind ASN all the time, so the note does not excuse anything; it tells the reviewer
        which phase the post belongs to (before the campaign, the quiet period, voting day, after voting).
        """
        day = self.local_date(when)
        if self.campaign_start <= day <= self.campaign_end:
            return None
        if day < self.campaign_start:
            detail = f"sebelum masa kampanye {_fmt(self.campaign_start)}"
        elif day < self.voting_day:
            quiet_start = self.campaign_end + dt.timedelta(days=1)
            quiet_end = self.voting_day - dt.timedelta(days=1)
            detail = f"masa tenang {_fmt(quiet_start)} s.d. {_fmt(quiet_end)}"
        elif day == self.voting_day:
            detail = f"hari pemungutan suara {_fmt(self.voting_day)}"
        else:
            detail = f"setelah pemungutan suara {_fmt(self.voting_day)}"
        return f"di luar masa kampanye ({detail})"

    def _zone(self) -> dt.tzinfo:
        return zone(self.timezone)

    # --- place ------------------------------------------------------------------------------------

    @property
    def regions(self) -> tuple[str, ...]:
        """The election's area and the areas containing it, most specific first ("Kota Batu", "Jawa Timur")."""
        return tuple(part.strip() for part in self.region.split(","))

    def covers(self, voter_regions: Sequence[str]) -> bool:
        """Whether a voter of ``voter_regions`` (most specific first) can vote in this election.

        A national election covers everyone; otherwise the election's area must contain the voter's (Pilgub
        Jawa Timur for a Kota Batu voter) or lie inside it (a voter known only to be in Jawa Timur may vote in
        any of its Pilkada). Disjoint areas (a Kota Batu voter and the Kota Malang Pilkada) are not covered.
        """
        if not voter_regions or self.regions[0].casefold() == NATIONAL:
            return True
        mine = {part.casefold() for part in self.regions}
        theirs = {part.casefold() for part in voter_regions}
        return self.regions[0].casefold() in theirs or voter_regions[0].casefold() in mine

    # --- lookups ------------------------------------------------------------------------------------

    def contestant_by_number(self, number: int) -> Contestant | None:
        return next((c for c in self.contestants if c.ballot_number == number), None)

    def party_by_number(self, number: int) -> Party | None:
        return next((p for p in self.parties if p.ballot_number == number), None)


def _fmt(day: dt.date) -> str:
    return day.strftime("%d-%m-%Y")


def _check_unique_numbers(numbers: Iterable[int | None]) -> None:
    seen: dict[int, int] = {}
    for index, number in enumerate(numbers):
        if number is None:
            continue
        if number in seen:
            raise ValueError(f"nomor urut {number} ganda (entri {seen[number]} dan {index})")
        seen[number] = index
