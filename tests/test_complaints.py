"""Complaint intake (pengaduan): same queue and four-eyes path as a model flag, roster-only scope,
screenshot checks, append-only records, hostile text inert on every page, CLI and API through the service."""

from __future__ import annotations

import base64
import hashlib
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from webutil import HOSTILE_TEXT, csrf_from, factory_for, login, seed_basic, settings_for, sqlite_url

from netral import audit
from netral.db.schema import Account, AuditRecord, Complaint, Flag, Post, Report, User
from netral.pipeline.incoming import RecordError, parse_post
from netral.pipeline.scan import ScanFilter, pending_posts
from netral.review import accounts, complaints, decisions, drivers, queue, reports
from netral.review import users as user_service
from netral.review.errors import ReviewError
from netral.serve.app import create_app
from netral.settings import Settings
from netral.training.decisions import decided_examples

NIP = "198501012010011001"  # Budi Santoso in webutil.seed_basic, handle twitter:budi_s
LINK = "https://twitter.com/budi_s/status/5550001"
TEXT = "Budi mengunggah ajakan memilih paslon nomor 2 di grup warga RT 05, dengan foto salam dua jari."
HOSTILE_COMPLAINANT = "Warga <b onmouseover=alert(3)>RT 05</b>"
RAW_SCRIPT = "<script>alert(1)</script>"
ESC_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
REASON = "Ajakan memilih paslon nomor 2 secara terbuka."


