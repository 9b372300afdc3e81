"""Evidence spans: the words in a post that tie it to a contestant, shown to the reviewer next to the score.

A reviewer must be able to see *why* a post was flagged, so spans are computed on the ORIGINAL post text and
their offsets point into exactly what the reviewer reads. Everything the extractor knows comes from the
election configs (:mod:`netral.elections`); nothing is hard-coded per candidate.

How matching works:

- A spaCy pipeline: ``spacy.blank("id")`` with a ``span_ruler`` component whose token patterns are built
  from the configs; word tokens match on LOWER (case-insensitive) except ``case_sensitive`` terms, and
  separators between words ("Prabowo-Gibran", "Prabowo Gibran", "Sat-Set Tas-Tes") are optional so one
  config entry covers the ways people write a name. The Indonesian words around the names (what makes a
  number a ballot number, an address or a date; honorifics; party context) are data, in
  ``data/lexicon/evidence_id.yaml`` beside the slang lexicon, not code.
- ``_BLOCK`` patterns compete with the evidence patterns and are dropped afterwards: overlaps are resolved
  with ``spacy.util.filter_spans`` (the longest span wins), so "antrian nomor 2", "RT 02", "Nomor 2 Tahun
  2024" or "Kabinet Indonesia Maju" swallow the shorter evidence pattern inside them.
- Hashtags are single tokens for the tokenizer, so a regex pass finds them and keeps those that a config
  lists or that contain a candidate name or party name; they join the ruler's spans before the overlap
  resolution.
- A term may belong to several contestants ("salam dua jari", "nomor 2": five pairs and a party in 2024), so
  a span carries every contestant it may mean (``matches``) and is narrowed only by what the post and its
  author say: the nearest unambiguous span in the same post ("Sam HC nomor 2" is the Malang pair), then the
  post's date (the elections whose campaign contains it, else whose voting day is nearest), then the
  author's region (``regions``: a Kota Batu ASN does not vote in Kota Malang). Elections held on the same
  day stay together: "nomor 2" in November 2024 shows Khofifah-Emil and every Pilkada pair 2 the author may
  vote for, never one guessed. Without a date (masking, exports) the election type decides (pilpres, pileg,
  party list, pilkada), as before.
- A candidate's name inside the title of an office they held before the candidacy ("Pj Wali Kota Malang
  Wahyu Hidayat", config ``offices``) is not evidence for posts dated up to the office's ``until``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from netral.elections import Contestant, Election, Party, current_catalog
from netral.normalise import HASHTAG, split_hashtag
from netral.pipeline.spacy_runtime import Doc, Indonesian, Language, Span, filter_spans, spacy
from netral.settings import Settings
from netral.vocabulary import EvidenceLabel

CANDIDATE = EvidenceLabel.CANDIDATE
PAIR = EvidenceLabel.PAIR
BALLOT_NUMBER = EvidenceLabel.BALLOT_NUMBER
PARTY = EvidenceLabel.PARTY
SLOGAN = EvidenceLabel.SLOGAN
CAMPAIGN_HASHTAG = EvidenceLabel.CAMPAIGN_HASHTAG
GESTURE = EvidenceLabel.GESTURE
EVIDENCE_LABELS: tuple[str, ...] = EvidenceLabel.values()
# Reviewer-facing names for the web UI (Indonesian first).
LABEL_NAMES_ID: dict[str, str] = EvidenceLabel.labels()
_BLOCK = "_BLOCK"
_OFFICE = "_OFFICE"  # a name inside an office title; vetoes the evidence inside it while the office lasted

_SEPARATORS = ["-", "–", "—", "/", "&", "+", "_", ".", "'"]
_OPTIONAL_SEP: dict[str, Any] = {"ORTH": {"IN": _SEPARATORS}, "OP": "?"}
DEFAULT_WORDS = Path(__file__).resolve().parents[2] / "data" / "lexicon" / "evidence_id.yaml"
SPANS_KEY = "evidence"


class EvidenceWords(BaseModel):
    """The Indonesian trigger and blocker words (``data/lexicon/evidence_id.yaml``), validated on load."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    party_context: list[str]
    symbol_context: list[str]
    honorifics: list[str]
    nomor: list[str]
    vote_triggers: list[str]
    pair_triggers: list[str]
    support_verbs: list[str]
    number_blockers: list[str]
    number_followers: list[str]
    number_words: dict[int, str]


