"""Reading the election config directory: strict for ``netral elections validate``, tolerant for the running system.

Two needs pull in different directions. An admin checking an edit wants every problem, and a non-zero exit on
any of them (:func:`load_elections`). A scan or the web app must keep working with the good files when one file
is broken, and must pick up a new or changed file without a restart (:func:`current_catalog`). Both read through
:func:`read_catalog`, so they agree on what is valid.

The running system asks :func:`current_catalog` on every scan and request. It compares the directory's
*fingerprint* (file names, sizes, modification times and inode numbers, from one ``stat`` per file) with the
cached one and re-reads the files only when it changed; a lock makes concurrent requests parse a changed
directory once.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from netral.elections.model import Election, ElectionConfigError, Party

log = logging.getLogger(__name__)

CONFIG_SUFFIXES = (".yaml", ".yml")
# (file name, size, mtime in ns, inode) per config file, sorted by name: changes with any edit, copy or rename.
Fingerprint = tuple[tuple[str, int, int, int], ...]


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


# Indonesian for pydantic's error types (the admin reads them on the Pemilu page and in the CLI); a type not
# listed keeps pydantic's own message. ``value_error`` carries the model's own (Indonesian) message.
_MESSAGES: dict[str, str] = {
    "missing": "wajib diisi",
    "extra_forbidden": "kolom tidak dikenal (salah ketik?)",
    "string_type": "harus berupa teks",
    "string_too_short": "tidak boleh kosong",
    "string_pattern_mismatch": "hanya huruf kecil, angka dan '-' (pola {pattern})",
    "list_type": "harus berupa daftar, misalnya [a, b]",
    "dict_type": "harus berupa pemetaan (kolom: nilai)",
    "model_type": "harus berupa pemetaan (kolom: nilai)",
    "model_attributes_type": "harus berupa pemetaan (kolom: nilai)",
    "int_type": "harus berupa bilangan bulat",
    "int_parsing": "harus berupa bilangan bulat",
    "int_from_float": "harus berupa bilangan bulat",
    "float_type": "harus berupa angka",
    "float_parsing": "harus berupa angka",
    "bool_type": "harus true atau false",
    "bool_parsing": "harus true atau false",
    "date_type": "bukan tanggal yang valid (tulis YYYY-MM-DD)",
    "date_parsing": "bukan tanggal yang valid (tulis YYYY-MM-DD)",
    "date_from_datetime_parsing": "bukan tanggal yang valid (tulis YYYY-MM-DD)",
    "date_from_datetime_inexact": "harus tanggal saja, tanpa jam (YYYY-MM-DD)",
    "too_short": "minimal {min_length} isian",
    "greater_than_equal": "minimal {ge}",
    "less_than_equal": "maksimal {le}",
    "greater_than": "harus lebih dari {gt}",
    "less_than": "harus kurang dari {lt}",
    "enum": "harus salah satu dari {expected}",
    "literal_error": "harus salah satu dari {expected}",
}


def _message(err: ErrorDetails) -> str:
    ctx = err.get("ctx") or {}
    if err["type"] == "value_error" and "error" in ctx:
        return str(ctx["error"])
    template = _MESSAGES.get(err["type"])
    if template is None:
        return str(err["msg"])
    values = {key: str(value).replace(" or ", " atau ") for key, value in ctx.items()}
    try:
        return template.format(**values)
    except (KeyError, IndexError):
        return str(err["msg"])


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """Where the YAML parser stopped (line and column, 1-based) and its own description of the problem."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    where = f"baris {mark.line + 1}, kolom {mark.column + 1}: " if mark is not None else ""
    return where + " ".join(str(problem).split())


def load_election_file(path: Path) -> Election:
    """Parse and validate one config file."""
    try:
        raw: Any = yaml.load(path.read_text(encoding="utf-8"), Loader=_StringDateLoader)
    except UnicodeDecodeError as exc:
        raise ElectionConfigError(path, [("(file)", f"bukan teks UTF-8 (byte ke-{exc.start})")]) from exc
    except OSError as exc:
        raise ElectionConfigError(path, [("(file)", f"tidak dapat dibaca: {exc.strerror or exc}")]) from exc
    except yaml.YAMLError as exc:
        raise ElectionConfigError(path, [("(yaml)", f"YAML tidak valid: {_yaml_problem(exc)}")]) from exc
    if not isinstance(raw, dict):
        raise ElectionConfigError(path, [("(root)", "isi file harus berupa pemetaan kolom pemilu (kolom: nilai)")])
    try:
        return Election.model_validate(raw)
    except ValidationError as exc:
        errors = [(_loc(err["loc"]), _message(err)) for err in exc.errors()]
        raise ElectionConfigError(path, errors) from exc


