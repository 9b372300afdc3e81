"""The domain's words, defined once: flag statuses and sources, review stages and decisions, roles,
categories, SKB behaviours, recap groupings, training-run states, evidence labels, post kinds, retention
classes, the case steps after a report, employment types and complaint sources.

This is the bottom layer: it imports nothing from Netral. The database schema builds its CHECK
constraints from these enums, the services validate against them, the templates and forms receive
their ``labels()`` and the CLI lists their values, so a new status or category is added here and
nowhere else (``tests/test_vocabulary.py`` fails when a constraint, template list or form drifts).

Every member carries its Indonesian display name (``.label``) because the web UI speaks Indonesian
first while code, the database and the API use the English values. The labels follow
``docs/glossary.md`` (a flag is an *indikasi*, a supervisor a *verifikator*, ...), so a page, a report
and the CLI name the same thing the same way.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self


class LabelledEnum(StrEnum):
    """A ``StrEnum`` whose members carry a reviewer-facing (Indonesian) name.

    Members are declared as ``NAME = "value", "Label"``; ``str(member)`` and comparisons use the
    value, so a member can be written to the database or compared with a stored string directly.
    """

    _label: str

    def __new__(cls, value: str, label: str = "") -> Self:
        member = str.__new__(cls, value)
        member._value_ = value
        member._label = label or value
        return member

    @property
    def label(self) -> str:
        return self._label

    @classmethod
    def values(cls) -> tuple[str, ...]:
        return tuple(m.value for m in cls)

    @classmethod
    def labels(cls) -> dict[str, str]:
        """``{value: label}`` in declaration order: what templates, forms and the CLI show."""
        return {m.value: m.label for m in cls}

    @classmethod
    def label_of(cls, value: str | None, default: str | None = None) -> str:
        """Display name of a stored value; an unknown one is shown as it is rather than failing a page."""
        if value is None:
            return default or ""
        try:
            return cls(value).label
        except ValueError:
            return default if default is not None else value


class FlagStatus(LabelledEnum):
    """Where a flag stands in review (state machine in :mod:`netral.review.decisions`)."""

    PENDING = "pending", "Menunggu tinjauan"
    NEEDS_INFO = "needs_info", "Perlu keterangan tambahan"
    CONFIRMED = "confirmed", "Dikonfirmasi (menunggu verifikasi)"
    DISMISSED = "dismissed", "Tidak ditindaklanjuti"
    VERIFIED = "verified", "Terverifikasi"
    REPORTED = "reported", "Dilaporkan"


# Flags a reviewer may claim and decide (first review not finished).
OPEN_STATUSES: tuple[FlagStatus, ...] = (FlagStatus.PENDING, FlagStatus.NEEDS_INFO)


class ReviewStage(LabelledEnum):
    FIRST = "first", "Tinjauan pertama"
    SECOND = "second", "Tinjauan kedua"


class ReviewDecision(LabelledEnum):
    CONFIRM = "confirm", "Dikonfirmasi sebagai dugaan pelanggaran"
    DISMISS = "dismiss", "Tidak ditindaklanjuti (bukan pelanggaran)"
    MORE_INFO = "more_info", "Perlu keterangan tambahan"
    VERIFY = "verify", "Diverifikasi"
    RETURN = "return", "Dikembalikan ke antrean"


class Role(LabelledEnum):
    REVIEWER = "reviewer", "Peninjau"
    SUPERVISOR = "supervisor", "Verifikator"
    ANALYST = "analyst", "Analis"
    ADMIN = "admin", "Administrator"


class Category(LabelledEnum):
    """What kind of partisanship a post shows; the classifier has one output per category."""

    SUPPORT = "SUPPORT", "Dukungan terhadap peserta/kontestan"
    ATTACK = "ATTACK", "Serangan terhadap peserta/kontestan"
    SOLICITATION = "SOLICITATION", "Ajakan untuk memilih/berpihak"
    CAMPAIGN = "CAMPAIGN", "Kampanye atau sosialisasi"
    ATTRIBUTE = "ATTRIBUTE", "Atribut, simbol, atau gestur partisan"


# The classifier's outputs, in the order of its logits: the partisan head, then one per category.
PARTISAN = "partisan"
CATEGORIES: tuple[str, ...] = Category.values()
LABELS: tuple[str, ...] = (PARTISAN, *CATEGORIES)


class Behaviour(LabelledEnum):
    """Social-media behaviours named in the 2022 joint decree (SKB) guidance on ASN neutrality."""

    KAMPANYE_DARING = ("kampanye_daring",
                       "Melakukan kampanye/sosialisasi bakal calon atau calon melalui media sosial")
    UNGGAH_KOMENTAR_BAGIKAN_SUKA = ("unggah_komentar_bagikan_suka",
                                    "Membuat unggahan, mengomentari, membagikan, atau menyukai konten "
                                    "bakal calon/calon/partai")
    IKUT_GRUP_AKUN_PEMENANGAN = ("ikut_grup_akun_pemenangan",
                                 "Bergabung dengan atau mengikuti grup/akun pemenangan bakal calon/calon")
    FOTO_GESTUR_SIMBOL = ("foto_gestur_simbol",
                          "Berfoto bersama bakal calon/calon/tim dengan simbol tangan atau gestur keberpihakan")
    ATRIBUT_PARTAI = "atribut_partai", "Memakai atau menampilkan atribut partai/bakal calon/calon"
    LATAR_PARTAI_CALON = ("latar_partai_calon",
                          "Berfoto dengan latar belakang gambar/atribut partai atau bakal calon/calon")
    AJAKAN_BERPIHAK = ("ajakan_berpihak",
                       "Mengajak rekan kerja, keluarga, atau masyarakat untuk berpihak pada peserta")
    SURAT_DUKUNGAN_KTP = ("surat_dukungan_ktp",
                          "Memberikan surat dukungan disertai fotokopi KTP/Surat Keterangan Tanda Penduduk")
    KEANGGOTAAN_PARTAI = "keanggotaan_partai", "Menjadi anggota atau pengurus partai politik"
    HADIR_DEKLARASI_KAMPANYE = ("hadir_deklarasi_kampanye",
                                "Menghadiri deklarasi atau kampanye bakal calon/calon")
    FASILITAS_NEGARA = ("fasilitas_negara",
                        "Menggunakan fasilitas negara untuk kegiatan yang berpihak pada bakal calon/calon")
    # The SKB list is not exhaustive; "other" keeps a confirmed case from being forced into a wrong box
    # (the reviewer's reason says what it was).
    LAINNYA = "lainnya", "Lainnya (diuraikan dalam alasan peninjau)"


class RecapGroup(LabelledEnum):
    """How a recap (rekap) of flags is grouped: the rows of the XLSX/CSV export and the dashboard's choice."""

    UNIT = "unit", "Unit kerja"
    ELECTION = "election", "Pemilu/Pilkada"
    CATEGORY = "category", "Kategori"
    STATUS = "status", "Status indikasi"
    MONTH = "month", "Bulan (waktu unggah)"


