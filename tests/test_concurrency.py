"""Concurrent writers beyond the audit chain (issue 11, items 6 and 7): report numbers, the PDF outside
the audit lock, one scan at a time, and WeasyPrint fetching nothing.

Data-layer tests run on SQLite always and on PostgreSQL when NETRAL_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import http.server
import re
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from webutil import add_account, add_flag, add_user

from netral import audit
from netral.db.schema import Report, User
from netral.review import decisions, queue, reports
from netral.review.errors import ReviewError
from netral.settings import Settings

REASON = "Unggahan mengajak memilih paslon nomor 2 secara terbuka."


def _verified_flags(factory: sessionmaker[Session], n: int) -> tuple[list[int], int]:
    settings = Settings()
    with factory() as s:
        rina = add_user(s, "rina", "reviewer")
        sari = add_user(s, "sari", "supervisor")
        tono = add_user(s, "tono", "supervisor")
        account = add_account(s)
        flag_ids = [add_flag(s, account, post_id=str(9000 + k), text=f"post {k}").id for k in range(n)]
        s.commit()
        for fid in flag_ids:
            queue.claim(s, fid, rina, settings)
            decisions.confirm(s, fid, rina, category="SUPPORT", behaviour="kampanye_daring", reason=REASON,
                              settings=settings)
            decisions.verify(s, fid, sari, reason="Setuju, ajakan memilih yang jelas.")
            s.commit()
        return flag_ids, tono.id


def test_concurrent_reports_get_distinct_numbers(factory: sessionmaker[Session]) -> None:
    """Finding 11: two reports issued at once on PostgreSQL gave one number and one IntegrityError."""
    flag_ids, tono_id = _verified_flags(factory, 6)
    barrier = threading.Barrier(len(flag_ids))
    numbers: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def issue(fid: int) -> None:
        with factory() as s:
            user = s.get(User, tono_id)
            assert user is not None
            barrier.wait(timeout=30)
            try:
                rendered = reports.create_report(s, fid, user)
                s.commit()
                with lock:
                    numbers.append(rendered.report.number)
            except BaseException as exc:  # noqa: BLE001 - asserted below
                s.rollback()
                with lock:
                    errors.append(exc)

    threads = [threading.Thread(target=issue, args=(fid,)) for fid in flag_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert len(numbers) == len(set(numbers)) == len(flag_ids)
    assert sorted(int(n.rsplit("/", 1)[1]) for n in numbers) == list(range(1, len(flag_ids) + 1))
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Report)) == len(flag_ids)
        assert audit.verify_chain(s) == []


def test_pdf_is_rendered_outside_the_audit_lock(factory: sessionmaker[Session],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Finding 12: while a PDF renders, another writer appends to the audit chain without waiting."""
    flag_ids, tono_id = _verified_flags(factory, 1)
    appended = threading.Event()

    def other_writer() -> None:
        with factory() as s:
            audit.append(s, actor="rina", action="auth.login", entity="user", entity_id=1)
            s.commit()
        appended.set()

    def slow_render(html: str, **_kwargs: object) -> bytes:
        t = threading.Thread(target=other_writer)
        t.start()
        t.join(timeout=10)
        assert appended.is_set(), "an audit append waited for the PDF rendering"
        return b"%PDF-fake"

    monkeypatch.setattr(reports, "render_pdf", slow_render)
    with factory() as s:
        user = s.get(User, tono_id)
        assert user is not None
        rendered = reports.create_report(s, flag_ids[0], user)
        s.commit()
    assert reports.with_pdf(rendered).pdf == b"%PDF-fake"
    with factory() as s:
        assert audit.verify_chain(s) == []


def test_second_report_of_the_same_flag_is_a_message_not_an_error(factory: sessionmaker[Session]) -> None:
    flag_ids, tono_id = _verified_flags(factory, 1)
    with factory() as s:
        user = s.get(User, tono_id)
        assert user is not None
        reports.create_report(s, flag_ids[0], user)
        s.commit()
        with pytest.raises(ReviewError):
            reports.create_report(s, flag_ids[0], user)


# --- one scan at a time -----------------------------------------------------------------------------

