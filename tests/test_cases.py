"""Cases after the report: one case per report, the order of steps, who may record what, audit,
append-only storage, attachments, deadlines, the page, the CLI and the API.

Data-layer tests run on SQLite and, with NETRAL_TEST_POSTGRES_URL, on PostgreSQL (``env`` fixture).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner
from webutil import csrf_from, factory_for, login, seed_basic, settings_for, sqlite_url

from netral import audit
from netral.db.engine import alembic_config, command, upgrade
from netral.db.schema import AuditRecord, Case, CaseAttachment, CaseStepRecord, User
from netral.localtime import WIB
from netral.review import attachments, cases, deadlines, decisions, queue, reports
from netral.review.errors import ReviewError
from netral.review.zones import ZoneBook
from netral.serve.app import create_app
from netral.settings import Settings
from netral.vocabulary import CaseBody, CaseStatus, CaseStep, ElectionLaw, Sanction

REASON = "Unggahan mengajak memilih paslon nomor 2 secara terbuka."
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
NO_CONFIGS = ZoneBook({}, "Asia/Jakarta")
HOSTILE_RESPONSE = "Saya keberatan. <script>alert('tanggapan')</script> <img src=x onerror=alert(9)>"


@dataclass
class Env:
    factory: sessionmaker[Session]
    settings: Settings
    ids: dict[str, int]
    tmp: Path


def _user(s: Session, env: Env, name: str) -> User:
    user = s.get(User, env.ids[name])
    assert user is not None
    return user


def _issue(env: Env) -> int:
    """Confirm (rina), verify (sari), issue (tono): the report opens the case; returns the case id."""
    with env.factory() as s:
        rina = _user(s, env, "rina")
        queue.claim(s, env.ids["flag"], rina, env.settings)
        decisions.confirm(s, env.ids["flag"], rina, category="SOLICITATION", behaviour="ajakan_berpihak",
                          reason=REASON, settings=env.settings)
        decisions.verify(s, env.ids["flag"], _user(s, env, "sari"), reason="Setuju: ajakan memilih yang jelas.")
        rendered = reports.create_report(s, env.ids["flag"], _user(s, env, "tono"))
        s.commit()
        case = cases.case_for_report(s, rendered.report.id)
        assert case is not None
        return case.id


def _env(url: str, tmp_path: Path, **overrides: Any) -> Env:
    factory = factory_for(url)
    settings = settings_for(url, tmp_path, attachment_max_bytes=4096, **overrides)
    return Env(factory, settings, seed_basic(factory), tmp_path)


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> Iterator[Env]:
    e = _env(db_url, tmp_path)
    yield e
    e.factory.kw["bind"].dispose()


@pytest.fixture
def web_env(tmp_path: Path) -> Iterator[Env]:
    e = _env(sqlite_url(tmp_path), tmp_path)
    yield e
    e.factory.kw["bind"].dispose()


def _step(env: Env, case_id: int, who: str, step: str, *, ref: str = "123/ABC/2024", uploads: tuple = (),
          today: date | None = None, **fields: Any) -> CaseStepRecord:
    with env.factory() as s:
        record = cases.add_step(s, case_id, _user(s, env, who), cases.StepInput(step=step, ref_number=ref, **fields),
                                uploads=list(uploads), settings=env.settings, today=today)
        s.commit()
        return record


def _refused(env: Env, case_id: int, who: str, step: str, **kwargs: Any) -> ReviewError:
    with pytest.raises(ReviewError) as exc:
        _step(env, case_id, who, step, **kwargs)
    return exc.value


def _count(env: Env, model: type) -> int:
    with env.factory() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


# --- opening ------------------------------------------------------------------------------------------

def test_issuing_a_report_opens_one_audited_case(env: Env) -> None:
    case_id = _issue(env)
    with env.factory() as s:
        case = s.get(Case, case_id)
        assert case is not None and case.status == CaseStatus.OPEN
        assert case.opened_by == env.ids["tono"]
        opened = s.scalars(select(AuditRecord).where(AuditRecord.action == "case.open")).all()
        assert [(r.entity, r.entity_id, r.actor) for r in opened] == [("case", str(case_id), "tono")]
        assert opened[0].after["report_number"] == case.report.number  # type: ignore[index]
        # Idempotent: asking again for the same report gives the same case, not a second one.
        assert cases.open_case(s, case.report, _user(s, env, "tono")).id == case_id
        assert cases.open_missing(s, _user(s, env, "sari")) == []
        assert audit.verify_chain(s) == []
    assert _count(env, Case) == 1


def test_a_report_whose_case_fails_to_open_is_not_issued(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """Report and case are one transaction: no report without its case."""
    from netral.db.schema import Report

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(cases, "open_case", broken)
    with pytest.raises(RuntimeError), env.factory() as s:
        rina = _user(s, env, "rina")
        queue.claim(s, env.ids["flag"], rina, env.settings)
        decisions.confirm(s, env.ids["flag"], rina, category="SUPPORT", behaviour="kampanye_daring", reason=REASON,
                          settings=env.settings)
        decisions.verify(s, env.ids["flag"], _user(s, env, "sari"), reason="Setuju: dukungan terbuka.")
        s.commit()
        reports.create_report(s, env.ids["flag"], _user(s, env, "tono"))
        s.commit()
    assert _count(env, Report) == 0 and _count(env, Case) == 0


# --- the state machine --------------------------------------------------------------------------------

def test_full_path_to_a_sanction_and_closing(env: Env) -> None:
    case_id = _issue(env)
    seen = []
    for who, step, extra in [
        ("sari", CaseStep.FORWARDED_BAWASLU, {}),
        ("sari", CaseStep.FORWARDED_DISCIPLINE, {"body": CaseBody.PPK}),
        ("rina", CaseStep.CLARIFICATION_INVITED, {}),
        ("rina", CaseStep.ASN_RESPONSE, {"ref": "", "note": "Saya hanya membagikan berita."}),
        ("rudi", CaseStep.EXAMINATION, {"body": CaseBody.BAWASLU}),
        ("sari", CaseStep.RECOMMENDATION, {"body": CaseBody.BAWASLU}),
        ("tono", CaseStep.SANCTION, {"sanction": Sanction.MODERATE_ALLOWANCE_CUT_6M}),
        ("sari", CaseStep.CLOSED_PROVEN, {"note": "Terbukti; sanksi dijatuhkan."}),
    ]:
        record = _step(env, case_id, who, step, **extra)
        with env.factory() as s:
            seen.append(s.get(Case, case_id).status)  # type: ignore[union-attr]
        assert record.step == step
    assert seen == ["forwarded", "forwarded", "clarification", "clarification", "examination", "recommendation",
                    "sanctioned", "closed_proven"]


def test_impossible_steps_are_refused_with_a_reason(env: Env) -> None:
    case_id = _issue(env)
    assert "sebelum pemeriksaan dan BAP" in _refused(env, case_id, "sari", CaseStep.SANCTION,
                                                     sanction=Sanction.SEVERE_DISMISSAL).message
    assert "diundang" in _refused(env, case_id, "sari", CaseStep.EXAMINATION, body=CaseBody.INSPEKTORAT).message
    assert "setelah pemeriksaan" in _refused(env, case_id, "sari", CaseStep.RECOMMENDATION,
                                             body=CaseBody.BKN).message
    assert "setelah kasus diteruskan ke Bawaslu" in _refused(env, case_id, "sari", CaseStep.HANDLING_EXTENDED).message
    assert "tidak dapat ditutup" in _refused(env, case_id, "sari", CaseStep.CLOSED_NOT_PROVEN).message
    _step(env, case_id, "sari", CaseStep.CLARIFICATION_INVITED)
    assert "diteruskan ke Bawaslu" in _refused(env, case_id, "sari", CaseStep.EXAMINATION,
                                               body=CaseBody.BAWASLU).message
    _step(env, case_id, "sari", CaseStep.FORWARDED_BAWASLU)
    assert "sudah diteruskan" in _refused(env, case_id, "sari", CaseStep.FORWARDED_BAWASLU).message
    _step(env, case_id, "sari", CaseStep.EXAMINATION, body=CaseBody.INSPEKTORAT)
    refused = _refused(env, case_id, "sari", CaseStep.SANCTION, sanction=Sanction.MORAL_OPEN)
    assert "Majelis Kode Etik" in refused.message and refused.kind == "conflict"
    _step(env, case_id, "sari", CaseStep.RECOMMENDATION, body=CaseBody.MAJELIS_KODE_ETIK)
    _step(env, case_id, "sari", CaseStep.SANCTION, sanction=Sanction.MORAL_OPEN)
    _step(env, case_id, "sari", CaseStep.CLOSED_NOT_PROVEN, note="Sanksi moral saja; disiplin tidak terbukti.")
    for step in CaseStep:  # nothing after closing
        refused = _refused(env, case_id, "sari", step, body=CaseBody.BKN)
        assert refused.kind == "conflict" and "sudah ditutup" in refused.message, step
    assert "sudah ditutup" in _refused(env, case_id, "rina", CaseStep.ASN_RESPONSE, note="Terlambat.").message
    with env.factory() as s:
        assert s.get(Case, case_id).status == CaseStatus.CLOSED_NOT_PROVEN  # type: ignore[union-attr]


def test_fields_are_checked_before_anything_is_written(env: Env) -> None:
    case_id = _issue(env)
    assert "nomor surat" in _refused(env, case_id, "sari", CaseStep.FORWARDED_BAWASLU, ref="  ").message
    assert "instansi" in _refused(env, case_id, "sari", CaseStep.FORWARDED_DISCIPLINE).message
    assert "tidak menyebut instansi" in _refused(env, case_id, "sari", CaseStep.FORWARDED_BAWASLU,
                                                 body=CaseBody.BKN).message
    assert "masa depan" in _refused(env, case_id, "sari", CaseStep.FORWARDED_BAWASLU,
                                    decided_on=date.today() + timedelta(days=3)).message
    assert "sebelum laporan" in _refused(env, case_id, "sari", CaseStep.FORWARDED_BAWASLU,
                                         decided_on=date(2020, 1, 1)).message
    assert "tidak dikenal" in _refused(env, case_id, "sari", "teleport").message
    assert "NUL" in _refused(env, case_id, "sari", CaseStep.FORWARDED_BAWASLU, note="a\x00b").message
    assert "surrogate" in _refused(env, case_id, "sari", CaseStep.FORWARDED_BAWASLU, note="a\ud800b").message
    assert "teks tanggapan" in _refused(env, case_id, "rina", CaseStep.ASN_RESPONSE, ref="").message
    assert _count(env, CaseStepRecord) == 0
    with env.factory() as s:
        assert s.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "case.step")) == 0


# --- roles --------------------------------------------------------------------------------------------

def test_roles_decide_who_records_which_step(env: Env) -> None:
    case_id = _issue(env)
    for who in ("rina", "adi"):  # a reviewer may not forward; the admin decides nothing in a case
        refused = _refused(env, case_id, who, CaseStep.FORWARDED_BAWASLU)
        assert refused.kind == "forbidden" and "tidak boleh" in refused.message, who
    refused = _refused(env, case_id, "ana", CaseStep.ASN_RESPONSE, note="Tanggapan.")
    assert refused.kind == "forbidden"  # analysts do not even read cases
    with env.factory() as s, pytest.raises(ReviewError):
        cases.get_case(s, case_id, _user(s, env, "ana"))
    _step(env, case_id, "rina", CaseStep.CLARIFICATION_INVITED)
    _step(env, case_id, "rina", CaseStep.EXAMINATION, body=CaseBody.INSPEKTORAT)
    for step, extra in ((CaseStep.SANCTION, {"sanction": Sanction.SEVERE_DEMOTION_12M}),
                        (CaseStep.RECOMMENDATION, {"body": CaseBody.BKN}), (CaseStep.CLOSED_PROVEN, {})):
        assert _refused(env, case_id, "rina", step, **extra).kind == "forbidden", step
    with env.factory() as s:
        case = cases.get_case(s, case_id, _user(s, env, "adi"))  # the admin reads
        assert cases.allowed_steps(case, _user(s, env, "adi")) == []
        reviewer = cases.allowed_steps(case, _user(s, env, "rina"))
        assert set(reviewer) == {CaseStep.CLARIFICATION_INVITED, CaseStep.ASN_RESPONSE, CaseStep.EXAMINATION}
        assert CaseStep.SANCTION in cases.allowed_steps(case, _user(s, env, "sari"))


# --- audit and append-only storage ----------------------------------------------------------------------

def test_every_step_is_audited_in_its_transaction(env: Env) -> None:
    case_id = _issue(env)
    _step(env, case_id, "sari", CaseStep.FORWARDED_BAWASLU, ref="B-12/Insp/2024", note="Surat pengantar.")
    _step(env, case_id, "rina", CaseStep.ASN_RESPONSE, ref="", note="Tanggapan pribadi ASN.",
          uploads=(attachments.Upload("tanggapan.pdf", PDF),))
    with env.factory() as s:
        records = s.scalars(select(AuditRecord).where(AuditRecord.action == "case.step")
                            .order_by(AuditRecord.id)).all()
        assert [(r.actor, r.entity_id, r.after["step"]) for r in records] == [  # type: ignore[index]
            ("sari", str(case_id), "forwarded_bawaslu"), ("rina", str(case_id), "asn_response")]
        assert records[0].after["ref_number"] == "B-12/Insp/2024" and records[0].reason == "Surat pengantar."
        # The ASN's words stay in the case; the audit log keeps their hash and the attachment's.
        assert records[1].reason == "" and "Tanggapan pribadi" not in str(records[1].after)
        assert records[1].after["note_sha256"] == hashlib.sha256(b"Tanggapan pribadi ASN.").hexdigest()
        assert records[1].after["attachments"][0]["sha256"] == hashlib.sha256(PDF).hexdigest()
        assert records[1].before == {"status": "forwarded", "steps": 1}
        assert audit.verify_chain(s) == []
    # A step whose transaction is rolled back leaves neither a step nor an audit record.
    with env.factory() as s:
        cases.add_step(s, case_id, _user(s, env, "sari"), cases.StepInput(CaseStep.CLARIFICATION_INVITED, "U-1"),
                       settings=env.settings)
        s.rollback()
    assert _count(env, CaseStepRecord) == 2
    with env.factory() as s:
        assert s.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "case.step")) == 2


def test_steps_and_attachments_are_append_only_and_closed_cases_stay_closed(env: Env) -> None:
    case_id = _issue(env)
    _step(env, case_id, "sari", CaseStep.FORWARDED_BAWASLU, uploads=(attachments.Upload("surat.png", PNG),))
    for stmt in ("UPDATE case_steps SET ref_number = 'X'", "DELETE FROM case_steps",
                 "UPDATE case_attachments SET sha256 = 'x'", "DELETE FROM case_attachments", "DELETE FROM cases",
                 "UPDATE cases SET opened_by = :u", "UPDATE cases SET opened_at = :t"):
        with env.factory() as s:
            with pytest.raises(DBAPIError, match="append-only|never deleted|keeps its report"):
                s.execute(text(stmt), {"u": env.ids["sari"], "t": datetime(2024, 1, 1, tzinfo=UTC)})
            s.rollback()
    with env.factory() as s:
        assert s.scalar(select(CaseStepRecord.ref_number)) == "123/ABC/2024"
        assert s.scalar(select(func.count()).select_from(CaseAttachment)) == 1
        s.execute(text("UPDATE cases SET status = 'forwarded' WHERE id = :c"), {"c": case_id})  # status may move
        s.commit()
    _step(env, case_id, "sari", CaseStep.CLOSED_NOT_PROVEN)
    with env.factory() as s:
        for stmt in ("UPDATE cases SET status = 'open'",
                     "INSERT INTO case_steps (case_id, step, decided_on, ref_number, note, recorded_by, recorded_at) "
                     "VALUES (:c, 'sanction', :d, 'X', '', :u, :t)"):
            with pytest.raises(DBAPIError):
                s.execute(text(stmt), {"c": case_id, "d": date.today(), "u": env.ids["sari"], "t": datetime.now(UTC)})
            s.rollback()
        if s.get_bind().dialect.name == "postgresql":
            for table in ("cases", "case_steps", "case_attachments"):
                with pytest.raises(DBAPIError):
                    s.execute(text(f"TRUNCATE {table} CASCADE"))
                s.rollback()


def test_database_refuses_a_step_type_outside_the_vocabulary(env: Env) -> None:
    case_id = _issue(env)
    with env.factory() as s, pytest.raises(DBAPIError):
        s.execute(text("INSERT INTO case_steps (case_id, step, decided_on, ref_number, note, recorded_by, recorded_at) "
                       "VALUES (:c, 'teleport', :d, 'X', '', :u, :t)"),
                  {"c": case_id, "d": date.today(), "u": env.ids["sari"], "t": datetime.now(UTC)})


def test_migration_downgrades_and_upgrades(db_url: str) -> None:
    cfg = alembic_config(db_url)
    command.downgrade(cfg, "0012")
    upgrade(db_url)
    command.downgrade(cfg, "0012")
    upgrade(db_url)


# --- attachments --------------------------------------------------------------------------------------

def test_attachments_are_sniffed_limited_hashed_and_stored_by_hash(env: Env) -> None:
    case_id = _issue(env)
    html_as_pdf = attachments.Upload("surat.pdf", b"<html><script>alert(1)</script></html>")
    assert "bukan PDF" in _refused(env, case_id, "sari", CaseStep.FORWARDED_BAWASLU, uploads=(html_as_pdf,)).message
    oversize = attachments.Upload("besar.pdf", b"%PDF-" + b"0" * 5000)
    assert "terlalu besar" in _refused(env, case_id, "sari", CaseStep.FORWARDED_BAWASLU, uploads=(oversize,)).message
    assert "kosong" in _refused(env, case_id, "sari", CaseStep.FORWARDED_BAWASLU,
                                uploads=(attachments.Upload("x.pdf", b""),)).message
    store = env.settings.attachments_dir
    assert not store.exists() or not any(p.is_file() for p in store.rglob("*"))  # refused files are not written
    assert _count(env, CaseStepRecord) == 0
    record = _step(env, case_id, "sari", CaseStep.FORWARDED_BAWASLU,
                   uploads=(attachments.Upload("../../etc/Surat\x07 Bawaslu.pdf", PDF),
                            attachments.Upload("foto.jpg.exe", JPEG)))
    with env.factory() as s:
        rows = s.scalars(select(CaseAttachment).where(CaseAttachment.step_id == record.id)
                         .order_by(CaseAttachment.id)).all()
        assert [(a.media_type, a.original_name, a.size_bytes) for a in rows] == [
            ("application/pdf", "Surat Bawaslu.pdf", len(PDF)), ("image/jpeg", "foto.jpg.exe", len(JPEG))]
        for row, data in zip(rows, (PDF, JPEG), strict=True):
            assert row.sha256 == hashlib.sha256(data).hexdigest()
            path = attachments.path_for(store, row.sha256)
            assert path.read_bytes() == data and path.parent.parent == store
            assert attachments.load(store, row) == data
        path = attachments.path_for(store, rows[0].sha256)
        path.write_bytes(PDF + b"diubah")  # damaged storage is detected on reading, never served silently
        with pytest.raises(ReviewError, match="tidak cocok"):
            attachments.load(store, rows[0])


def test_sniffing_ignores_the_name() -> None:
    assert attachments.sniff(PDF) == "application/pdf"
    assert attachments.sniff(PNG) == "image/png"
    assert attachments.sniff(JPEG) == "image/jpeg"
    for data in (b"GIF89a", b"<svg xmlns='http://www.w3.org/2000/svg'/>", b" %PDF-1.4", b"PK\x03\x04"):
        assert attachments.sniff(data) is None
    assert attachments.clean_name("C:\\Users\\x\\tanggapan.pdf") == "tanggapan.pdf"
    assert attachments.clean_name("\x00\x1b[31m") == "[31m"
    assert attachments.clean_name("") == "lampiran"
    assert [attachments.human_size(n) for n in (10 * 1024 * 1024, 3_565_158, 12_288, 512)] == [
        "10 MB", "3.4 MB", "12 KB", "512 B"]


# --- deadlines ----------------------------------------------------------------------------------------

def _steps(*items: tuple[str, date, str | None]) -> list[CaseStepRecord]:
    return [CaseStepRecord(step=step, decided_on=day, body=body) for step, day, body in items]


def test_working_days_skip_weekends() -> None:
    friday = date(2024, 11, 29)
    assert friday.weekday() == 4
    assert deadlines.add_working_days(friday, 1) == date(2024, 12, 2)  # Monday
    assert deadlines.add_working_days(friday, 7) == date(2024, 12, 10)
    assert deadlines.add_working_days(friday, 14) == date(2024, 12, 19)


def test_pemilu_deadlines_and_overdue() -> None:
    report_day = date(2024, 2, 16)  # Friday
    due = date(2024, 2, 27)  # 7 working days later
    [d] = deadlines.compute(ElectionLaw.PEMILU, report_day, [], closed=False, today=due)
    assert d.key == "report_to_bawaslu" and d.due == due and d.confirmed and not d.overdue
    [d] = deadlines.compute(ElectionLaw.PEMILU, report_day, [], closed=False, today=due + timedelta(days=1))
    assert d.overdue
    # Forwarded to the discipline track only: the Bawaslu deadline lapses instead of staying overdue.
    [d] = deadlines.compute(ElectionLaw.PEMILU, report_day,
                            _steps((CaseStep.FORWARDED_DISCIPLINE, date(2024, 2, 20), "ppk")), closed=False,
                            today=date(2024, 4, 1))
    assert d.lapsed and not d.overdue
    fwd = date(2024, 2, 28)
    first, follow = deadlines.compute(ElectionLaw.PEMILU, report_day,
                                      _steps((CaseStep.FORWARDED_BAWASLU, fwd, None)), closed=False,
                                      today=date(2024, 3, 7))
    assert first.met_on == fwd and first.late and not first.overdue
    assert follow.due == date(2024, 3, 6) and follow.overdue and not follow.confirmed  # 7 calendar days
    assert "belum terkonfirmasi" in follow.basis
    _, extended = deadlines.compute(ElectionLaw.PEMILU, report_day, _steps(
        (CaseStep.FORWARDED_BAWASLU, fwd, None), (CaseStep.HANDLING_EXTENDED, date(2024, 3, 1), None)),
        closed=False, today=date(2024, 3, 7))
    assert extended.due == date(2024, 3, 19) and not extended.overdue and extended.confirmed  # 14 working days
    _, answered = deadlines.compute(ElectionLaw.PEMILU, report_day, _steps(
        (CaseStep.FORWARDED_BAWASLU, fwd, None), (CaseStep.RECOMMENDATION, date(2024, 3, 5), "bawaslu")),
        closed=False, today=date(2024, 5, 1))
    assert answered.met_on == date(2024, 3, 5) and not answered.overdue
    closed = deadlines.compute(ElectionLaw.PEMILU, report_day, [], closed=True, today=date(2025, 1, 1))
    assert not deadlines.is_overdue(closed)


def test_pilkada_deadlines_are_shorter_and_marked_unconfirmed() -> None:
    report_day = date(2024, 11, 28)
    fwd = date(2024, 11, 29)
    first, follow = deadlines.compute(ElectionLaw.PILKADA, report_day,
                                      _steps((CaseStep.FORWARDED_BAWASLU, fwd, None)), closed=False,
                                      today=date(2024, 12, 3))
    assert first.due == date(2024, 12, 5) and not first.confirmed
    assert follow.due == date(2024, 12, 2) and follow.overdue and "belum terkonfirmasi" in follow.basis
    _, extended = deadlines.compute(ElectionLaw.PILKADA, report_day, _steps(
        (CaseStep.FORWARDED_BAWASLU, fwd, None), (CaseStep.HANDLING_EXTENDED, fwd, None)), closed=False,
        today=date(2024, 12, 3))
    assert extended.due == date(2024, 12, 4) and not extended.overdue


def test_election_law_comes_from_the_config(tmp_path: Path) -> None:
    book = cases.clocks(Settings())
    assert deadlines.law_for("pilkada-kota-malang-2024", book) == ElectionLaw.PILKADA
    assert deadlines.law_for("pilpres-2024", book) == ElectionLaw.PEMILU
    assert deadlines.law_for("pilgub-jatim-2024", NO_CONFIGS) == ElectionLaw.PILKADA  # no config: by its prefix
    assert deadlines.law_for(None, NO_CONFIGS) == ElectionLaw.PEMILU
    (tmp_path / "rusak.yaml").write_text("id: [tidak valid\n", encoding="utf-8")
    broken = cases.clocks(Settings(elections_dir=tmp_path))  # a broken file is skipped, not fatal
    assert deadlines.law_for("pilpres-2024", broken) == ElectionLaw.PEMILU
    late_evening = datetime(2024, 11, 27, 16, 30, tzinfo=UTC)  # 23.30 WIB, 00.30 WITA the next day
    assert deadlines.local_day(late_evening, "x", ZoneBook({}, "Asia/Jakarta")) == date(2024, 11, 27)
    assert deadlines.local_day(late_evening, "x", ZoneBook({}, "Asia/Makassar")) == date(2024, 11, 28)


def test_list_filters_and_overdue_with_an_injected_today(env: Env) -> None:
    case_id = _issue(env)
    with env.factory() as s:
        sari = _user(s, env, "sari")
        report_day = s.get(Case, case_id).report.created_at.astimezone(WIB).date()  # type: ignore[union-attr]
        late = report_day + timedelta(days=30)

        def listed(flt: cases.CaseFilter, day: date) -> list[cases.CaseRow]:
            return cases.list_cases(s, sari, flt, book=NO_CONFIGS, today=day)

        rows = listed(cases.CaseFilter(overdue_only=True), late)
        assert [r.case.id for r in rows] == [case_id] and rows[0].overdue
        assert listed(cases.CaseFilter(overdue_only=True), report_day) == []
        assert listed(cases.CaseFilter(unit="Dinas Lain"), late) == []
        assert len(listed(cases.CaseFilter(unit="Dinas Pendidikan"), late)) == 1
        assert listed(cases.CaseFilter(status="closed"), late) == []
    _step(env, case_id, "sari", CaseStep.FORWARDED_BAWASLU)
    with env.factory() as s:
        rows = cases.list_cases(s, _user(s, env, "sari"), cases.CaseFilter(status=CaseStatus.FORWARDED),
                                book=NO_CONFIGS, today=report_day + timedelta(days=1))
        assert [r.case.id for r in rows] == [case_id] and not rows[0].overdue


# --- web ----------------------------------------------------------------------------------------------

def _client(env: Env, who: str) -> TestClient:
    client = TestClient(create_app(env.settings))
    login(client, who)
    return client


def _post_step(client: TestClient, case_id: int, files: list[tuple[str, tuple[str, bytes, str]]] | None = None,
               **data: str) -> Any:
    token = csrf_from(client.get(f"/cases/{case_id}").text)
    return client.post(f"/cases/{case_id}/steps", data={"csrf_token": token, **data}, files=files or [],
                       follow_redirects=False)


def test_case_page_shows_the_timeline_escapes_the_response_and_serves_attachments(web_env: Env) -> None:
    env = web_env
    case_id = _issue(env)
    sari = _client(env, "sari")
    r = _post_step(sari, case_id, step="forwarded_bawaslu", ref_number="B-77/Insp/2024",
                   files=[("files", ("surat.pdf", PDF, "application/pdf")),
                          ("files", ("", b"", "application/octet-stream"))])  # an empty second file input
    assert r.status_code == 303 and r.headers["location"].startswith(f"/cases/{case_id}#langkah-")
    rina = _client(env, "rina")
    r = _post_step(rina, case_id, step="asn_response", note=HOSTILE_RESPONSE,
                   files=[("files", ("foto.png", PNG, "image/png"))])
    assert r.status_code == 303
    page = rina.get(f"/cases/{case_id}").text
    assert "<script>alert('tanggapan')</script>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#39;tanggapan&#39;)&lt;/script&gt;" in page
    for expected in ("Indikasi dibuat oleh model", "Tinjauan pertama", "Tinjauan kedua", "Laporan diterbitkan",
                     "B-77/Insp/2024", "Diteruskan ke Bawaslu", "Tanggapan tertulis ASN dicatat", "surat.pdf"):
        assert expected in page, expected
    assert page.index("Tinjauan pertama") < page.index("Laporan diterbitkan") < page.index("B-77/Insp/2024")
    with env.factory() as s:
        pdf_row, png_row = s.scalars(select(CaseAttachment).order_by(CaseAttachment.id)).all()
    pdf = rina.get(f"/cases/{case_id}/attachments/{pdf_row.id}")
    assert pdf.status_code == 200 and pdf.content == PDF
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["x-content-type-options"] == "nosniff"
    assert pdf.headers["content-disposition"] == f'attachment; filename="lampiran-{case_id}-{pdf_row.id}.pdf"'
    png = rina.get(f"/cases/{case_id}/attachments/{png_row.id}")
    assert png.headers["content-type"] == "image/png" and png.headers["content-disposition"].startswith("inline")
    assert "sandbox" in png.headers["content-security-policy"]
    assert rina.get(f"/cases/{case_id + 1}/attachments/{pdf_row.id}").status_code == 404  # wrong case
    analyst = _client(env, "ana")
    assert analyst.get(f"/cases/{case_id}/attachments/{pdf_row.id}").status_code == 403
    assert analyst.get(f"/cases/{case_id}").status_code == 403
    anonymous = TestClient(create_app(env.settings))
    r = anonymous.get(f"/cases/{case_id}/attachments/{pdf_row.id}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_web_refusals_keep_the_form_and_say_why(web_env: Env) -> None:
    env = web_env
    case_id = _issue(env)
    sari = _client(env, "sari")
    r = _post_step(sari, case_id, step="sanction", ref_number="SK-1", sanction="severe_dismissal",
                   note="Catatan yang tetap ada")
    assert r.status_code == 409 and "sebelum pemeriksaan dan BAP" in r.text and "Catatan yang tetap ada" in r.text
    r = _post_step(sari, case_id, step="forwarded_bawaslu", ref_number="B-1",
                   files=[("files", ("surat.pdf", b"<html>bukan pdf</html>", "application/pdf"))])
    assert r.status_code == 400 and "bukan PDF" in r.text and "Pilih ulang" in r.text
    r = _post_step(sari, case_id, step="forwarded_bawaslu", ref_number="B-1",
                   files=[("files", ("besar.pdf", b"%PDF-" + b"0" * 5000, "application/pdf"))])
    assert r.status_code == 400 and "terlalu besar" in r.text
    rina = _client(env, "rina")
    assert _post_step(rina, case_id, step="forwarded_bawaslu", ref_number="B-1").status_code == 403
    r = rina.post(f"/cases/{case_id}/steps", data={"step": "asn_response", "note": "tanpa token"},
                  follow_redirects=False)
    assert r.status_code == 403  # CSRF
    assert _count(env, CaseStepRecord) == 0


def test_case_list_highlights_overdue_and_filters(web_env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    env = web_env
    monkeypatch.setattr(reports, "utcnow", lambda: datetime.now(UTC) - timedelta(days=30))
    old = _issue(env)  # issued 30 days ago: not forwarded within 7 working days
    monkeypatch.undo()
    with env.factory() as s:
        from webutil import add_account, add_flag

        account = add_account(s, nip="199001012015011002", name="Sri Wahyuni", unit="Dinas Kesehatan",
                              handle="sri_w")
        env.ids["flag"] = add_flag(s, account, post_id="2002", text="Ayo coblos nomor 1").id
        s.commit()
    fresh = _issue(env)
    sari = _client(env, "sari")
    page = sari.get("/cases").text
    rows = re.findall(r'<tr class="(overdue)?">\s*<td><strong>#(\d+)</strong>', page)
    assert rows == [("overdue", str(old)), ("", str(fresh))]  # overdue first, highlighted
    assert "Lewat batas waktu" in page
    only = sari.get("/cases?overdue=1").text
    assert f"#{old}</strong>" in only and f"#{fresh}</strong>" not in only
    unit = sari.get("/cases?unit=Dinas+Kesehatan").text
    assert f"#{fresh}</strong>" in unit and f"#{old}</strong>" not in unit
    case_page = sari.get(f"/cases/{old}").text
    assert "overdue-card" in case_page and "UU 10/2016 Pasal 134 ayat (4)" in case_page  # a Pilkada flag
    assert 'href="/cases"' in sari.get("/dashboard").text  # navigation link
    with env.factory() as s:
        report_id = s.get(Case, old).report_id  # type: ignore[union-attr]
    assert f'href="/cases/{old}"' in sari.get(f"/reports/{report_id}").text


# --- CLI and web use the same service -------------------------------------------------------------------

@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    from netral.settings import get_settings

    url = sqlite_url(tmp_path)
    monkeypatch.setenv("NETRAL_DATABASE_URL", url)
    monkeypatch.setenv("NETRAL_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("NETRAL_ATTACHMENT_MAX_BYTES", "4096")
    get_settings.cache_clear()
    e = _env(url, tmp_path)
    yield e
    get_settings.cache_clear()
    e.factory.kw["bind"].dispose()


def test_cli_list_show_step_and_refusals(cli_env: Env) -> None:
    from netral.cli.cases import app

    env = cli_env
    case_id = _issue(env)
    runner = CliRunner()
    pdf = env.tmp / "surat.pdf"
    pdf.write_bytes(PDF)
    fake = env.tmp / "palsu.pdf"
    fake.write_text("<html>bukan pdf</html>")
    ok = runner.invoke(app, ["step", str(case_id), "--type", "forwarded_bawaslu", "--ref", "B-9/2024", "--by", "sari",
                             "--attach", str(pdf), "--note", "Diteruskan."])
    assert ok.exit_code == 0, ok.output
    assert "Diteruskan" in ok.output and hashlib.sha256(PDF).hexdigest() in ok.output
    bad = runner.invoke(app, ["step", str(case_id), "--type", "clarification_invited", "--ref", "U-1", "--by", "sari",
                              "--attach", str(fake)])
    assert bad.exit_code == 1 and "bukan PDF" in bad.output
    order = runner.invoke(app, ["step", str(case_id), "--type", "sanction", "--ref", "SK-1", "--by", "sari",
                                "--sanction", "severe_dismissal"])
    assert order.exit_code == 1 and "sebelum pemeriksaan dan BAP" in order.output
    role = runner.invoke(app, ["step", str(case_id), "--type", "closed_not_proven", "--ref", "X", "--by", "rina"])
    assert role.exit_code == 1 and "tidak boleh" in role.output
    missing = runner.invoke(app, ["step", str(case_id), "--type", "asn_response", "--by", "rina", "--attach",
                                  str(env.tmp / "tidak-ada.pdf")])
    assert missing.exit_code == 1 and "tidak-ada.pdf" in missing.output
    response = env.tmp / "tanggapan.txt"
    response.write_text("Saya tidak bermaksud berkampanye.\nHanya berbagi berita.", encoding="utf-8")
    ok = runner.invoke(app, ["step", str(case_id), "--type", "asn_response", "--by", "rina", "--note-file",
                             str(response)])
    assert ok.exit_code == 0, ok.output
    listed = runner.invoke(app, ["list"])
    assert listed.exit_code == 0 and f"#{case_id}" in listed.output and "Klarifikasi ASN" in listed.output
    shown = runner.invoke(app, ["show", str(case_id)])
    assert shown.exit_code == 0
    for expected in ("Laporan diterbitkan", "B-9/2024", "Hanya berbagi berita.", "surat.pdf", "Batas"):
        assert expected in shown.output, expected
    assert runner.invoke(app, ["show", "999"]).exit_code == 1
    assert _count(env, CaseStepRecord) == 2


def test_cli_and_web_call_the_same_service_function(cli_env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    from netral.cli.cases import app

    env = cli_env
    case_id = _issue(env)
    calls: list[tuple[str, str]] = []
    real = cases.add_step

    def spy(session: Session, cid: int, user: User, data: cases.StepInput, **kwargs: Any) -> CaseStepRecord:
        calls.append((user.username, data.step))
        return real(session, cid, user, data, **kwargs)

    monkeypatch.setattr(cases, "add_step", spy)
    assert CliRunner().invoke(app, ["step", str(case_id), "--type", "clarification_invited", "--ref", "U-1",
                                    "--by", "rina"]).exit_code == 0
    assert _post_step(_client(env, "sari"), case_id, step="forwarded_bawaslu", ref_number="B-2").status_code == 303
    token = _api_token(env, "tono")
    r = TestClient(create_app(env.settings)).post(f"/api/cases/{case_id}/steps", headers={"Authorization": token},
                                                  json={"step": "forwarded_discipline", "ref_number": "P-3",
                                                        "body": "ppk"})
    assert r.status_code == 200, r.text
    assert calls == [("rina", "clarification_invited"), ("sari", "forwarded_bawaslu"), ("tono", "forwarded_discipline")]


# --- API ----------------------------------------------------------------------------------------------

def _api_token(env: Env, who: str) -> str:
    from netral.review import users as user_service

    with env.factory() as s:
        _, plain = user_service.create_api_token(s, _user(s, env, who), "uji", actor=None)
        s.commit()
    return f"Bearer {plain}"


def test_api_reads_cases_and_records_steps_with_the_owners_role(web_env: Env) -> None:
    env = web_env
    case_id = _issue(env)
    client = TestClient(create_app(env.settings))
    assert client.get("/api/cases").status_code == 401
    sari, rina, ana = (_api_token(env, n) for n in ("sari", "rina", "ana"))
    listed = client.get("/api/cases", headers={"Authorization": sari})
    assert listed.status_code == 200
    [item] = listed.json()
    assert item["id"] == case_id and item["status"] == "open" and item["law"] == "pilkada"
    assert item["deadlines"][0]["key"] == "report_to_bawaslu"
    assert client.get("/api/cases", headers={"Authorization": ana}).status_code == 403
    assert client.get("/api/cases?status=bogus", headers={"Authorization": sari}).status_code == 422
    r = client.post(f"/api/cases/{case_id}/steps", headers={"Authorization": rina},
                    json={"step": "forwarded_bawaslu", "ref_number": "B-1"})
    assert r.status_code == 403 and "tidak boleh" in r.json()["detail"]
    r = client.post(f"/api/cases/{case_id}/steps", headers={"Authorization": sari},
                    json={"step": "sanction", "ref_number": "SK-1", "sanction": "severe_dismissal"})
    assert r.status_code == 409 and "BAP" in r.json()["detail"]
    assert client.post(f"/api/cases/{case_id}/steps", headers={"Authorization": sari},
                       json={"step": "teleport"}).status_code == 422
    assert client.post(f"/api/cases/{case_id}/steps", headers={"Authorization": sari},
                       content=b"{").status_code == 422
    r = client.post(f"/api/cases/{case_id}/steps", headers={"Authorization": rina},
                    json={"step": "asn_response", "note": HOSTILE_RESPONSE})
    assert r.status_code == 200
    detail = r.json()
    assert detail["status"] == "clarification" and detail["steps"][0]["note"] == HOSTILE_RESPONSE
    assert "asn_response" in detail["allowed_steps"] and "sanction" not in detail["allowed_steps"]
    assert client.get(f"/api/cases/{case_id + 50}", headers={"Authorization": sari}).status_code == 404
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/api/cases/{case_id}/steps"]["post"]["requestBody"]["content"]["application/json"]
    assert "$ref" not in str(body) and "forwarded_bawaslu" in str(body)  # enums written in place