def png_bytes(width: int = 1, height: int = 1, *, noise: bool = False) -> bytes:
    """A real grey PNG image; with ``noise`` its pixels do not compress (for size limits)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    def row(y: int) -> bytes:
        if not noise:
            return b"\x80" * width
        pixels = b"".join(hashlib.sha256(f"{y}:{i}".encode()).digest() for i in range(width // 32 + 1))
        return pixels[:width]
    raw = b"".join(b"\x00" + row(y) for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"


@dataclass
class Env:
    factory: sessionmaker[Session]
    settings: Settings
    ids: dict[str, int]


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> Iterator[Env]:
    factory = factory_for(db_url)
    yield Env(factory, settings_for(db_url, tmp_path), seed_basic(factory))
    factory.kw["bind"].dispose()


def _user(s: Session, ids: dict[str, int], name: str) -> User:
    user = s.get(User, ids[name])
    assert user is not None
    return user


def _record(s: Session, env: Env, who: str = "rina", **kw: object) -> Complaint:
    values: dict[str, object] = {"account": NIP, "source": "public", "text": TEXT, "link": LINK,
                                 "complainant": "Warga RT 05"}
    values.update(kw)
    return complaints.record(s, complaints.ComplaintInput(**values), _user(s, env.ids, who),  # type: ignore[arg-type]
                             env.settings)


def _counts(s: Session) -> tuple[int, int, int]:
    return tuple(s.scalar(select(func.count()).select_from(t)) or 0 for t in (Complaint, Post, Flag))  # type: ignore[return-value]


# --- the service ------------------------------------------------------------------------------------

def test_complaint_goes_through_both_reviews_to_a_report(env: Env) -> None:
    with env.factory() as s:
        complaint = _record(s, env, screenshot=png_bytes())
        s.commit()
        flag, post = complaint.flag, complaint.post
        assert (flag.source, flag.status, flag.model_version, flag.partisan_score) == ("complaint", "pending", "", 0.0)
        assert (post.kind, post.platform, post.author_handle, post.url, post.text) == (
            "complaint", "twitter", "budi_s", LINK, TEXT)
        assert post.account.nip == NIP and complaint.account_id == post.account_id
        digest = hashlib.sha256(png_bytes()).hexdigest()
        assert (complaint.screenshot_sha256, complaint.screenshot_type) == (digest, "image/png")
        assert (env.settings.attachments_dir / digest[:2] / digest).read_bytes() == png_bytes()
        # The same queue as the model's flags, complaints first (the model flag scores 0.93).
        listed = queue.list_flags(s, queue.FlagFilter())
        assert [f.id for f in listed] == [flag.id, env.ids["flag"]]
        assert [f.id for f in queue.list_flags(s, queue.FlagFilter(source="complaint"))] == [flag.id]
        assert not drivers.needs_drivers(flag)
        # The same four-eyes path: reviewer confirms, the confirmer cannot verify, a different supervisor does.
        sari, tono = _user(s, env.ids, "sari"), _user(s, env.ids, "tono")
        queue.claim(s, flag.id, sari, env.settings)
        decisions.confirm(s, flag.id, sari, category="SOLICITATION", behaviour="ajakan_berpihak", reason=REASON,
                          settings=env.settings)
        s.commit()
        with pytest.raises(ReviewError, match="empat mata"):
            decisions.verify(s, flag.id, sari, reason="Saya setuju dengan diri sendiri.")
        s.rollback()
        with pytest.raises(ReviewError):
            reports.create_report(s, flag.id, tono)  # not verified yet
        s.rollback()
        decisions.verify(s, flag.id, tono, reason="Benar, ajakan memilih yang jelas.")
        s.commit()
        rendered = reports.create_report(s, flag.id, tono)
        s.commit()
        assert s.get(Flag, flag.id).status == "reported"  # type: ignore[union-attr]
        html = rendered.html
        assert "Pengaduan sebagaimana dicatat" in html and "Masyarakat" in html and "Warga RT 05" in html
        assert digest in html and LINK in html and "tidak ada skor model" in html
        assert reports.load_html(s, env.settings, rendered.report).intact
        actions = [r.action for r in s.scalars(select(AuditRecord).where(AuditRecord.entity == "flag",
                                                                          AuditRecord.entity_id == str(flag.id))
                                               .order_by(AuditRecord.id))]
        assert actions == ["complaint.record", "flag.claim", "flag.confirm", "flag.verify"]
        assert audit.verify_chain(s) == []


def test_complaints_only_about_active_roster_accounts(env: Env) -> None:
    with env.factory() as s:
        before = _counts(s)
        refusals = {
            "tidak ada di daftar ASN": dict(account="199912312022031999"),
            "tautan unggahan atau tangkapan layar": dict(link=""),
            "sumber pengaduan": dict(source="anonim"),
            "uraian pengaduan": dict(text="singkat"),
            "http(s)": dict(link="javascript:alert(1)"),
            # Hostile values are refused before they reach a query (PostgreSQL refuses NUL outright).
            "nomor pegawai tidak valid": dict(account="19850101\x002010011001"),
            "NUL": dict(text="Ajakan memilih nomor 2\x00 di grup warga"),
            "surrogate": dict(complainant="Warga \ud800"),
        }
        for fragment, change in refusals.items():
            with pytest.raises(ReviewError, match=re.escape(fragment)) as exc:
                _record(s, env, **change)
            assert exc.value.kind == "invalid"
            s.rollback()
        with pytest.raises(ReviewError) as forbidden:
            _record(s, env, who="ana")  # analysts do not record complaints
        assert forbidden.value.kind == "forbidden"
        s.rollback()
        budi = accounts.resolve(s, NIP)
        accounts.deactivate(s, budi, reason="Pensiun sejak November 2026", actor=None)
        s.commit()
        with pytest.raises(ReviewError, match="dinonaktifkan"):
            _record(s, env)
        s.rollback()
        assert _counts(s) == before


def test_screenshot_is_checked_by_content_and_size(env: Env) -> None:
    with env.factory() as s:
        before = _counts(s)
        with pytest.raises(ReviewError, match="bukan PDF, PNG atau JPEG"):
            _record(s, env, screenshot=b"<html><script>alert(1)</script></html>")
        s.rollback()
        with pytest.raises(ReviewError, match="harus gambar PNG atau JPEG"):  # a PDF is a case attachment, not this
            _record(s, env, screenshot=b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        s.rollback()
        small = Settings(**{**env.settings.model_dump(), "attachment_max_bytes": 1024})
        big = png_bytes(64, 64, noise=True)
        assert len(big) > 1024
        with pytest.raises(ReviewError, match="terlalu besar"):
            complaints.record(s, complaints.ComplaintInput(account=NIP, source="bawaslu", text=TEXT, screenshot=big),
                              _user(s, env.ids, "rina"), small)
        s.rollback()
        assert _counts(s) == before
        jpeg = complaints.record(s, complaints.ComplaintInput(account=NIP, source="superior", text=TEXT,
                                                              screenshot=JPEG), _user(s, env.ids, "adi"),
                                 env.settings)
        s.commit()
        assert jpeg.screenshot_type == "image/jpeg" and jpeg.link == "" and jpeg.post.platform == "other"
        data, media_type = complaints.screenshot(s, jpeg.id, _user(s, env.ids, "rudi"), env.settings)
        assert (data, media_type) == (JPEG, "image/jpeg")


def test_complaints_and_their_snapshots_cannot_be_changed(env: Env) -> None:
    with env.factory() as s:
        complaint = _record(s, env)
        s.commit()
        cid, pid = complaint.id, complaint.post_id
    for stmt in (f"UPDATE complaints SET description = 'diubah' WHERE id = {cid}",
                 f"DELETE FROM complaints WHERE id = {cid}",
                 f"UPDATE posts SET text = 'diubah' WHERE id = {pid}"):
        with env.factory() as s, pytest.raises(DBAPIError):
            s.execute(text(stmt))
            s.commit()
    with env.factory() as s:
        assert s.get(Complaint, cid).description == TEXT  # type: ignore[union-attr]


def test_scan_and_retraining_leave_complaints_alone(env: Env) -> None:
    with env.factory() as s:
        complaint = _record(s, env)
        s.commit()
        model_post = s.get(Flag, env.ids["flag"]).post_id  # type: ignore[union-attr]
        assert pending_posts(s, "model-baru", ScanFilter()) == [model_post]
        for flag_id in (complaint.flag_id, env.ids["flag"]):
            rina = _user(s, env.ids, "rina")
            queue.claim(s, flag_id, rina, env.settings)
            decisions.confirm(s, flag_id, rina, category="SUPPORT", behaviour="kampanye_daring", reason=REASON,
                              settings=env.settings)
        s.commit()
        assert [e.id for e in decided_examples(s)] == [f"decision:{env.ids['flag']}"]


def test_ingestion_cannot_forge_a_complaint_snapshot() -> None:
    record = {"platform": "twitter", "post_id": "9", "author": "budi_s", "created_at": "2024-11-10T09:00:00+07:00",
              "text": "teks", "kind": "complaint"}
    with pytest.raises(RecordError, match="jenis tidak dikenal"):
        parse_post(record)


# --- the web form, pages and escaping -----------------------------------------------------------------

@pytest.fixture
def web(tmp_path: Path) -> Iterator[Env]:
    url = sqlite_url(tmp_path)
    factory = factory_for(url)
    yield Env(factory, settings_for(url, tmp_path), seed_basic(factory))
    factory.kw["bind"].dispose()


def _client(env: Env, who: str) -> TestClient:
    client = TestClient(create_app(env.settings))
    assert login(client, who).status_code == 303
    return client


def _form(client: TestClient, path: str = "/complaints") -> str:
    return csrf_from(client.get(path).text)


def test_web_form_records_a_complaint_and_every_page_escapes_it(web: Env) -> None:
    rina = _client(web, "rina")
    token = _form(rina)
    r = rina.post("/complaints", data={"csrf_token": token, "account": NIP, "source": "bawaslu", "text": HOSTILE_TEXT,
                                       "link": LINK, "complainant": HOSTILE_COMPLAINANT,
                                       "posted_at": "2024-11-10T14:30"},
                  files={"screenshot": ("bukti.png", png_bytes(), "image/png")}, follow_redirects=False)
    assert r.status_code == 303, r.text
    flag_id = int(r.headers["location"].rsplit("/", 1)[1])
    with web.factory() as s:
        complaint = s.scalars(select(Complaint)).one()
        assert complaint.flag_id == flag_id and complaint.source == "bawaslu"
        assert complaint.post.created_at.isoformat() == "2024-11-10T07:30:00+00:00"  # read as WIB
    pages = {"flag": rina.get(f"/flags/{flag_id}").text, "queue": rina.get("/queue").text,
             "complaints": rina.get("/complaints").text}
    assert "Pengaduan #" in pages["flag"] and "Bawaslu" in pages["flag"] and "/screenshot" in pages["flag"]
    assert "tag-source-complaint" in pages["queue"]
    shot = rina.get(f"/complaints/{complaint.id}/screenshot")
    assert shot.status_code == 200 and shot.content == png_bytes()
    assert shot.headers["content-type"] == "image/png" and shot.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in shot.headers["content-security-policy"]
    # Through both reviews to a report over HTTP; then every page that shows the complaint is checked.
    token = _form(rina, f"/flags/{flag_id}")
    rina.post(f"/flags/{flag_id}/claim", data={"csrf_token": token})
    r = rina.post(f"/flags/{flag_id}/confirm", data={"csrf_token": token, "category": "SOLICITATION",
                                                       "behaviour": "ajakan_berpihak", "reason": REASON},
                  follow_redirects=False)
    assert r.status_code == 303
    sari = _client(web, "sari")
    pages["second_review"] = sari.get("/second-review").text
    token = _form(sari, f"/flags/{flag_id}")
    assert sari.post(f"/flags/{flag_id}/verify", data={"csrf_token": token, "reason": "Setuju, ajakan memilih."},
                     follow_redirects=False).status_code == 303
    r = sari.post(f"/flags/{flag_id}/report", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/reports/")
    report_path = r.headers["location"]
    pages["report_view"] = sari.get(report_path).text
    pages["report_html"] = sari.get(f"{report_path}/html").text
    pages["flag_supervisor"] = sari.get(f"/flags/{flag_id}").text
    for name, page in pages.items():
        assert RAW_SCRIPT not in page and "<img src=x" not in page and "<b onmouseover" not in page, name
    for name in ("flag", "queue", "complaints", "second_review", "report_html", "flag_supervisor"):
        assert ESC_SCRIPT in pages[name], name
    assert "&lt;b onmouseover=alert(3)&gt;" in pages["flag"] and "&lt;b onmouseover" in pages["report_html"]
    assert "Pengaduan" in pages["report_view"]
    with web.factory() as s:
        assert s.scalar(select(func.count()).select_from(Report)) == 1


def test_web_form_refusals_keep_the_form_and_roles(web: Env) -> None:
    rina = _client(web, "rina")
    token = _form(rina)
    r = rina.post("/complaints", data={"csrf_token": token, "account": NIP, "source": "public", "text": HOSTILE_TEXT},
                  files={"screenshot": ("bukan-gambar.png", b"<svg onload=alert(1)>", "image/png")})
    assert r.status_code == 400 and "bukan PDF, PNG atau JPEG" in r.text
    assert RAW_SCRIPT not in r.text and ESC_SCRIPT in r.text  # the refilled textarea is escaped too
    r = rina.post("/complaints", data={"csrf_token": token, "account": "199912312022031999", "source": "public",
                                       "text": TEXT, "link": LINK})
    assert r.status_code == 400 and "tidak ada di daftar ASN" in r.text
    assert rina.post("/complaints", data={"account": NIP, "source": "public", "text": TEXT, "link": LINK},
                     follow_redirects=False).status_code == 403  # no CSRF token
    ana = _client(web, "ana")
    assert ana.get("/complaints", follow_redirects=False).status_code == 403
    with web.factory() as s:
        assert s.scalar(select(func.count()).select_from(Complaint)) == 0
    admin = _client(web, "adi")  # admins record complaints but do not review: back to the list
    r = admin.post("/complaints", data={"csrf_token": _form(admin), "account": NIP, "source": "superior",
                                        "text": TEXT, "link": LINK}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/complaints"


def test_roster_page_shows_fields_and_admin_deactivates(web: Env) -> None:
    with web.factory() as s:
        budi = s.scalars(select(Account).where(Account.nip == NIP)).one()
        budi.employment_type, budi.rank_grade, budi.ppk = "pppk", "Golongan IX", "Wali Kota <i>Malang</i>"
        s.commit()
    sari = _client(web, "sari")
    page = sari.get("/roster").text
    assert "PPPK" in page and "Golongan IX" in page and "Wali Kota &lt;i&gt;Malang&lt;/i&gt;" in page
    assert "/deactivate" not in page  # supervisors read the roster; only admins change it
    assert _client(web, "rina").get("/roster", follow_redirects=False).status_code == 403
    admin = _client(web, "adi")
    token = _form(admin, "/roster")
    account_id = web.ids["account"]
    r = admin.post(f"/roster/{account_id}/deactivate", data={"csrf_token": token, "reason": "x"})
    assert "alasan" in r.text
    r = admin.post(f"/roster/{account_id}/deactivate", data={"csrf_token": token,
                                                             "reason": "Pindah ke Kabupaten Malang"},
                   follow_redirects=False)
    assert r.status_code == 303
    assert sari.post(f"/roster/{account_id}/reactivate", data={"csrf_token": _form(sari, "/roster"),
                                                                "reason": "Coba aktifkan kembali"},
                     follow_redirects=False).status_code == 403
    with web.factory() as s:
        budi = s.get(Account, account_id)
        assert budi is not None and not budi.active
        flag_page = _client(web, "rina").get(f"/flags/{web.ids['flag']}").text
        assert "dinonaktifkan dari daftar ASN" in flag_page and "Pindah ke Kabupaten Malang" in flag_page
        assert "Golongan IX" in flag_page and "NI PPPK" in flag_page


# --- API and CLI: the same service ------------------------------------------------------------------

def test_api_records_complaints_for_staff_tokens_only(web: Env) -> None:
    with web.factory() as s:
        _, reviewer_token = user_service.create_api_token(s, _user(s, web.ids, "rina"), "aplikasi-pengaduan",
                                                          actor=None)
        _, analyst_token = user_service.create_api_token(s, _user(s, web.ids, "ana"), "perayap", actor=None)
        s.commit()
    client = TestClient(create_app(web.settings))
    body = {"account": NIP, "source": "public", "text": TEXT, "link": LINK,
            "screenshot_base64": base64.b64encode(png_bytes()).decode()}
    r = client.post("/api/complaints", json=body, headers={"Authorization": f"Bearer {reviewer_token}"})
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["status"] == "pending" and out["screenshot_sha256"] == hashlib.sha256(png_bytes()).hexdigest()
    assert client.post("/api/complaints", json=body,
                       headers={"Authorization": f"Bearer {analyst_token}"}).status_code == 403
    assert client.post("/api/complaints", json=body).status_code == 401
    r = client.post("/api/complaints", json={**body, "account": "199912312022031999"},
                    headers={"Authorization": f"Bearer {reviewer_token}"})
    assert r.status_code == 400 and "daftar ASN" in r.json()["detail"]
    for bad in ({**body, "screenshot_base64": "bukan base64!"}, {**body, "extra": 1}, {**body, "text": 5}, [body]):
        r = client.post("/api/complaints", json=bad, headers={"Authorization": f"Bearer {reviewer_token}"})
        assert r.status_code == 422, (bad, r.text)
    with web.factory() as s:
        assert s.scalar(select(func.count()).select_from(Complaint)) == 1
        assert s.scalars(select(Complaint)).one().flag_id == out["flag_id"]


def test_cli_complaint_add_and_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from netral.cli import app
    from netral.db.engine import clear_engines
    from netral.settings import get_settings

    monkeypatch.setenv("NETRAL_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("NETRAL_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    clear_engines()
    runner = CliRunner()
    try:
        assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
        seed_basic(factory_for(get_settings().db_url))
        shot = tmp_path / "bukti.jpg"
        shot.write_bytes(png_bytes())  # a PNG named .jpg: the content decides
        args = ["complaint", "add", "--account", NIP, "--source", "public", "--link", LINK, "--screenshot",
                str(shot), "--text", TEXT, "--by", "rina", "--posted-at", "2024-11-10T14:30"]
        done = runner.invoke(app, args)
        assert done.exit_code == 0, done.output
        assert re.search(r"Pengaduan #1 dicatat: indikasi #\d+ menunggu tinjauan", done.output)
        assert hashlib.sha256(png_bytes()).hexdigest() in done.output
        refused = runner.invoke(app, [*args[:3], "199912312022031999", *args[4:]])
        assert refused.exit_code == 1 and "tidak ada di daftar ASN" in refused.output
        analyst = runner.invoke(app, [*args[:-4], "--by", "ana"])
        assert analyst.exit_code == 1 and "tidak boleh" in analyst.output
        listing = runner.invoke(app, ["complaint", "list", "--by", "sari"])
        assert listing.exit_code == 0 and "pending" in listing.output and NIP in listing.output
        with factory_for(get_settings().db_url)() as s:
            complaint = s.scalars(select(Complaint)).one()
            assert complaint.screenshot_type == "image/png" and complaint.recorder.username == "rina"
    finally:
        get_settings.cache_clear()
        clear_engines()


# --- retention and the person's data export -----------------------------------------------------------

def test_dismissed_complaints_are_purged_with_their_rows_and_unshared_screenshots(env: Env) -> None:
    from datetime import timedelta

    from netral.db.types import utcnow
    from netral.review import retention

    shot_x, shot_y = png_bytes(2, 2), png_bytes(3, 3)
    with env.factory() as s:
        old = {"posted_at": utcnow() - timedelta(days=1000), "received_at": utcnow() - timedelta(days=999)}
        c1 = _record(s, env, screenshot=shot_x, **old)
        c2 = _record(s, env, screenshot=shot_y, **old)
        c3 = _record(s, env, screenshot=shot_y, **old)  # stays pending: keeps its post, row and file
        rina = _user(s, env.ids, "rina")
        for complaint in (c1, c2):
            queue.claim(s, complaint.flag_id, rina, env.settings)
            decisions.dismiss(s, complaint.flag_id, rina, reason="Bukan dukungan, hanya berita.")
        s.commit()
        ids = {name: (c.id, c.post_id, c.flag_id) for name, c in (("c1", c1), ("c2", c2), ("c3", c3))}
    root = env.settings.attachments_dir
    path_x = root / hashlib.sha256(shot_x).hexdigest()[:2] / hashlib.sha256(shot_x).hexdigest()
    path_y = root / hashlib.sha256(shot_y).hexdigest()[:2] / hashlib.sha256(shot_y).hexdigest()
    assert path_x.is_file() and path_y.is_file()
    result = retention.purge(env.factory, env.settings, [], now=utcnow() + timedelta(days=800))
    assert result.by_class == {"dismissed": 2}
    with env.factory() as s:
        for name in ("c1", "c2"):
            complaint_id, post_id, flag_id = ids[name]
            assert s.get(Complaint, complaint_id) is None and s.get(Post, post_id) is None
            assert s.get(Flag, flag_id) is None
            record = s.scalars(select(AuditRecord).where(AuditRecord.action == "post.purge",
                                                         AuditRecord.entity_id == str(post_id))).one()
            assert record.before["kind"] == "complaint"  # type: ignore[index]
            assert record.before["complaint"]["id"] == complaint_id  # type: ignore[index]
        assert s.get(Complaint, ids["c3"][0]) is not None and s.get(Flag, env.ids["flag"]) is not None
        assert audit.verify_chain(s) == []
    assert not path_x.exists()  # nobody refers to it any more
    assert path_y.is_file()  # the pending complaint still does
    # The purge's permit is the only way: a plain delete of the remaining complaint is still refused.
    with env.factory() as s, pytest.raises(DBAPIError):
        s.execute(text(f"DELETE FROM complaints WHERE id = {ids['c3'][0]}"))
        s.commit()


def test_privacy_export_lists_complaints_and_finds_non_asn_staff(env: Env) -> None:
    import json

    from netral.review import privacy

    with env.factory() as s:
        complaint = _record(s, env)
        s.add(Account(employee_number="PPNPN-9", employment_type="non_asn", name="Ani", unit="Kelurahan"))
        s.commit()
        admin = _user(s, env.ids, "adi")
        made = privacy.export_person(s, NIP, actor=admin, reason="Permintaan akses subjek data no. 12/2026")
        document = json.loads(made.content)
        assert [c["id"] for c in document["complaints"]] == [complaint.id] and made.counts["complaints"] == 1
        assert document["complaints"][0]["recorded_by_username"] == "rina"
        assert any(a["action"] == "complaint.record" for a in document["audit"])
        staff = privacy.export_person(s, "PPNPN-9", actor=admin, reason="Permintaan akses subjek data no. 13/2026")
        assert staff.nip == "PPNPN-9" and json.loads(staff.content)["account"]["employment_type"] == "non_asn"
        s.commit()


def test_reports_issued_before_the_roster_fields_still_verify(env: Env) -> None:
    """report.html gained the roster fields and the complaint section; a report issued with its earlier
    contents (frozen as report_v3.html) must still re-render to the bytes whose hash was stored."""
    with env.factory() as s:
        rina, sari, tono = (_user(s, env.ids, name) for name in ("rina", "sari", "tono"))
        queue.claim(s, env.ids["flag"], rina, env.settings)
        decisions.confirm(s, env.ids["flag"], rina, category="SUPPORT", behaviour="kampanye_daring", reason=REASON,
                          settings=env.settings)
        decisions.verify(s, env.ids["flag"], sari, reason="Benar, dukungan terbuka.")
        rendered = reports.create_report(s, env.ids["flag"], tono)
        s.commit()
        issued = rendered.report
        assert "Pangkat/golongan" in rendered.html and "Jenis kepegawaian" in rendered.html
        context = reports.build_context(s.get(Flag, env.ids["flag"]), number=issued.number,  # type: ignore[arg-type]
                                        created_at=issued.created_at, created_by=tono, issued_with=issued.issued_with)
        earlier = reports.render_html(context, "report_v3.html")
        assert earlier != rendered.html and "Pangkat/golongan" not in earlier
        as_issued_then = Report(flag_id=issued.flag_id, number=issued.number, created_by=issued.created_by,
                                created_at=issued.created_at, content_sha256=reports.sha256_text(earlier),
                                issued_with=issued.issued_with)
        assert reports.render_existing(s, as_issued_then) == earlier
        assert reports.render_existing(s, issued) == rendered.html
