"""The report's letterhead (kop surat), addressee and signatories, read from a YAML or TOML file.

An inspectorate sends the report as one of its own letters: under its own letterhead, to a named official
(the PPK, Bawaslu), signed by named officials with their NIP and position. Those are facts of the
deploying institution, not of the code, so they live in a file named by ``settings.report_letterhead``
(default ``data/report/letterhead.yaml``). A wrong file must not produce a wrong letter: it is validated
strictly and an error names the file and the field (``letterhead.yaml: signatories.0.nip: ...``).

The logo, if any, is embedded in the document as a ``data:`` URI (PNG or JPEG only, size-limited): the
PDF renderer fetches nothing (see ``reports.render_pdf``), and an SVG could carry script.
"""

from __future__ import annotations

import base64
import tomllib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

MAX_LOGO_BYTES = 256 * 1024
_IMAGE_TYPES = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))


class LetterheadError(ValueError):
    """A letterhead file that cannot be used; names the file and the dotted field path of each problem."""

    def __init__(self, path: Path, errors: list[tuple[str, str]]) -> None:
        self.path = path
        self.errors = errors
        super().__init__("; ".join(f"{path.name}: {field}: {message}" for field, message in errors))


class _Model(BaseModel):
    # An unknown key is nearly always a typo ("signatory:"); ignoring it would drop a line from a letter.
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Institution(_Model):
    lines: list[str] = Field(min_length=1, max_length=5, description="letterhead lines, top to bottom")
    address: str = Field(min_length=1)
    contact: str = ""
    logo: str | None = Field(default=None, description="PNG or JPEG, relative to the letterhead file")

    @field_validator("lines")
    @classmethod
    def _no_blank_lines(cls, lines: list[str]) -> list[str]:
        if any(not line.strip() for line in lines):
            raise ValueError("baris kop surat tidak boleh kosong")
        return lines


class Addressee(_Model):
    to: str = Field(min_length=1, description="e.g. 'Yth. Bupati Malang selaku Pejabat Pembina Kepegawaian'")
    place: str = "di Tempat"
    copies: list[str] = Field(default_factory=list, description="tembusan")


class Signatory(_Model):
    position: str = Field(min_length=1, description="jabatan")
    name: str = Field(min_length=1)
    nip: str | None = None
    rank: str = Field(default="", description="pangkat/golongan")
    heading: str = Field(default="", description="line above the position, e.g. 'Mengetahui,'")

    @field_validator("nip")
    @classmethod
    def _nip_shape(cls, value: str | None) -> str | None:
        if value is None:
            return None
        digits = value.replace(" ", "")
        if not (len(digits) == 18 and digits.isdigit()):
            raise ValueError(f"NIP harus 18 digit angka, tertulis {value!r}")
        return digits


class LetterheadConfig(_Model):
    institution: Institution
    addressee: Addressee
    place: str = Field(min_length=1, description="where the report is signed, e.g. 'Malang'")
    signatories: list[Signatory] = Field(min_length=1, max_length=4)


def _loc(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(root)"


def _parse(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise LetterheadError(path, [("(berkas)", "berkas tidak ditemukan")]) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise LetterheadError(path, [("(berkas)", f"tidak dapat dibaca: {exc}")]) from exc
    try:
        if path.suffix.lower() == ".toml":
            return tomllib.loads(text)
        return yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        kind = "(toml)" if path.suffix.lower() == ".toml" else "(yaml)"
        raise LetterheadError(path, [(kind, str(exc).replace("\n", " "))]) from exc


def _logo_data_uri(path: Path, logo: str) -> str:
    logo_path = (path.parent / logo).resolve()
    try:
        data = logo_path.read_bytes()
    except OSError as exc:
        raise LetterheadError(path, [("institution.logo", f"berkas logo {logo!r} tidak dapat dibaca: "
                                                          f"{exc.strerror or exc}")]) from exc
    if len(data) > MAX_LOGO_BYTES:
        raise LetterheadError(path, [("institution.logo", f"logo {len(data)} bita; paling besar "
                                                          f"{MAX_LOGO_BYTES} bita")])
    mime = next((m for magic, m in _IMAGE_TYPES if data.startswith(magic)), None)
    if mime is None:
        raise LetterheadError(path, [("institution.logo", "logo harus berkas PNG atau JPEG")])
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def load_letterhead(path: Path) -> dict[str, Any]:
    """The validated letterhead as plain values for the report template (the logo as a ``data:`` URI).

    Plain values, because they are stored with the issued report (``reports.issued_with``) and a later
    re-render must not depend on the file any more.
    """
    raw = _parse(path)
    if not isinstance(raw, dict):
        raise LetterheadError(path, [("(root)", "isi berkas harus berupa pemetaan (institution, addressee, "
                                                "place, signatories)")])
    try:
        config = LetterheadConfig.model_validate(raw)
    except ValidationError as exc:
        raise LetterheadError(path, [(_loc(err["loc"]), err["msg"]) for err in exc.errors()]) from exc
    values = config.model_dump(mode="json")
    values["institution"]["logo"] = (_logo_data_uri(path, config.institution.logo)
                                     if config.institution.logo else None)
    return values
