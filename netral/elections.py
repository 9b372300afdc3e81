"""Election configurations: who is contesting, when campaigning is allowed, and how people refer to them.

The configs are data, not code, so an admin can add a Pilkada without a release. They feed two things that
must agree: the evidence extractor (names, numbers, slogans, hashtags, gestures become highlighted spans) and
the review screen (a post's date is put in context of the campaign window). A typo in a config would silently
weaken both, so every file is validated strictly and an error names the file and the field that is wrong.

Matching vocabulary per contestant or party:

- ``names``/``nicknames`` are people (CANDIDATE); ``aliases`` of a contestant name the pair or its team (PAIR);
  a party's ``name``/``abbreviation``/``aliases``/``symbols`` are the party (PARTY).
- ``case_sensitive`` lists terms that only count in exactly that spelling ("AMIN" the pair, not the "amin" that
  ends a prayer).
- ``context_only`` lists terms that only count right after a party word ("kader PKB", not "bayar PKB" the vehicle
  tax) or, for symbols, a symbol word ("lambang beringin", not the tree in the town square).
- ``ignore_phrases`` on the election are phrases that contain a term but are not evidence ("Kabinet Indonesia Maju").
- ``unconfirmed`` records facts the config author could not verify, so reviewers know what to trust.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from netral.localtime import INDONESIAN_ZONES, zone

ElectionType = Literal["pilpres", "pileg", "pilkada", "party_list"]



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
            raise ValueError("empty string in list")
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
                raise ValueError(f"{value!r} is not a hashtag (letters, digits or _ after '#')")
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
                    raise ValueError(f"{field} entry {term!r} is not one of this entry's terms")
        return self


class Contestant(_Referable):
    """A candidate pair (or single candidate) on the ballot."""

    ballot_number: int | None = Field(default=None, ge=1, le=99)
    names: list[str] = Field(min_length=1)
    nicknames: list[str] = []
    aliases: list[str] = []
    parties: list[str] = []

    @field_validator("names", "nicknames", "aliases", "parties")
    @classmethod
    def _non_empty_names(cls, values: list[str]) -> list[str]:
        return _no_blank(values)

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
    region: str = Field(min_length=1)
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
            raise ValueError(f"campaign_end {end} is before campaign_start {start}")
        return end

    @field_validator("voting_day")
    @classmethod
    def _voting_after_campaign(cls, voting: dt.date, info: ValidationInfo) -> dt.date:
        end = info.data.get("campaign_end")
        if end is not None and voting <= end:
            raise ValueError(f"voting_day {voting} must come after campaign_end {end}")
        return voting

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            if name not in INDONESIAN_ZONES:  # Indonesia's zones work even on a host without tz data
                raise ValueError(f"unknown timezone {name!r}") from exc
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

    @field_validator("ignore_phrases")
    @classmethod
    def _non_empty_phrases(cls, values: list[str]) -> list[str]:
        return _no_blank(values)

    @model_validator(mode="after")
    def _gestures_point_at_contestants(self) -> Election:
        numbers = {c.ballot_number for c in self.contestants} | {p.ballot_number for p in self.parties}
        for gesture in self.gestures:
            if gesture.ballot_number is not None and gesture.ballot_number not in numbers:
                raise ValueError(f"gesture {gesture.phrases[0]!r} points at ballot number "
                                 f"{gesture.ballot_number}, which no contestant has")
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
            raise ValueError(f"duplicate ballot number {number} (entries {seen[number]} and {index})")
        seen[number] = index


class _StringDateLoader(yaml.SafeLoader):
    """SafeLoader that leaves dates as strings so pydantic parses them and reports the field on a bad date.

    PyYAML would otherwise raise its own error for "2023-13-45" without saying which key held it.
    """


_StringDateLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _loc(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(root)"


def load_election_file(path: Path) -> Election:
    """Parse and validate one config file."""
    try:
        raw: Any = yaml.load(path.read_text(encoding="utf-8"), Loader=_StringDateLoader)
    except yaml.YAMLError as exc:
        raise ElectionConfigError(path, [("(yaml)", str(exc).replace("\n", " "))]) from exc
    if not isinstance(raw, dict):
        raise ElectionConfigError(path, [("(root)", "expected a mapping of election fields")])
    try:
        return Election.model_validate(raw)
    except ValidationError as exc:
        errors = [(_loc(err["loc"]), err["msg"]) for err in exc.errors()]
        raise ElectionConfigError(path, errors) from exc


def load_elections(directory: Path) -> list[Election]:
    """Load every ``*.yaml``/``*.yml`` file in ``directory`` (``settings.elections_dir``), sorted by file name.

    Checks that span files are also made here: election ids are unique, and every party a contestant
    names is defined by some party-list config in the same directory.
    """
    paths = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    loaded = [(path, load_election_file(path)) for path in paths]

    seen_ids: dict[str, Path] = {}
    for path, election in loaded:
        if election.id in seen_ids:
            other = seen_ids[election.id].name
            raise ElectionConfigError(path, [("id", f"{election.id!r} is already used by {other}")])
        seen_ids[election.id] = path

    parties = [party for _, election in loaded for party in election.parties]
    for path, election in loaded:
        for ci, contestant in enumerate(election.contestants):
            for pi, reference in enumerate(contestant.parties):
                if not any(party.refers_to(reference) for party in parties):
                    raise ElectionConfigError(
                        path, [(f"contestants.{ci}.parties.{pi}", f"unknown party {reference!r}; define it in a "
                                                                   "party_list config")]
                    )
    return [election for _, election in loaded]
