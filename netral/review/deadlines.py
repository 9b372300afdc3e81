"""Bawaslu's handling periods for a case, computed from the report date and the forwarding date.

What the law says, as far as it could be checked (the README's "Case deadlines" lists the same):

* Pemilu, UU 7/2017 Pasal 454 (text read from an OCR copy of the gazetted law):
  - ayat (6): a report reaches Bawaslu **at most 7 hari kerja** after the suspected violation became
    known. Netral takes the report's issue date as "known" (the day two people verified it);
    the flag came earlier, but a flag is not knowledge of a violation.
  - ayat (7): Bawaslu follows up a report **at most 7 hari** after it was received and registered.
    Whether these are calendar or working days is *belum terkonfirmasi* (the OCR text of ayat 7 is
    partly garbled and shows no "kerja"; ayat 6 and 8 say "hari kerja"); Netral counts calendar days,
    the earlier of the two.
  - ayat (8): when Bawaslu needs more information, follow-up and study take **at most 14 hari kerja**
    after receipt and registration (14 in total, not 7 + 14).
* Pilkada, UU 10/2016 Pasal 134 (*belum terkonfirmasi*: read from the Perpu 1/2014 text of the same
  article, not from a consolidated text of UU 10/2016): report within 7 days of knowing (ayat 4);
  follow-up within 3 days of receipt (ayat 5); more information from the reporter within at most
  2 further days (ayat 6). Calendar days (unit *belum terkonfirmasi*).

Netral starts Bawaslu's clock on the date of the forwarding letter, which is no later than Bawaslu's
registration, and counts working days as Monday to Friday without public holidays (Netral has no
holiday calendar): both make a deadline shown here fall on or before the legal one, never after it.
The discipline track (PPK, BKN, the ethics council) gets no computed deadline: its periods could not
be confirmed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from netral.db.schema import CaseStepRecord
from netral.localtime import zone
from netral.review.legal_basis import PILKADA_TYPES
from netral.review.zones import ZoneBook
from netral.vocabulary import CaseBody, CaseStep, ElectionLaw

PILKADA_PREFIXES = ("pilkada", "pilgub", "pilbup", "pilwali", "pemilihan")
UNCONFIRMED = "belum terkonfirmasi"


@dataclass(frozen=True)
class Deadline:
    key: str  # "report_to_bawaslu" | "bawaslu_follow_up"
    label: str
    due: date
    basis: str  # the rule, with "belum terkonfirmasi" where that applies
    confirmed: bool
    met_on: date | None = None
    lapsed: bool = False  # no longer applies (e.g. the case went only to the discipline track)
    overdue: bool = False

    @property
    def late(self) -> bool:
        return self.met_on is not None and self.met_on > self.due


def add_working_days(start: date, days: int) -> date:
    """``days`` working days (Monday to Friday) after ``start``; public holidays are not known here."""
    current = start
    left = days
    while left > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current


def law_for(election_id: str | None, book: ZoneBook) -> ElectionLaw:
    """Pilkada law for a Pilkada config; otherwise Pemilu. An id without a config is read by its prefix."""
    kind = book.election_type(election_id)
    if kind is not None:
        return ElectionLaw.PILKADA if kind in PILKADA_TYPES else ElectionLaw.PEMILU
    return ElectionLaw.PILKADA if (election_id or "").lower().startswith(PILKADA_PREFIXES) else ElectionLaw.PEMILU


def local_day(moment: datetime, election_id: str | None, book: ZoneBook) -> date:
    """The calendar day of ``moment`` on the election's own clock (the default zone when unknown)."""
    return moment.astimezone(zone(book.timezone(election_id))).date()


def _first(steps: Iterable[CaseStepRecord], step: CaseStep, body: CaseBody | None = None) -> CaseStepRecord | None:
    return next((s for s in steps if s.step == step and (body is None or s.body == body)), None)


def compute(law: ElectionLaw, report_day: date, steps: Sequence[CaseStepRecord], *, closed: bool,
            today: date) -> list[Deadline]:
    """The deadlines that apply to a case today, in the order they arise."""
    forwarded = _first(steps, CaseStep.FORWARDED_BAWASLU)
    discipline = _first(steps, CaseStep.FORWARDED_DISCIPLINE)
    closing = _first(steps, CaseStep.CLOSED_PROVEN) or _first(steps, CaseStep.CLOSED_NOT_PROVEN)
    pemilu = law == ElectionLaw.PEMILU
    out: list[Deadline] = []

    if pemilu:
        due = add_working_days(report_day, 7)
        basis = ("UU 7/2017 Pasal 454 ayat (6): laporan disampaikan paling lama 7 hari kerja sejak dugaan "
                 "pelanggaran diketahui (dihitung dari tanggal laporan Netral; hari libur nasional tidak dihitung "
                 "sebagai libur)")
    else:
        due = report_day + timedelta(days=7)
        basis = (f"UU 10/2016 Pasal 134 ayat (4): laporan paling lama 7 hari sejak diketahui ({UNCONFIRMED}: "
                 "teks dibaca dari Perpu 1/2014; dihitung hari kalender)")
    met = forwarded.decided_on if forwarded else None
    lapsed = met is None and (discipline is not None or closed)
    out.append(Deadline("report_to_bawaslu", "Penyampaian laporan ke Bawaslu", due, basis, confirmed=pemilu,
                        met_on=met, lapsed=lapsed, overdue=met is None and not lapsed and today > due))

    if forwarded is not None:
        start = forwarded.decided_on
        extended = _first(steps, CaseStep.HANDLING_EXTENDED) is not None
        if pemilu and extended:
            due = add_working_days(start, 14)
            basis = ("UU 7/2017 Pasal 454 ayat (8): bila memerlukan keterangan tambahan, paling lama 14 hari kerja "
                     "setelah laporan diterima dan diregistrasi (dihitung dari tanggal surat penerusan)")
            confirmed = True
        elif pemilu:
            due = start + timedelta(days=7)
            basis = ("UU 7/2017 Pasal 454 ayat (7): ditindaklanjuti paling lama 7 hari setelah laporan diterima "
                     f"dan diregistrasi (dihitung dari tanggal surat penerusan; hari kalender, satuan {UNCONFIRMED})")
            confirmed = False
        else:
            due = start + timedelta(days=5 if extended else 3)
            more = " dan (6): ditambah paling lama 2 hari untuk keterangan tambahan" if extended else ""
            basis = (f"UU 10/2016 Pasal 134 ayat (5){more}: ditindaklanjuti paling lama 3 hari setelah laporan "
                     f"diterima ({UNCONFIRMED}: teks dibaca dari Perpu 1/2014; hari kalender)")
            confirmed = False
        answer = _first(steps, CaseStep.RECOMMENDATION, CaseBody.BAWASLU) or closing
        met = answer.decided_on if answer else None
        out.append(Deadline("bawaslu_follow_up", "Tindak lanjut Bawaslu", due, basis, confirmed=confirmed,
                            met_on=met, lapsed=met is None and closed,
                            overdue=met is None and not closed and today > due))
    return out


def is_overdue(deadlines: Sequence[Deadline]) -> bool:
    return any(d.overdue for d in deadlines)


def current(deadlines: Sequence[Deadline]) -> Deadline | None:
    """The deadline the case is working towards now (the first neither met nor lapsed)."""
    return next((d for d in deadlines if d.met_on is None and not d.lapsed), None)