def load_words(path: Path = DEFAULT_WORDS) -> EvidenceWords:
    """Read and check the word file; a broken file fails loudly naming the file and the field.

    Cached per file state (size and modification time), so an edited word file is read again.
    """
    return _load_words(path, _file_stamp(path))


def _file_stamp(path: Path) -> tuple[int, int]:
    try:
        st = os.stat(path)
    except OSError:
        return (-1, -1)
    return (st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=8)
def _load_words(path: Path, _stamp: tuple[int, int]) -> EvidenceWords:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return EvidenceWords.model_validate(raw)
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ValueError(f"{path}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None


_DIGITS: dict[str, Any] = {"TEXT": {"REGEX": r"^\d{1,4}$"}}
# Which election an ambiguous span means when nothing else tells (no date), and how scan ties are broken.
TYPE_PRIORITY = {"pilpres": 0, "pileg": 1, "party_list": 2, "pilkada": 3}
_MIN_SUBSTRING = 5  # names at least this long are found inside run-together hashtags ("#tolakprabowo")


@dataclass(frozen=True)
class EvidenceMatch:
    """A contestant (pair, candidate or party label) of one election that a span may refer to."""

    election_id: str
    contestant: str | None

    def to_dict(self) -> dict[str, str | None]:
        return {"election_id": self.election_id, "contestant": self.contestant}


@dataclass(frozen=True)
class EvidenceSpan:
    """One highlighted piece of a post; ``text`` equals ``post[start:end]`` of the original text.

    ``matches`` holds every contestant the span may refer to after narrowing (module docstring); most spans
    have one. ``election_id`` and ``contestant`` are that one, or None when the matches disagree, so that
    nothing downstream silently picks the first.
    """

    label: str
    text: str
    start: int
    end: int
    matches: tuple[EvidenceMatch, ...] = field(default=())

    @property
    def election_id(self) -> str | None:
        elections = {m.election_id for m in self.matches}
        return elections.pop() if len(elections) == 1 else None

    @property
    def contestant(self) -> str | None:
        return self.matches[0].contestant if len(self.matches) == 1 else None

    @property
    def ambiguous(self) -> bool:
        return len(self.matches) > 1

    def to_dict(self) -> dict[str, Any]:
        """The JSON kept on a flag; ``election_id``/``contestant`` stay for readers of older flags."""
        return {"label": self.label, "text": self.text, "start": self.start, "end": self.end,
                "election_id": self.election_id, "contestant": self.contestant,
                "matches": [m.to_dict() for m in self.matches]}


@dataclass(frozen=True)
class _HashtagTerm:
    text: str  # lower-case and alphanumeric, or exact spelling when case-sensitive
    case_sensitive: bool
    ref: EvidenceMatch


@dataclass(frozen=True)
class _Candidate:
    label: str
    start: int
    end: int
    refs: tuple[EvidenceMatch, ...]


@dataclass(frozen=True)
class _OfficeSpan:
    start: int
    end: int
    ref: EvidenceMatch
    until: dt.date


class EvidenceExtractor:
    """Built once from the election configs; ``extract`` is then cheap (about a millisecond per post)."""

    def __init__(self, elections: Sequence[Election], words: EvidenceWords | None = None) -> None:
        self.elections = list(elections)
        self.words = words or load_words()
        self._by_id = {e.id: e for e in self.elections}
        # A pipeline of its own (spacy.blank("id") plus the ruler) that borrows the shared tokenizer:
        # building spaCy's Indonesian tokenizer exceptions takes seconds, the pipeline itself nothing.
        shared = _blank_indonesian()
        self.nlp: Language = Indonesian(vocab=shared.vocab, create_tokenizer=lambda _nlp: shared.tokenizer)
        self._refs: dict[str, tuple[EvidenceMatch, ...]] = {}
        self._pattern_ids: dict[str, str] = {}
        self._hashtags: dict[str, EvidenceMatch] = {}
        self._hashtag_terms: list[_HashtagTerm] = []
        self._patterns: list[dict[str, Any]] = []
        self._offices: dict[str, list[tuple[EvidenceMatch, dt.date]]] = {}
        for election in self.elections:
            self._add_election(election)
        self._add_ballot_numbers()
        self._add_number_blockers()
        ruler = self.nlp.add_pipe("span_ruler", name="evidence_ruler",
                                  config={"spans_key": SPANS_KEY, "validate": True, "overwrite": True})
        ruler.add_patterns(self._patterns)  # type: ignore[attr-defined]
        self._hashtag_terms.sort(key=lambda term: -len(term.text))

    @classmethod
    def for_directory(cls, directory: Path, words: Path = DEFAULT_WORDS) -> EvidenceExtractor:
        """The extractor for the valid election files in ``directory`` as they are now.

        Built once per state of the directory and of the word file: a new or edited config takes effect on
        the next call (each scan and request asks), without a restart; a broken file is left out (and
        logged) while the others keep working.
        """
        catalog = current_catalog(directory)
        words = words.resolve()
        key = (catalog.directory, catalog.fingerprint, words, _file_stamp(words))
        with _extractors_lock:
            found = _extractors.get(key)
            if found is None:
                found = cls(catalog.elections, load_words(words))
                _extractors[key] = found
                while len(_extractors) > _EXTRACTORS_KEPT:
                    _extractors.popitem(last=False)
            else:
                _extractors.move_to_end(key)
            return found

    @classmethod
    def from_settings(cls, settings: Settings) -> EvidenceExtractor:
        """The extractor for ``settings.elections_dir`` and ``settings.evidence_words`` (the caller's settings)."""
        return cls.for_directory(settings.elections_dir, settings.evidence_words)

    # --- extraction ---------------------------------------------------------------------------------

    def extract(self, text: str, when: dt.datetime | None = None,
                regions: Sequence[str] | None = None) -> list[EvidenceSpan]:
        """Sorted, non-overlapping evidence spans (the longest wins) with offsets into ``text``.

        ``when`` is the post's time and ``regions`` the author's region chain (``netral.elections.voter_regions``)
        when known; both only narrow which contestants an ambiguous span may mean (module docstring).
        """
        doc = self.nlp(text)
        hashtags = dict(self._hashtag_spans(doc))
        ruled = list(doc.spans[SPANS_KEY])
        offices = self._active_offices([s for s in ruled if s.label_ == _OFFICE], when)
        spans = [*(s for s in ruled if s.label_ != _OFFICE), *hashtags]
        kept = []
        for span in sorted(filter_spans(spans), key=lambda span: span.start):
            start, end = hashtags.get(span, (span.start_char, span.end_char))
            candidate = _Candidate(span.label_, start, end, self._refs.get(span.id_, ()))
            if not _in_office(candidate, offices):
                kept.append(candidate)
        anchors = _anchors(kept)
        out = []
        for candidate in kept:
            if candidate.label == _BLOCK or not candidate.refs:
                continue
            matches = self._resolve(candidate, anchors, when, regions)
            out.append(EvidenceSpan(candidate.label, text[candidate.start:candidate.end], candidate.start,
                                    candidate.end, matches))
        return sorted(out, key=lambda span: span.start)

    def _active_offices(self, spans: Iterable[Span], when: dt.datetime | None) -> list[_OfficeSpan]:
        """Office titles around a name in a post written while the office lasted (none without a date)."""
        if when is None:
            return []
        active = []
        for span in spans:
            for ref, until in self._offices.get(span.id_, []):
                if self._by_id[ref.election_id].local_date(when) <= until:
                    active.append(_OfficeSpan(span.start_char, span.end_char, ref, until))
        return active

    def _hashtag_spans(self, doc: Doc) -> Iterable[tuple[Span, tuple[int, int]]]:
        """Campaign hashtags as spans over the tokens that hold them, with the hashtag's exact characters.

        A hashtag glued to the previous word ("ini.#prabowogibran") is inside one token: its span covers
        that token for the overlap resolution, while the evidence keeps the hashtag's own offsets.
        """
        for match in HASHTAG.finditer(doc.text):
            ref = self._hashtag_ref(match.group(1))
            if ref is None:
                continue
            span_id = f"h:{ref.election_id}:{ref.contestant}"
            self._refs.setdefault(span_id, (ref,))
            span = doc.char_span(match.start(), match.end(), label=CAMPAIGN_HASHTAG, span_id=span_id,
                                 alignment_mode="expand")
            if span is not None:
                yield span, (match.start(), match.end())

    def _hashtag_ref(self, body: str) -> EvidenceMatch | None:
        listed = self._hashtags.get(body.casefold())
        if listed is not None:
            return listed
        exact = _joins(_camel_pieces(body))
        lowered = _joins(split_hashtag(body)) | {piece.lower() for piece in exact}
        flat = body.casefold()
        for term in self._hashtag_terms:
            if term.case_sensitive:
                if term.text in exact:
                    return term.ref
            elif term.text in lowered or (len(term.text) >= _MIN_SUBSTRING and term.text in flat):
                return term.ref
        return None

    def _resolve(self, candidate: _Candidate, anchors: list[_Candidate], when: dt.datetime | None,
                 regions: Sequence[str] | None) -> tuple[EvidenceMatch, ...]:
        """Narrow an ambiguous span's contestants; every one still tied at the end is kept.

        In order: the election of the nearest unambiguous span in the post; the elections whose campaign
        contains ``when``, else whose voting day is nearest to it; the elections the author's region takes part
        in (a step that would leave nothing is skipped: a Sleman ASN's "nomor 2" in October 2024 keeps the
        Jawa Timur pairs rather than falling back to the finished Pilpres). Without ``when`` the election type
        decides, after the region, as before.
        """
        refs = candidate.refs
        if len(refs) == 1:
            return refs

        def nearest(ref: EvidenceMatch) -> float:
            return min((_gap(candidate, anchor) for anchor in anchors
                        if anchor.refs[0].election_id == ref.election_id), default=float("inf"))

        def timing(ref: EvidenceMatch) -> tuple[int, int]:
            election = self._by_id[ref.election_id]
            distance = abs((election.local_date(when) - election.voting_day).days) if when is not None else 0
            return (0 if when is None or election.in_campaign(when) else 1, distance)

        refs = _best(_best(refs, nearest), timing)
        if regions:
            refs = tuple(r for r in refs if self._by_id[r.election_id].covers(regions)) or refs
        if when is None:
            refs = _best(refs, lambda ref: TYPE_PRIORITY[self._by_id[ref.election_id].type])
        # Shown nationwide elections first, then in file order: Pilgub before the Pilkada of its cities.
        return tuple(sorted(refs, key=lambda ref: TYPE_PRIORITY[self._by_id[ref.election_id].type]))

    # --- pattern building ---------------------------------------------------------------------------

    def _add(self, label: str, pattern: list[dict[str, Any]], ref: EvidenceMatch | None) -> None:
        pattern_id = self._pattern_id(label, pattern)
        if ref is not None and ref not in self._refs[pattern_id]:
            self._refs[pattern_id] = (*self._refs[pattern_id], ref)

    def _pattern_id(self, label: str, pattern: list[dict[str, Any]]) -> str:
        """The id of a (label, pattern) pair; the pattern joins the ruler the first time it is seen."""
        key = json.dumps([label, pattern], sort_keys=True, ensure_ascii=False)
        pattern_id = self._pattern_ids.get(key)
        if pattern_id is None:
            pattern_id = f"p{len(self._pattern_ids)}"
            self._pattern_ids[key] = pattern_id
            self._refs[pattern_id] = ()
            self._patterns.append({"label": label, "pattern": pattern, "id": pattern_id})
        return pattern_id

    def _add_terms(self, label: str, terms: Iterable[str], ref: EvidenceMatch, case_sensitive: Iterable[str] = (),
                   context_only: Iterable[str] = (), context: Sequence[str] | None = None,
                   honorific: bool = False) -> None:
        context = self.words.party_context if context is None else context
        sensitive = set(case_sensitive)
        needs_context = {term.casefold() for term in context_only}
        for term in terms:
            for pattern in self._term_patterns(term, term in sensitive):
                if term.casefold() in needs_context:
                    pattern = [{"LOWER": {"IN": list(context)}}, _OPTIONAL_SEP, *pattern]
                elif honorific:
                    self._add(label, [{"LOWER": {"IN": self.words.honorifics}}, *pattern], ref)
                self._add(label, pattern, ref)

    def _term_patterns(self, term: str, case_sensitive: bool) -> list[list[dict[str, Any]]]:
        variants = [term] if case_sensitive else [term, term.lower(), term.upper(), term.title()]
        patterns: list[list[dict[str, Any]]] = []
        for variant in variants:
            pattern: list[dict[str, Any]] = []
            for token in self.nlp.make_doc(variant):
                if token.text in _SEPARATORS:
                    continue
                if pattern:
                    pattern.append(_OPTIONAL_SEP)
                pattern.append({"ORTH": token.text} if case_sensitive else {"LOWER": token.lower_})
            if pattern and pattern not in patterns:
                patterns.append(pattern)
        return patterns

    def _add_election(self, election: Election) -> None:
        for contestant in election.contestants:
            self._add_contestant(election, contestant)
        for party in election.parties:
            self._add_party(election, party)
        for gesture in election.gestures:
            contestant = election.contestant_by_number(gesture.ballot_number) if gesture.ballot_number else None
            label = contestant.label if contestant else None
            self._add_terms(GESTURE, gesture.phrases, EvidenceMatch(election.id, label))
        for phrase in election.ignore_phrases:
            for pattern in self._term_patterns(phrase, case_sensitive=False):
                self._add(_BLOCK, pattern, None)

    def _add_contestant(self, election: Election, contestant: Contestant) -> None:
        ref = EvidenceMatch(election.id, contestant.label)
        controls = {"case_sensitive": contestant.case_sensitive, "context_only": contestant.context_only}
        self._add_terms(CANDIDATE, [*contestant.names, *contestant.nicknames], ref, **controls, honorific=True)
        for office in contestant.offices:
            self._add_office(ref, office.titles, office.holder, office.until, set(contestant.case_sensitive))
        self._add_terms(PAIR, contestant.aliases, ref, **controls)
        self._add_terms(SLOGAN, contestant.slogans, ref, **controls)
        self._register_hashtags(contestant.hashtags, [*contestant.names, *contestant.nicknames, *contestant.aliases],
                                ref, contestant.case_sensitive, contestant.context_only)

    def _add_party(self, election: Election, party: Party) -> None:
        ref = EvidenceMatch(election.id, party.label)
        abbreviation = [party.abbreviation] if party.abbreviation else []
        names = [party.name, *abbreviation, *party.aliases]
        controls = {"case_sensitive": party.case_sensitive, "context_only": party.context_only}
        self._add_terms(PARTY, names, ref, **controls)
        symbol_context = [*self.words.party_context, *self.words.symbol_context]
        self._add_terms(PARTY, party.symbols, ref, **controls, context=symbol_context)
        self._add_terms(SLOGAN, party.slogans, ref, **controls)
        self._register_hashtags(party.hashtags, names, ref, party.case_sensitive, party.context_only)

    def _add_office(self, ref: EvidenceMatch, titles: Sequence[str], holders: Sequence[str], until: dt.date,
                    case_sensitive: set[str]) -> None:
        """"Pj Wali Kota Malang[,] [pak] Wahyu Hidayat" and "Wahyu Hidayat[,] Pj Wali Kota Malang"."""
        comma: dict[str, Any] = {"ORTH": ",", "OP": "?"}
        honorific: dict[str, Any] = {"LOWER": {"IN": self.words.honorifics}, "OP": "?"}
        for title in titles:
            for title_pattern in self._term_patterns(title, case_sensitive=False):
                for holder in holders:
                    for name in self._term_patterns(holder, holder in case_sensitive):
                        for pattern in ([*title_pattern, comma, honorific, *name], [*name, comma, *title_pattern]):
                            pattern_id = self._pattern_id(_OFFICE, pattern)
                            if (ref, until) not in self._offices.setdefault(pattern_id, []):
                                self._offices[pattern_id].append((ref, until))

    def _register_hashtags(self, hashtags: Iterable[str], names: Iterable[str], ref: EvidenceMatch,
                           case_sensitive: Iterable[str], context_only: Iterable[str]) -> None:
        for hashtag in hashtags:
            self._hashtags.setdefault(hashtag.removeprefix("#").casefold(), ref)
        sensitive = set(case_sensitive)
        skipped = {term.casefold() for term in context_only}
        for name in names:
            if name.casefold() in skipped:
                continue  # "#PKB" is as likely the vehicle tax as the party
            if name in sensitive:
                self._hashtag_terms.append(_HashtagTerm(re.sub(r"\W|_", "", name), True, ref))
            else:
                self._hashtag_terms.append(_HashtagTerm(re.sub(r"\W|_", "", name).casefold(), False, ref))

    def _add_ballot_numbers(self) -> None:
        pair_refs: dict[int, list[EvidenceMatch]] = {}
        any_refs: dict[int, list[EvidenceMatch]] = {}
        for election in self.elections:
            for contestant in election.contestants:
                if contestant.ballot_number is not None:
                    ref = EvidenceMatch(election.id, contestant.label)
                    pair_refs.setdefault(contestant.ballot_number, []).append(ref)
                    any_refs.setdefault(contestant.ballot_number, []).append(ref)
            for party in election.parties:
                if party.ballot_number is not None:
                    any_refs.setdefault(party.ballot_number, []).append(EvidenceMatch(election.id, party.label))
        w = self.words
        nomor: dict[str, Any] = {"LOWER": {"IN": w.nomor}}
        dot: dict[str, Any] = {"ORTH": ".", "OP": "?"}
        urut: dict[str, Any] = {"LOWER": "urut"}
        for number, refs in any_refs.items():
            spelled = _number_token(number, w.number_words)
            for ref in refs:
                self._add(BALLOT_NUMBER, [nomor, dot, urut, spelled], ref)
                self._add(BALLOT_NUMBER, [{"LOWER": "no.urut"}, spelled], ref)
                self._add(BALLOT_NUMBER, [{"LOWER": {"IN": w.vote_triggers}}, {**nomor, "OP": "?"}, dot,
                                          {**urut, "OP": "?"}, spelled], ref)
        for number, refs in pair_refs.items():
            digits = _number_token(number)
            for ref in refs:
                self._add(BALLOT_NUMBER, [{"LOWER": {"IN": w.pair_triggers}}, {**nomor, "OP": "?"}, dot,
                                          {**urut, "OP": "?"}, _number_token(number, w.number_words)], ref)
                self._add(BALLOT_NUMBER, [{"LOWER": {"IN": ["nomor", "nomer"]}}, digits], ref)
                self._add(BALLOT_NUMBER, [{"ORTH": f"{number:02d}"}], ref)
                # "no.02" is one token; alone it is as often a house number, so it needs a vote word before it.
                glued = {"LOWER": {"IN": sorted({f"no.{number}", f"no.{number:02d}"})}}
                self._add(BALLOT_NUMBER, [{"LOWER": {"IN": [*w.vote_triggers, *w.pair_triggers, *w.support_verbs]}},
                                          glued], ref)

    def _add_number_blockers(self) -> None:
        w = self.words
        separator: dict[str, Any] = {"ORTH": {"IN": ["/", "-", ".", ":"]}}
        blockers: list[list[dict[str, Any]]] = [
            [{"LOWER": {"IN": w.number_blockers}}, {"LOWER": {"IN": w.nomor}, "OP": "?"}, _DIGITS],
            [{"LOWER": {"IN": w.number_blockers}}, _DIGITS, separator, _DIGITS],
            [{"LOWER": {"IN": w.nomor}}, _DIGITS, {"LOWER": {"IN": w.number_followers}}],
            [_DIGITS, separator, _DIGITS, separator, _DIGITS],
        ]
        for pattern in blockers:
            self._add(_BLOCK, pattern, None)


def _number_token(number: int, words: dict[int, str] | None = None) -> dict[str, Any]:
    """The ways a ballot number is written: ``2``, ``02`` and, with ``words``, ``dua``."""
    forms = {str(number), f"{number:02d}"}
    if words and number in words:
        forms.add(words[number])
    return {"LOWER": {"IN": sorted(forms)}}


def _camel_pieces(body: str) -> list[str]:
    return re.findall(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+|[^\W\d_]+", body)


def _joins(pieces: Sequence[str]) -> set[str]:
    """Every run of consecutive pieces glued together, so multi-word names match split hashtags."""
    pieces = pieces[:12]
    return {"".join(pieces[i:j]) for i in range(len(pieces)) for j in range(i + 1, len(pieces) + 1)}


def _best(refs: tuple[EvidenceMatch, ...], key: Any) -> tuple[EvidenceMatch, ...]:
    """The refs with the smallest ``key``, all of them when several tie (same-day elections stay together)."""
    ranks = [key(ref) for ref in refs]
    lowest = min(ranks)
    return tuple(ref for ref, rank in zip(refs, ranks, strict=True) if rank == lowest)


def _in_office(candidate: _Candidate, offices: Iterable[_OfficeSpan]) -> bool:
    """Whether the span lies inside an office title of a contestant it refers to, while the office lasted."""
    return any(o.start <= candidate.start and candidate.end <= o.end and o.ref in candidate.refs for o in offices)


def _anchors(candidates: Iterable[_Candidate]) -> list[_Candidate]:
    """Spans that point at exactly one election; they decide where ambiguous spans near them belong."""
    return [c for c in candidates
            if c.label != _BLOCK and c.refs and len({ref.election_id for ref in c.refs}) == 1]


def _gap(a: _Candidate, b: _Candidate) -> int:
    return max(0, b.start - a.end, a.start - b.end)


@lru_cache(maxsize=1)
def _blank_indonesian() -> Language:
    return spacy.blank("id")


_EXTRACTORS_KEPT = 4  # directory states kept built (tests use several directories; a server uses one)
_extractors: OrderedDict[tuple[Any, ...], EvidenceExtractor] = OrderedDict()
_extractors_lock = threading.Lock()


def highlight_segments(text: str, spans: Iterable[EvidenceSpan]) -> list[tuple[str, str | None]]:
    """The whole text cut into (piece, label or None) in order, for templates that escape each piece.

    Spans that overlap an earlier one or fall outside the text are skipped rather than trusted, because the
    result is rendered into HTML and must reproduce the post exactly.
    """
    segments: list[tuple[str, str | None]] = []
    position = 0
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if span.start < position or span.end > len(text) or span.start >= span.end:
            continue
        if span.start > position:
            segments.append((text[position:span.start], None))
        segments.append((text[span.start:span.end], span.label))
        position = span.end
    if position < len(text):
        segments.append((text[position:], None))
    return segments