class TrainRunState(LabelledEnum):
    """States of a retraining job row (``train_jobs.status``)."""

    QUEUED = "queued", "Menunggu giliran"
    RUNNING = "running", "Berjalan"
    DONE = "done", "Selesai"
    FAILED = "failed", "Gagal"


ACTIVE_TRAIN_STATES: tuple[TrainRunState, ...] = (TrainRunState.QUEUED, TrainRunState.RUNNING)


class EvidenceLabel(LabelledEnum):
    """Kinds of evidence span the extractor marks in a post."""

    CANDIDATE = "CANDIDATE", "Calon"
    PAIR = "PAIR", "Pasangan calon"
    BALLOT_NUMBER = "BALLOT_NUMBER", "Nomor urut"
    PARTY = "PARTY", "Partai"
    SLOGAN = "SLOGAN", "Slogan/jargon"
    CAMPAIGN_HASHTAG = "CAMPAIGN_HASHTAG", "Tagar kampanye"
    GESTURE = "GESTURE", "Gestur/salam"


class ElectionType(LabelledEnum):
    """What an election config describes (``type:`` in ``data/elections/*.yaml``)."""

    PILPRES = "pilpres", "Pemilu Presiden dan Wakil Presiden"
    PILEG = "pileg", "Pemilu Legislatif"
    PILKADA = "pilkada", "Pemilihan Kepala Daerah"
    PARTY_LIST = "party_list", "Partai politik peserta pemilu"


class PostKind(LabelledEnum):
    """What a stored item is (``posts.kind``): an ingested item as it was on its platform, or the
    snapshot of a complaint (``COMPLAINT``), which only the complaint service writes."""

    POST = "post", "Unggahan"
    REPLY = "reply", "Balasan"
    COMMENT = "comment", "Komentar"
    SHARE = "share", "Dibagikan ulang"
    QUOTE = "quote", "Kutipan"
    LIKE = "like", "Tanda suka"
    COMPLAINT = "complaint", "Pengaduan"


