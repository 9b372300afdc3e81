"""The one model of an ingested post, shared by file import, ``POST /api/posts`` and the snscrape sources.

Every source produces plain records (a JSON object, a CSV row, a scraped item) and
:func:`netral.pipeline.ingest.ingest_records` validates each through :class:`IncomingPost`, so the rules
(known fields only, no type coercion, a real time, a bounded text) are written once, and the HTTP API's
OpenAPI schema is generated from the same class instead of being described by hand.

Types are strict: a number where text is expected is refused, not converted, because a silently
converted ``post_id`` would make two different posts look the same. Two settings shape validation
(the text limit and the zone of export times without one); they arrive in the validation context
(``{"settings": Settings}``) so a ``Settings`` passed to the app or the CLI governs them.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import ErrorDetails

from netral.localtime import zone
from netral.pipeline.roster import normalise_handle, normalise_platform
from netral.settings import Settings
from netral.vocabulary import INGESTIBLE_KINDS, PostKind

REQUIRED = ("platform", "post_id", "author", "created_at", "text")
FIELDS = (*REQUIRED, "url", "kind")
MAX_URL_CHARS = 2048
MAX_AUTHOR_CHARS = 200
# Posts outside these times are data errors (or an attack on date arithmetic: year 1 at +14:00 is
# before year 1 in UTC and overflowed); social media did not exist before 1990.
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=2)


def refuse_unstorable(value: object) -> object:
    """Refuse text no database can store faithfully: NUL (PostgreSQL rejects it) and lone surrogates
    (not encodable as UTF-8; the old code failed at INSERT with a 500 and lost the batch)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("mengandung karakter NUL")
        if any("\ud800" <= ch <= "\udfff" for ch in value):
            raise ValueError("mengandung surrogate Unicode tunggal (bukan teks UTF-8 yang valid)")
    return value


class RecordError(ValueError):
    """One bad record: the field at fault (None for the record as a whole) and a reason people can act on."""

    def __init__(self, field_name: str | None, reason: str) -> None:
        super().__init__(reason)
        self.field = field_name
        self.reason = reason


def _setting(info: ValidationInfo, name: str, default: Any) -> Any:
    settings = (info.context or {}).get("settings")
    return getattr(settings, name, default) if settings is not None else default


