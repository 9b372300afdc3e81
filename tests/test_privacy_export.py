"""``netral privacy export NIP`` and its admin page (issue 13, item 6): everything held about one person,
nothing about anyone else, written atomically, and audited (who exported whom, why, and the file's hash).

The service tests run on SQLite always and on PostgreSQL when NETRAL_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner
from webutil import add_account, add_flag, add_user, csrf_from, factory_for, login, settings_for, sqlite_url

from netral import audit
from netral.db.schema import AuditRecord, Post, Score, User
from netral.review import cases, decisions, privacy, queue, reports, retention
from netral.review.errors import ReviewError
from netral.settings import Settings

NIP = "198501012010011001"
OTHER_NIP = "199002022015022002"
REASON = "Permintaan akses subjek data, surat nomor 12/PDP/2026"


def _seed(factory: sessionmaker[Session]) -> dict[str, int]:
    """Budi: a reported flag (confirmed by rina, verified by sari), a pending one and an old plain post that
    the retention purge deletes; Sari Dewi (another ASN): one flag that must not leak into Budi's export."""
    with factory() as s:
        rina, sari = add_user(s, "rina", "reviewer"), add_user(s, "sari", "supervisor")
        add_user(s, "adi", "admin")
        budi = add_account(s, nip=NIP)
        other = add_account(s, nip=OTHER_NIP, name="Sari Dewi", handle="sari_d")
        reported = add_flag(s, budi, post_id="1001", text="Ayo coblos nomor 2, rahasia-budi-satu")
        add_flag(s, budi, post_id="1002", text="Dukung paslon 1, rahasia-budi-dua")
        add_flag(s, other, post_id="2001", text="Unggahan orang lain, rahasia-sari")
        old = Post(platform="twitter", post_id="1003", account_id=budi.id, author_handle="budi_s",
                   created_at=dt.datetime(2022, 1, 1, tzinfo=dt.UTC), text="unggahan lama rahasia-budi-tiga",
                   content_sha256="cd" * 32, source="test")
        s.add(old)
        s.add(Score(post_id=reported.post_id, model_version="v1", partisan_score=0.93, categories={}))
        s.commit()
        queue.claim(s, reported.id, rina, Settings())
        decisions.confirm(s, reported.id, rina, category="SUPPORT", behaviour="kampanye_daring",
                          reason="Ajakan mencoblos nomor urut 2 secara terbuka.", settings=Settings())
        decisions.verify(s, reported.id, sari, reason="Sesuai bukti, ajakan terbuka.")
        report = reports.create_report(s, reported.id, sari).report
        s.commit()
        case = cases.case_for_report(s, report.id)
        assert case is not None
        # The ASN's written response is part of the case, and so of what Netral holds about them.
        cases.add_step(s, case.id, rina, cases.StepInput("asn_response", note="Tanggapan Budi: rahasia-budi-empat"),
                       settings=Settings())
        s.commit()
        ids = {"budi": budi.id, "other": other.id, "reported_flag": reported.id, "old_post": old.id}
    retention.purge(factory, Settings(), [], now=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    return ids


def test_export_holds_everything_about_the_person_and_nothing_about_others(factory: sessionmaker[Session]) -> None:
    ids = _seed(factory)
    with factory() as s:
        admin = s.scalars(select(User).where(User.username == "adi")).one()
        made = privacy.export_person(s, f" {NIP} ", actor=admin, reason=REASON)
        s.commit()
    doc = json.loads(made.content)
    assert doc["format"] == "netral-privacy-export/1" and doc["exported_by"] == "adi" and doc["reason"] == REASON
    assert doc["account"]["nip"] == NIP and doc["account"]["name"] == "Budi Santoso"
    assert [h["handle"] for h in doc["handles"]] == ["budi_s"]
    texts = [p["text"] for p in doc["posts"]]
    assert len(texts) == 2 and all("rahasia-budi" in t for t in texts)  # the purged post is gone ...
    assert "rahasia-sari" not in made.content.decode() and OTHER_NIP not in made.content.decode()
    assert [sc["partisan_score"] for sc in doc["scores"]] == [0.93]
    assert len(doc["flags"]) == 2 and all(f["score_history"] for f in doc["flags"])
    assert {(r["reviewer"], r["decision"]) for r in doc["reviews"]} == {("rina", "confirm"), ("sari", "verify")}
    assert len(doc["reports"]) == 1 and doc["reports"][0]["created_by_username"] == "sari"
    [case] = doc["cases"]
    assert case["report_id"] == doc["reports"][0]["id"]
    assert [(st["step"], st["note"], st["recorded_by_username"]) for st in case["steps"]] == [
        ("asn_response", "Tanggapan Budi: rahasia-budi-empat", "rina")]
    actions = [a["action"] for a in doc["audit"]]
    assert {"flag.claim", "flag.confirm", "flag.verify", "report.create", "case.open", "case.step",
            "post.purge"} <= set(actions)
    purge = next(a for a in doc["audit"] if a["action"] == "post.purge")  # ... but its hash is listed
    assert purge["entity_id"] == str(ids["old_post"]) and purge["before"]["content_sha256"] == "cd" * 32
    assert made.counts == {"handles": 1, "posts": 2, "scores": 1, "flags": 2, "reviews": 2, "complaints": 0,
                           "reports": 1, "cases": 1, "audit": len(doc["audit"])}
    assert made.sha256 == hashlib.sha256(made.content).hexdigest()
    with factory() as s:
        record = s.scalars(select(AuditRecord).where(AuditRecord.action == "privacy.export")).one()
        assert (record.actor, record.entity, record.entity_id, record.reason) == ("adi", "account",
                                                                                 str(ids["budi"]), REASON)
        assert record.after == {"nip": NIP, "counts": made.counts, "sha256": made.sha256}
        assert audit.verify_chain(s) == []


def test_export_refusals_write_no_audit_record(factory: sessionmaker[Session]) -> None:
    _seed(factory)
    with factory() as s:
        before = s.scalar(select(func.count()).select_from(AuditRecord))
        reviewer = s.scalars(select(User).where(User.username == "rina")).one()
        admin = s.scalars(select(User).where(User.username == "adi")).one()
        with pytest.raises(ReviewError) as refused:
            privacy.export_person(s, NIP, actor=reviewer, reason=REASON)
        assert refused.value.kind == "forbidden"
        with pytest.raises(ReviewError) as short:
            privacy.export_person(s, NIP, actor=admin, reason="minta")
        assert short.value.kind == "invalid" and "alasan" in short.value.message
        with pytest.raises(ReviewError) as unknown:
            privacy.export_person(s, "197001011990011001", actor=admin, reason=REASON)
        assert unknown.value.kind == "not_found" and "197001011990011001" in unknown.value.message
        s.rollback()
        assert s.scalar(select(func.count()).select_from(AuditRecord)) == before


def test_cli_export_writes_the_file_atomically_and_audits_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from netral.cli import app
    from netral.db.engine import clear_engines
    from netral.settings import get_settings

    url = sqlite_url(tmp_path)
    monkeypatch.setenv("NETRAL_DATABASE_URL", url)
    get_settings.cache_clear()
    factory = factory_for(url)
    try:
        _seed(factory)
        runner = CliRunner()
        out = tmp_path / "ekspor" / "budi.json"
        done = runner.invoke(app, ["privacy", "export", NIP, "--reason", REASON, "--output", str(out), "--by", "adi"])
        assert done.exit_code == 0, done.output
        doc = json.loads(out.read_text(encoding="utf-8"))
        assert doc["account"]["nip"] == NIP and doc["exported_by"] == "adi"
        assert not [p for p in out.parent.iterdir() if p.name.endswith(".tmp")]  # no temporary file left
        with factory() as s:
            record = s.scalars(select(AuditRecord).where(AuditRecord.action == "privacy.export")).one()
            assert record.after is not None
            assert record.after["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
            count = s.scalar(select(func.count()).select_from(AuditRecord))
        # Refusals exit 1 with the reason and leave neither a file nor an audit record.
        for args, message in ((["privacy", "export", "197001011990011001", "--reason", REASON], "tidak ada"),
                              (["privacy", "export", NIP, "--reason", REASON, "--by", "rina"], "tidak boleh"),
                              (["privacy", "export", NIP, "--reason", REASON, "--by", "nobody"], "nobody"),
                              (["privacy", "export", NIP, "--reason", REASON, "--output", str(out / "x.json")],
                               "tidak dapat ditulis")):
            refused = runner.invoke(app, args)
            assert refused.exit_code == 1 and message in refused.output, (args, refused.output)
        with factory() as s:
            assert s.scalar(select(func.count()).select_from(AuditRecord)) == count
    finally:
        factory.kw["bind"].dispose()
        clear_engines()
        get_settings.cache_clear()


def test_admin_page_shows_the_rules_and_downloads_the_export(tmp_path: Path) -> None:
    from netral.serve.app import create_app

    url = sqlite_url(tmp_path)
    factory = factory_for(url)
    _seed(factory)
    settings = settings_for(url, tmp_path, retention_days_after_election=200)
    admin = TestClient(create_app(settings))
    login(admin, "adi")
    page = admin.get("/admin/privacy")
    assert page.status_code == 200 and "200 hari setelah berakhirnya hari pemungutan suara" in page.text
    token = csrf_from(page.text)
    got = admin.post("/admin/privacy/export", data={"nip": NIP, "reason": REASON, "csrf_token": token})
    assert got.status_code == 200 and got.headers["content-type"].startswith("application/json")
    assert got.headers["content-disposition"] == f'attachment; filename="netral-data-pribadi-{NIP}.json"'
    assert json.loads(got.content)["account"]["nip"] == NIP
    assert got.headers["x-content-sha256"] == hashlib.sha256(got.content).hexdigest()
    refused = admin.post("/admin/privacy/export", data={"nip": NIP, "reason": "x", "csrf_token": token},
                         follow_redirects=False)
    assert refused.status_code == 303
    no_csrf = admin.post("/admin/privacy/export", data={"nip": NIP, "reason": REASON})
    assert no_csrf.status_code == 403
    reviewer = TestClient(create_app(settings))
    login(reviewer, "rina")
    assert reviewer.get("/admin/privacy").status_code == 403
    assert reviewer.post("/admin/privacy/export", data={"nip": NIP, "reason": REASON,
                                                        "csrf_token": csrf_from(reviewer.get("/account").text)}
                         ).status_code == 403
    with factory() as s:
        exports = list(s.scalars(select(AuditRecord).where(AuditRecord.action == "privacy.export")))
        assert [r.actor for r in exports] == ["adi"]
    factory.kw["bind"].dispose()