@dataclass(frozen=True)
class ConfigFile:
    """One file of the directory: its election when valid, else the error that names its field."""

    path: Path
    election: Election | None
    error: ElectionConfigError | None


@dataclass(frozen=True)
class ElectionCatalog:
    """What a directory held at one fingerprint: every config file, valid or not, in file-name order."""

    directory: Path
    fingerprint: Fingerprint
    files: tuple[ConfigFile, ...]

    @property
    def elections(self) -> list[Election]:
        """The valid elections (the ones evidence, masking and scans use)."""
        return [f.election for f in self.files if f.election is not None]

    @property
    def errors(self) -> list[ElectionConfigError]:
        return [f.error for f in self.files if f.error is not None]


def config_paths(directory: Path) -> list[Path]:
    """The config files of ``directory`` sorted by name; a missing directory has none."""
    try:
        entries = list(directory.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted((p for p in entries if p.suffix in CONFIG_SUFFIXES and not p.name.startswith(".")),
                  key=lambda p: p.name)


def fingerprint(directory: Path) -> Fingerprint:
    """The directory's state as far as configs go; cheap (one ``stat`` per file), so it is checked per request."""
    out = []
    for path in config_paths(directory):
        try:
            st = os.stat(path)
        except OSError:
            continue  # removed between listing and stat: the next check sees the directory without it
        out.append((path.name, st.st_size, st.st_mtime_ns, st.st_ino))
    return tuple(out)


def read_catalog(directory: Path) -> ElectionCatalog:
    """Read every config file; a bad file is recorded with its error and the others stay usable.

    Checks that span files are made here too, against the valid files only: an election id used by an
    earlier file (by name) makes the later file invalid, and so does a contestant naming a party that no
    valid party-list config defines.
    """
    stamp = fingerprint(directory)
    parsed: list[ConfigFile] = []
    seen_ids: dict[str, Path] = {}
    for path in config_paths(directory):
        try:
            election = load_election_file(path)
        except ElectionConfigError as exc:
            parsed.append(ConfigFile(path, None, exc))
            continue
        if election.id in seen_ids:
            used = f"{election.id!r} sudah dipakai oleh {seen_ids[election.id].name}"
            parsed.append(ConfigFile(path, None, ElectionConfigError(path, [("id", used)])))
            continue
        seen_ids[election.id] = path
        parsed.append(ConfigFile(path, election, None))

    parties = [party for f in parsed if f.election is not None for party in f.election.parties]
    files = []
    for entry in parsed:
        error = _unknown_party(entry, parties) if entry.election is not None else None
        files.append(ConfigFile(entry.path, None, error) if error is not None else entry)
    return ElectionCatalog(directory, stamp, tuple(files))


def _unknown_party(entry: ConfigFile, parties: Iterable[Party]) -> ElectionConfigError | None:
    assert entry.election is not None
    known = list(parties)
    for ci, contestant in enumerate(entry.election.contestants):
        for pi, reference in enumerate(contestant.parties):
            if not any(party.refers_to(reference) for party in known):
                return ElectionConfigError(
                    entry.path, [(f"contestants.{ci}.parties.{pi}", f"partai {reference!r} tidak dikenal; tulis "
                                                                     "partainya di konfigurasi party_list")])
    return None


def load_elections(directory: Path) -> list[Election]:
    """Every election of ``directory`` (``settings.elections_dir``), sorted by file name; the first error raises.

    For checks and tests that must not go on with a broken directory; the running system uses
    :func:`current_catalog`, which keeps the good files usable.
    """
    catalog = read_catalog(directory)
    if catalog.errors:
        raise catalog.errors[0]
    return catalog.elections


_lock = threading.Lock()
_cache: dict[Path, ElectionCatalog] = {}


def current_catalog(directory: Path) -> ElectionCatalog:
    """The catalog of ``directory`` as it is now: re-read when its fingerprint changed, else the cached one.

    Broken files are logged (file and field) each time the directory is re-read, so an operator sees them in
    the server log as well as on the admin page.
    """
    key = directory.resolve()
    stamp = fingerprint(key)
    cached = _cache.get(key)
    if cached is not None and cached.fingerprint == stamp:
        return cached
    with _lock:
        cached = _cache.get(key)
        if cached is not None and cached.fingerprint == fingerprint(key):
            return cached
        catalog = read_catalog(key)
        for error in catalog.errors:
            log.warning("konfigurasi pemilu diabaikan: %s", error)
        _cache[key] = catalog
        return catalog