# What a source may hand in: a complaint snapshot never arrives through ingestion (file, API, scraper).
INGESTIBLE_KINDS: tuple[PostKind, ...] = tuple(k for k in PostKind if k is not PostKind.COMPLAINT)


class FlagSource(LabelledEnum):
    """Where a flag in the review queue came from (``flags.source``): both follow the same four-eyes path."""

    MODEL = "model", "Pemindaian model"
    COMPLAINT = "complaint", "Pengaduan"


class ComplaintSource(LabelledEnum):
    """Who brought a complaint (pengaduan) to the inspectorate (``complaints.source``)."""

    PUBLIC = "public", "Masyarakat"
    BAWASLU = "bawaslu", "Bawaslu"
    SUPERIOR = "superior", "Atasan langsung/pimpinan"


class EmploymentType(LabelledEnum):
    """An account's employment relation (``accounts.employment_type``); it decides which number identifies them.

    PNS carry an 18-digit NIP, PPPK an 18-digit NI PPPK laid out differently (``netral.pipeline.roster``),
    non-ASN staff (honorer/PPNPN, bound by SE MenPANRB 01/2023) no national number at all.
    """

    PNS = "pns", "PNS"
    PPPK = "pppk", "PPPK"
    NON_ASN = "non_asn", "Non-ASN (honorer/PPNPN)"


class RetentionClass(LabelledEnum):
    """How long a stored post may be kept (UU PDP 27/2022: no longer than its purpose needs).

    Every post falls in exactly one class, decided by its flag's status (``RETENTION_OF_STATUS``);
    ``netral.review.retention`` turns the class into a due date.
    """

    UNFLAGGED = "unflagged", "Tidak pernah menjadi indikasi: dihapus setelah masa simpan"
    DISMISSED = "dismissed", "Indikasi tidak ditindaklanjuti: dihapus setelah masa simpan yang lebih panjang"
    KEPT = "kept", "Bukti indikasi atau kasus: disimpan, tidak dihapus oleh retensi"


# A post's class by its flag's status (a post without a flag is UNFLAGGED). Every status must be listed:
# tests/test_vocabulary.py fails when a new status is added without deciding how long its evidence stays.
RETENTION_OF_STATUS: dict[FlagStatus, RetentionClass] = {
    FlagStatus.PENDING: RetentionClass.KEPT,
    FlagStatus.NEEDS_INFO: RetentionClass.KEPT,
    FlagStatus.CONFIRMED: RetentionClass.KEPT,
    FlagStatus.DISMISSED: RetentionClass.DISMISSED,
    FlagStatus.VERIFIED: RetentionClass.KEPT,
    FlagStatus.REPORTED: RetentionClass.KEPT,
}


class RetentionBasis(LabelledEnum):
    """The moment a retention period is counted from."""

    ELECTION = "election", "Akhir hari pemungutan suara pemilu"
    POST_DATE = "post_date", "Waktu unggahan"
    DISMISSAL = "dismissal", "Waktu keputusan tidak ditindaklanjuti"


class CaseStatus(LabelledEnum):
    """How far a case has come after its report (``cases.status``; rules in :mod:`netral.review.cases`).

    The tracks (Bawaslu, PPK/BKN discipline, the ethics council) run side by side, so the status is the
    furthest stage any of them reached, never a step back; the two closing states are final.
    """

    OPEN = "open", "Dibuka (belum diteruskan)"
    FORWARDED = "forwarded", "Diteruskan"
    CLARIFICATION = "clarification", "Klarifikasi ASN"
    EXAMINATION = "examination", "Pemeriksaan (BAP)"
    RECOMMENDATION = "recommendation", "Rekomendasi diterima"
    SANCTIONED = "sanctioned", "Sanksi diputuskan"
    CLOSED_PROVEN = "closed_proven", "Selesai: terbukti"
    CLOSED_NOT_PROVEN = "closed_not_proven", "Selesai: tidak terbukti"


CLOSED_CASE_STATUSES: tuple[CaseStatus, ...] = (CaseStatus.CLOSED_PROVEN, CaseStatus.CLOSED_NOT_PROVEN)


