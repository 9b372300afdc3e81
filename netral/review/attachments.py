"""Case attachments (lampiran) and complaint screenshots: what may be uploaded, where the bytes live, how
they are read back.

An attachment is evidence of a decision (a forwarding letter, a signed BAP, a decree, the ASN's written
response), so it is kept exactly as received and can be checked later: its SHA-256 is stored with the
step and is also its file name under ``Settings.attachments_dir``. The type is decided from the first
bytes, never from the name or the browser's claimed type, because a page that serves a file with the
type its uploader chose (an HTML page named ``surat.pdf``) would run script in a reviewer's browser.
Only PDF, PNG and JPEG are accepted.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from netral.atomic import atomic_write_bytes
from netral.db.schema import CaseAttachment
from netral.review.errors import ReviewError
from netral.vocabulary import AttachmentType

# (leading bytes, type): the signatures the formats' specifications put at offset 0.
SIGNATURES: tuple[tuple[bytes, AttachmentType], ...] = (
    (b"%PDF-", AttachmentType.PDF),
    (b"\x89PNG\r\n\x1a\n", AttachmentType.PNG),
    (b"\xff\xd8\xff", AttachmentType.JPEG),
)
EXTENSIONS: dict[str, str] = {AttachmentType.PDF: "pdf", AttachmentType.PNG: "png", AttachmentType.JPEG: "jpg"}
MAX_NAME_CHARS = 200


@dataclass(frozen=True)
class Upload:
    """A file as it arrived (from a form, the CLI): a name to show and its bytes."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class CheckedFile:
    name: str
    data: bytes
    media_type: AttachmentType
    sha256: str

    @property
    def size(self) -> int:
        return len(self.data)


def sniff(data: bytes) -> AttachmentType | None:
    """The type the bytes themselves declare, or None for anything else."""
    for magic, kind in SIGNATURES:
        if data.startswith(magic):
            return kind
    return None


def clean_name(filename: str) -> str:
    """A display name: the last path component, without control characters, at most 200 characters.

    It is only ever shown (escaped); the stored file is named by its hash and downloads get a
    generated name, so no part of it reaches a path or a header.
    """
    base = PureWindowsPath(PurePosixPath(filename or "").name).name
    text = "".join(c for c in unicodedata.normalize("NFC", base) if unicodedata.category(c)[0] != "C").strip()
    return text[:MAX_NAME_CHARS] or "lampiran"


def human_size(size: int) -> str:
    """``10 MB``, ``3.4 MB``, ``12 KB``, ``512 B``: for messages and pages."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f}".removesuffix(".0") + " MB"
    return f"{size / 1024:.0f} KB" if size >= 1024 else f"{size} B"


def check(upload: Upload, max_bytes: int) -> CheckedFile:
    """The upload as an acceptable attachment, or a ``ReviewError`` naming the file and what is wrong."""
    name = clean_name(upload.filename)
    size = len(upload.data)
    if size == 0:
        raise ReviewError(f"lampiran {name!r} kosong", "invalid")
    if size > max_bytes:
        raise ReviewError(f"lampiran {name!r} terlalu besar: lebih dari {human_size(max_bytes)} "
                          "(NETRAL_ATTACHMENT_MAX_BYTES)", "invalid")
    kind = sniff(upload.data)
    if kind is None:
        raise ReviewError(f"lampiran {name!r} bukan PDF, PNG atau JPEG menurut isinya (nama berkas tidak "
                          "menentukan jenisnya)", "invalid")
    return CheckedFile(name, upload.data, kind, hashlib.sha256(upload.data).hexdigest())


def check_all(uploads: Sequence[Upload], max_bytes: int) -> list[CheckedFile]:
    return [check(u, max_bytes) for u in uploads]


def path_for(root: Path, sha256: str) -> Path:
    """``root/ab/abcdef…``: two-level fan-out so no directory grows to millions of entries."""
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return root / sha256[:2] / sha256


def store(root: Path, checked: CheckedFile) -> Path:
    """Write the bytes under their hash (atomic: a reader never sees half a file).

    The same content uploaded twice is one file. An existing file whose bytes no longer match its name
    (damaged storage) is replaced by the good copy just received.
    """
    path = path_for(root, checked.sha256)
    if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == checked.sha256:
        return path
    atomic_write_bytes(path, checked.data)
    return path


def load(root: Path, attachment: CaseAttachment) -> bytes:
    """The stored bytes, checked against the hash recorded with the step."""
    return load_hash(root, attachment.sha256, f"berkas lampiran #{attachment.id}")


def load_hash(root: Path, sha256: str, what: str) -> bytes:
    """The bytes stored under ``sha256``, checked against it (a complaint's screenshot uses this too);
    ``what`` names the file in the refusal."""
    try:
        data = path_for(root, sha256).read_bytes()
    except (OSError, ValueError):
        raise ReviewError(f"{what} tidak ditemukan di penyimpanan", "conflict") from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ReviewError(f"{what} tidak cocok dengan sidik SHA-256 yang dicatat; periksa cadangan", "conflict")
    return data


def download_name(attachment: CaseAttachment) -> str:
    """A generated, header-safe file name (the uploader's name is shown on the page, never sent back)."""
    return f"lampiran-{attachment.case_id}-{attachment.id}.{EXTENSIONS.get(attachment.media_type, 'bin')}"