def parse_time(value: object, default_tz: str) -> datetime:
    """An aware UTC time from an ISO 8601 string or a datetime; a time without zone is read in ``default_tz``."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        s = value.strip()
        if not s:
            raise ValueError("wajib diisi")
        try:
            dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"bukan waktu ISO 8601: {s[:40]!r}") from None
    else:
        raise ValueError(f"harus teks waktu ISO 8601, dapat {type(value).__name__}")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=zone(default_tz))
    try:
        utc = dt.astimezone(UTC)
    except OverflowError:
        raise ValueError("waktu di luar rentang yang dapat disimpan") from None
    if utc < EARLIEST:
        raise ValueError(f"waktu sebelum {EARLIEST.year}: {utc.isoformat()[:25]}")
    if utc > datetime.now(UTC) + FUTURE_SLACK:
        raise ValueError(f"waktu di masa depan: {utc.isoformat()[:25]}")
    return utc


class IncomingPost(BaseModel):
    """A post as a source hands it in; after validation, the snapshot that is stored."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, title="Post",
                              json_schema_extra={"examples": [{
                                  "platform": "twitter", "post_id": "1790000000000000001", "author": "@budi_s",
                                  "url": "https://twitter.com/budi_s/status/1790000000000000001",
                                  "created_at": "2024-11-10T14:30:00+07:00", "text": "Contoh teks unggahan",
                                  "kind": "post"}]})

    platform: str = Field(description="platform seperti di daftar ASN: twitter/x, facebook, instagram, tiktok, "
                                      "telegram, mastodon, youtube, threads", max_length=32)
    post_id: str = Field(description="id unggahan di platform; (platform, post_id) unik", max_length=200)
    author: str = Field(description="nama akun penulis, dengan atau tanpa @ (Mastodon: nama@instans)",
                        max_length=MAX_AUTHOR_CHARS)
    created_at: datetime = Field(description="waktu ISO 8601; tanpa zona dibaca sebagai NETRAL_DEFAULT_TIMEZONE "
                                             "(Asia/Jakarta)")
    text: str = Field(description="isi unggahan, tidak kosong, paling banyak NETRAL_MAX_TEXT_CHARS karakter")
    url: str = Field(default="", description="tautan http(s) ke unggahan asli", max_length=MAX_URL_CHARS)
    kind: str = Field(default=PostKind.POST.value,
                      description="jenis unggahan: " + ", ".join(f"{k.value} ({k.label.lower()})"
                                                                 for k in INGESTIBLE_KINDS),
                      json_schema_extra={"enum": [k.value for k in INGESTIBLE_KINDS]})

    @field_validator("platform", "post_id", "author", "text", "url", "kind", mode="before")
    @classmethod
    def _storable(cls, value: object) -> object:
        return refuse_unstorable(value)

    @field_validator("platform")
    @classmethod
    def _platform(cls, value: str) -> str:
        return normalise_platform(value)

    @field_validator("author")
    @classmethod
    def _author(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("wajib diisi")
        return normalise_handle(value)

    @field_validator("post_id")
    @classmethod
    def _post_id(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("wajib diisi")
        return value

    @field_validator("created_at", mode="before")
    @classmethod
    def _created_at(cls, value: object, info: ValidationInfo) -> datetime:
        return parse_time(value, _setting(info, "default_timezone", Settings.model_fields["default_timezone"].default))

    @field_validator("text")
    @classmethod
    def _text(cls, value: str, info: ValidationInfo) -> str:
        if not value.strip():
            raise ValueError("teks kosong")
        limit = _setting(info, "max_text_chars", Settings.model_fields["max_text_chars"].default)
        if len(value) > limit:
            raise ValueError(f"teks terlalu panjang ({len(value):,} karakter > {limit:,})")
        if "\x00" in value:
            raise ValueError("teks mengandung karakter NUL")
        return value

    @field_validator("url", mode="before")
    @classmethod
    def _url(cls, value: object) -> object:
        if value is None:
            return ""
        if isinstance(value, str):
            value = value.strip()
            if value and not value.lower().startswith(("https://", "http://")):
                raise ValueError("URL harus http(s)")
            if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
                raise ValueError("URL mengandung spasi atau karakter kontrol")
        return value

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return PostKind.POST.value
        if isinstance(value, str):
            kind = value.strip().lower()
            allowed = [k.value for k in INGESTIBLE_KINDS]
            if kind not in allowed:
                # "complaint" included: a complaint snapshot is written by the complaint service only.
                raise ValueError(f"jenis tidak dikenal: {kind!r} (pilihan: {', '.join(sorted(allowed))})")
            return kind
        return value

    def content_sha256(self) -> str:
        """Hash of the snapshot's content, so a report can prove what was reviewed."""
        payload = json.dumps({"platform": self.platform, "post_id": self.post_id, "author": self.author,
                              "url": self.url, "created_at": self.created_at.isoformat(), "text": self.text,
                              "kind": self.kind}, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


_TYPE_NAMES = {"string_type": "teks", "int_type": "bilangan bulat", "datetime_type": "waktu"}


def _reason(error: ErrorDetails, raw: dict[str, Any]) -> str:
    kind = error["type"]
    field = str(error["loc"][0]) if error["loc"] else None
    if kind == "missing" or (field in REQUIRED and raw.get(field) is None):
        return "teks kosong" if field == "text" else "wajib diisi"
    if kind == "value_error":
        return str(error["ctx"]["error"]) if "ctx" in error else error["msg"]
    if kind in _TYPE_NAMES:
        return f"harus berupa {_TYPE_NAMES[kind]}, dapat {type(error['input']).__name__}"
    if kind == "string_too_long":
        limit = (error.get("ctx") or {}).get("max_length")
        return f"terlalu panjang (maksimal {limit} karakter)" if limit else "terlalu panjang"
    return error["msg"]


def parse_post(raw: object, settings: Settings | None = None) -> IncomingPost:
    """Validate one raw record into an :class:`IncomingPost`, or raise :class:`RecordError` naming the field.

    ``settings`` (a :class:`netral.settings.Settings`) supplies the text limit and the default zone.
    Unknown fields are reported together, before anything else, because they usually mean a wrong export.
    """
    if isinstance(raw, IncomingPost):
        return raw
    if not isinstance(raw, dict):
        raise RecordError(None, f"record harus objek JSON, dapat {type(raw).__name__}")
    try:
        return IncomingPost.model_validate(raw, context={"settings": settings})
    except ValidationError as exc:
        errors = exc.errors()
        missing = [e for e in errors if e["type"] == "missing" or (e["loc"] and raw.get(str(e["loc"][0])) is None)]
        unknown = sorted(str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden")
        if missing:
            first = min(missing, key=lambda e: REQUIRED.index(str(e["loc"][0])) if e["loc"][0] in REQUIRED else 99)
            raise RecordError(str(first["loc"][0]), _reason(first, raw)) from None
        if unknown:
            raise RecordError(unknown[0], f"kolom tidak dikenal: {', '.join(unknown)}") from None
        first = errors[0]
        raise RecordError(str(first["loc"][0]) if first["loc"] else None, _reason(first, raw)) from None