class CaseStep(LabelledEnum):
    """A recorded decision in a case (``case_steps.step``): who may record it and when is in ``review``."""

    FORWARDED_BAWASLU = "forwarded_bawaslu", "Diteruskan ke Bawaslu (pelanggaran hukum pemilu)"
    FORWARDED_DISCIPLINE = "forwarded_discipline", "Diteruskan ke PPK/BKN (disiplin ASN)"
    HANDLING_EXTENDED = "handling_extended", "Kajian Bawaslu diperpanjang (keterangan tambahan)"
    CLARIFICATION_INVITED = "clarification_invited", "ASN diundang/dipanggil untuk klarifikasi"
    ASN_RESPONSE = "asn_response", "Tanggapan tertulis ASN dicatat"
    EXAMINATION = "examination", "Pemeriksaan dan BAP dicatat"
    RECOMMENDATION = "recommendation", "Rekomendasi diterima"
    SANCTION = "sanction", "Sanksi diputuskan"
    CLOSED_PROVEN = "closed_proven", "Ditutup: terbukti"
    CLOSED_NOT_PROVEN = "closed_not_proven", "Ditutup: tidak terbukti"


class CaseBody(LabelledEnum):
    """The institution a step went to or came from (recipient of a letter, examiner, recommender)."""

    BAWASLU = "bawaslu", "Badan Pengawas Pemilu (Bawaslu)"
    PPK = "ppk", "Pejabat Pembina Kepegawaian (PPK)"
    BKN = "bkn", "Badan Kepegawaian Negara (BKN)"
    INSPEKTORAT = "inspektorat", "Inspektorat (APIP)"
    MAJELIS_KODE_ETIK = "majelis_kode_etik", "Majelis Kode Etik"


class Sanction(LabelledEnum):
    """Sanctions a case can end in: PP 94/2021 Pasal 8 (sedang, berat) or a PP 42/2004 moral sanction.

    Neutrality cases have no "ringan" level. PP 94/2021's sedang and berat lists and PP 42/2004's two
    forms of moral sanction are written from the regulations' text as summarised in DESIGN.md and issue
    13; ``other`` covers staff those regulations do not bind (PPPK contracts, non-ASN staff) and needs a
    note saying what was decided.
    """

    MODERATE_ALLOWANCE_CUT_6M = ("moderate_allowance_cut_6m",
                                 "Sedang (PP 94/2021): pemotongan tunjangan kinerja 25% selama 6 bulan")
    MODERATE_ALLOWANCE_CUT_9M = ("moderate_allowance_cut_9m",
                                 "Sedang (PP 94/2021): pemotongan tunjangan kinerja 25% selama 9 bulan")
    MODERATE_ALLOWANCE_CUT_12M = ("moderate_allowance_cut_12m",
                                  "Sedang (PP 94/2021): pemotongan tunjangan kinerja 25% selama 12 bulan")
    SEVERE_DEMOTION_12M = ("severe_demotion_12m",
                           "Berat (PP 94/2021): penurunan jabatan setingkat lebih rendah selama 12 bulan")
    SEVERE_RELEASE_12M = ("severe_release_12m",
                          "Berat (PP 94/2021): pembebasan dari jabatan menjadi jabatan pelaksana selama 12 bulan")
    SEVERE_DISMISSAL = ("severe_dismissal",
                        "Berat (PP 94/2021): pemberhentian dengan hormat tidak atas permintaan sendiri sebagai PNS")
    MORAL_CLOSED = "moral_closed", "Sanksi moral (PP 42/2004, melalui Majelis Kode Etik): pernyataan secara tertutup"
    MORAL_OPEN = "moral_open", "Sanksi moral (PP 42/2004, melalui Majelis Kode Etik): pernyataan secara terbuka"
    OTHER = "other", "Sanksi lain (mis. PPPK atau non-ASN; jelaskan di catatan)"


MORAL_SANCTIONS: tuple[Sanction, ...] = (Sanction.MORAL_CLOSED, Sanction.MORAL_OPEN)


class AttachmentType(LabelledEnum):
    """Media types a case attachment may have, decided from the file's first bytes, never its name."""

    PDF = "application/pdf", "PDF"
    PNG = "image/png", "Gambar PNG"
    JPEG = "image/jpeg", "Gambar JPEG"


class ElectionLaw(LabelledEnum):
    """Which law sets Bawaslu's handling periods for a case: Pemilu (pilpres, pileg) or Pilkada."""

    PEMILU = "pemilu", "UU 7/2017 (Pemilu)"
    PILKADA = "pilkada", "UU 10/2016 (Pilkada)"
