"""Contestant masking: the words that name a contestant become typed placeholders before the classifier.

A classifier trained on 2024 posts learns that "Prabowo-Gibran" and "AMIN" are partisan words; an
election configured later has other names, numbers and hashtags, and those look like nothing it has
seen. Replacing every span the evidence rules find by its type ("coblos [NOMOR]", "[PASLON] menang
satu putaran", "[TAGAR]") lets the model learn the pattern around a contestant instead of the names,
and a new election's config supplies the names at inference. Masking uses exactly the evidence spans
a reviewer sees, so what the model was given is explainable.

The configured elections are read through :func:`netral.elections.current_catalog`: a masker built for a
directory (``masker_for``) follows it, so a long-lived classifier (the web app's drivers) masks the names of
an election added after it was loaded, and a broken file is left out instead of stopping a scan. Masking
passes no date, so which contestant an ambiguous span means, and office titles (``offices`` in a config),
do not change what is masked.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from netral.elections import Election, current_catalog, load_election_file
from netral.elections.catalog import Fingerprint
from netral.models.classifier import Backend, Classifier
from netral.models.registry import ModelVersion
from netral.normalise import load_lexicon
from netral.pipeline.evidence import (
    BALLOT_NUMBER,
    CAMPAIGN_HASHTAG,
    CANDIDATE,
    GESTURE,
    PAIR,
    PARTY,
    SLOGAN,
    EvidenceExtractor,
)
from netral.settings import Settings

PLACEHOLDERS = {
    CANDIDATE: "[KANDIDAT]",
    PAIR: "[PASLON]",
    BALLOT_NUMBER: "[NOMOR]",
    PARTY: "[PARTAI]",
    SLOGAN: "[SLOGAN]",
    CAMPAIGN_HASHTAG: "[TAGAR]",
    GESTURE: "[GESTUR]",
}


# The number at the end of a ballot-number span ("coblos nomor 2", "no. urut 03", "nomor dua"): only it is
# replaced, so the vote words around it stay for the model to read ("coblos nomor [NOMOR]").
_TRAILING_NUMBER = re.compile(
    r"(\d{1,4}|satu|dua|tiga|empat|lima|enam|tujuh|delapan|sembilan|sepuluh)\W*$", re.IGNORECASE)


def _placeholder(label: str, span_text: str) -> str:
    if label == BALLOT_NUMBER:
        m = _TRAILING_NUMBER.search(span_text)
        if m:
            return span_text[:m.start()] + PLACEHOLDERS[BALLOT_NUMBER] + span_text[m.end():]
    return PLACEHOLDERS.get(label, "[BUKTI]")


class ContestantMasker:
    """Replaces evidence spans by placeholders; built for a fixed set of elections or to follow a directory."""

    def __init__(self, elections: Sequence[Election]) -> None:
        self._set(elections)
        self._follow: tuple[Path, tuple[Election, ...]] | None = None
        self._stamp: Fingerprint | None = None
        self._lock = threading.Lock()

    @classmethod
    def following(cls, directory: Path, extra: Sequence[Election] = ()) -> ContestantMasker:
        """The valid configs of ``directory`` plus ``extra``, rebuilt when a file there is added or changed."""
        catalog = current_catalog(directory)
        masker = cls([*catalog.elections, *extra])
        masker._follow, masker._stamp = (directory, tuple(extra)), catalog.fingerprint
        return masker

    def _set(self, elections: Sequence[Election]) -> None:
        self._extractor = EvidenceExtractor(elections)
        self._ids = tuple(e.id for e in elections)

    @property
    def extractor(self) -> EvidenceExtractor:
        if self._follow is not None:
            directory, extra = self._follow
            catalog = current_catalog(directory)
            if catalog.fingerprint != self._stamp:
                with self._lock:
                    if catalog.fingerprint != self._stamp:
                        self._set([*catalog.elections, *extra])
                        self._stamp = catalog.fingerprint
        return self._extractor

    @property
    def election_ids(self) -> tuple[str, ...]:
        _ = self.extractor  # brings a following masker up to date
        return self._ids

    def __call__(self, text: str) -> str:
        return _mask(self.extractor, text)

    def mask_all(self, texts: Iterable[str]) -> list[str]:
        extractor = self.extractor  # one directory check for the whole batch
        return [_mask(extractor, t) for t in texts]


def _mask(extractor: EvidenceExtractor, text: str) -> str:
    out = text
    for span in sorted(extractor.extract(text), key=lambda s: -s.start):
        out = out[:span.start] + _placeholder(span.label, span.text) + out[span.end:]
    return out


def history_elections(history_dir: Path, ids: Iterable[str]) -> list[Election]:
    """Past elections' configs by id (files named ``<id>.yaml``), with a clear error for a missing one."""
    out = []
    for election_id in ids:
        path = history_dir / f"{election_id}.yaml"
        if not path.is_file():
            raise FileNotFoundError(f"konfigurasi pemilu lampau {election_id!r} tidak ada: {path}")
        out.append(load_election_file(path))
    return out


def masker_for(elections_dir: Path, history_dir: Path, history_ids: Iterable[str]) -> ContestantMasker:
    """The configured elections plus the named past ones: what a model masks with at training and scan.

    It follows ``elections_dir`` (a new config is masked without a restart); a broken file there is left out
    and logged by the catalog, as for evidence. The past elections are fixed by the model's metadata.
    """
    return ContestantMasker.following(elections_dir, history_elections(history_dir, history_ids))


def load_classifier(version: ModelVersion, settings: Settings, *, extra_history: Iterable[str] = (),
                    max_length: int | None = None, backend: Backend | None = None) -> Classifier:
    """A registered version with the text preparation it was trained with.

    A version trained with masking masks with the configured elections plus the past elections it was
    trained with (``mask_history`` in its metadata) and any ``extra_history`` (an evaluation set's
    election, configured after training). ``backend`` defaults to ``settings.inference_backend``; the
    int8 artefact gets the same text preparation as fp32 (``Classifier.prepare``).
    """
    prep = None
    if version.meta.get("mask_contestants"):
        prep = masker_for(settings.elections_dir, settings.history_elections_dir,
                          (*version.meta.get("mask_history", []), *extra_history))
    return Classifier(version, max_length=max_length or settings.max_length, threads=settings.torch_threads,
                      prep=prep, lexicon=load_lexicon(settings.slang_lexicon),
                      backend=backend or settings.inference_backend)