def test_second_scan_stops_with_a_message_or_waits(db_url: str) -> None:
    from netral.db.engine import make_engine
    from netral.pipeline.joblock import JobBusy, exclusive

    engine = make_engine(db_url)
    other = make_engine(db_url)  # another process would have its own engine and connections
    try:
        with exclusive(engine, "scan"):
            with pytest.raises(JobBusy, match="sedang berjalan"), exclusive(other, "scan"):
                pass
            with exclusive(other, "ingest"):  # a different job is not blocked
                pass
            released = threading.Event()
            waited = threading.Event()

            def waiter() -> None:
                with exclusive(other, "scan", wait=True):
                    assert released.is_set()
                    waited.set()

            t = threading.Thread(target=waiter)
            t.start()
            t.join(timeout=0.5)
            assert not waited.is_set()
            released.set()
        t.join(timeout=30)
        assert waited.is_set()
        with exclusive(other, "scan"):  # free again
            pass
    finally:
        engine.dispose()
        other.dispose()


def test_scan_lock_dies_with_its_process(tmp_path: Path) -> None:
    """A kill -9 must not leave a lock that blocks every later scan."""
    import subprocess
    import sys

    from netral.db.engine import make_engine, upgrade
    from netral.pipeline.joblock import exclusive

    url = f"sqlite:///{tmp_path / 'netral.db'}"
    upgrade(url)
    code = ("import time\nfrom netral.db.engine import make_engine\n"
            "from netral.pipeline.joblock import exclusive\n"
            f"with exclusive(make_engine({url!r}), 'scan'):\n    print('held', flush=True)\n    time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        from netral.pipeline.joblock import JobBusy

        with pytest.raises(JobBusy, match=re.escape(f"proses {proc.pid}")), exclusive(make_engine(url), "scan"):
            pass
        proc.kill()
        proc.wait(timeout=10)
        with exclusive(make_engine(url), "scan"):
            pass
    finally:
        if proc.poll() is None:
            proc.kill()


# --- WeasyPrint fetches nothing ---------------------------------------------------------------------

def test_pdf_rendering_fetches_no_url(tmp_path: Path) -> None:
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    secret = tmp_path / "rahasia.css"
    secret.write_text("body { background: red }")
    base = f"http://127.0.0.1:{server.server_address[1]}"
    html = (f'<html><head><link rel="stylesheet" href="{base}/gaya.css">'
            f'<link rel="stylesheet" href="file://{secret}"></head>'
            f'<body><p>uji</p><img src="{base}/gambar.png"><img src="file:///etc/hostname">'
            f'<div style="background: url({base}/latar.png)">x</div></body></html>')
    try:
        pdf = reports.render_pdf(html)
    finally:
        server.shutdown()
    assert pdf.startswith(b"%PDF")
    assert hits == []
    with pytest.raises(ValueError):
        reports.refuse_fetch("https://example.org/x.png")


def test_concurrent_api_pushes_of_the_same_posts_store_each_once(db_url: str, tmp_path: Path) -> None:
    """No IntegrityError reaches a client: the post a concurrent request stored first is a duplicate."""
    from fastapi.testclient import TestClient
    from webutil import factory_for, settings_for

    from netral.db.schema import Post
    from netral.pipeline.roster import import_roster
    from netral.review import users as user_service
    from netral.serve.app import create_app

    samples = Path(__file__).resolve().parents[1] / "data" / "samples"
    factory = factory_for(db_url)
    with factory() as s:
        import_roster(s, samples / "roster.csv")
        analyst = user_service.create_user(s, username="pengirim", role="analyst", password="kiriman-data-resmi-7")
        _, token = user_service.create_api_token(s, analyst, "uji", actor=None)
        s.commit()
    app = create_app(settings_for(db_url, tmp_path))
    body = [{"platform": "twitter", "post_id": str(i), "author": "@budi_guru85", "text": f"post {i}",
             "created_at": "2024-01-08T07:15:00+07:00"} for i in range(40)]
    barrier = threading.Barrier(4)
    answers: list[tuple[int, int]] = []
    lock = threading.Lock()

    def push() -> None:
        client = TestClient(app, raise_server_exceptions=False)
        barrier.wait(timeout=30)
        r = client.post("/api/posts", json=body, headers={"Authorization": f"Bearer {token}"})
        with lock:
            answers.append((r.status_code, r.json().get("stored", -1) if r.status_code == 200 else -1))

    threads = [threading.Thread(target=push) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert [code for code, _ in answers] == [200] * 4, answers
    assert sum(stored for _, stored in answers) == 40
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Post)) == 40
    factory.kw["bind"].dispose()
