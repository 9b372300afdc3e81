"""End to end in headless Chromium: reviewer confirms, supervisor verifies and issues the report.

Also saves the screenshots used in the docs (docs/screenshots/queue.png and flag_page.png).
"""

from __future__ import annotations

import re
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from webutil import PASSWORD, add_account, add_flag, add_user, factory_for, settings_for, sqlite_url

from netral.serve.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
NIP = "198501012010011001"
HOSTILE = ("Ayo dukung paslon 02 Andi-Budi! <script>alert(1)</script> <img src=x onerror=alert(2)>\n"
           "Kita semua wajib coblos nomor 2 tanggal 27 November. #AndiBudiMenang")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed (/usr/bin/chromium missing); "
                                                     "apt-get install -y chromium chromium-driver"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _seed(url: str) -> int:
    factory = factory_for(url)
    with factory() as s:
        add_user(s, "rina", "reviewer", "Rina Wulandari")
        add_user(s, "sari", "supervisor", "Sari Dewanti")
        budi = add_account(s)
        main = add_flag(s, budi, text=HOSTILE, score=0.962)
        others = [
            ("199003152015031002", "Agus Prasetyo", "Badan Perencanaan Pembangunan Daerah", "agus_p",
             "Semangat pagi! Jangan lupa hadir di deklarasi relawan Andi-Budi di lapangan kota!", 0.914),
            ("198807202012122001", "Dewi Anggraini", "Dinas Kesehatan", "dewi.ang",
             "Tahun depan pilih yang sudah terbukti kerjanya ya, bapak ibu. #LanjutkanAndi", 0.873),
            ("199112012019031003", "Rizky Maulana", "Sekretariat Daerah", "rizkym",
             "Berita: KPU tetapkan nomor urut pasangan calon Pilkada 2024. Simak jadwal debatnya.", 0.741),
            ("198511112010011004", "Hendra Gunawan", "Dinas Pekerjaan Umum", "hendra_g",
             "Foto bareng tim pemenangan tadi malam, salam dua jari!", 0.812),
        ]
        for i, (nip, name, unit, handle, text, score) in enumerate(others):
            acc = add_account(s, nip=nip, name=name, unit=unit, handle=handle, position="Analis Kebijakan")
            add_flag(s, acc, post_id=str(2000 + i), text=text, score=score,
                     url=f"https://twitter.com/{handle}/status/{2000 + i}",
                     created_at=datetime(2024, 10, 14, 9, 15, tzinfo=UTC) + timedelta(days=7 * i + i))
        s.commit()
        flag_id = main.id
    factory.kw["bind"].dispose()
    return flag_id


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, int]]:
    url = sqlite_url(tmp_path)
    flag_id = _seed(url)
    app = create_app(settings_for(url, tmp_path, login_max_attempts=5))
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 15
    while not srv.started:
        if time.time() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", flag_id
    srv.should_exit = True
    thread.join(timeout=10)


def _pdf_text(data: bytes) -> bytes:
    """Raw PDF plus every inflated stream (metadata lives in compressed object streams)."""
    out = [data]
    for match in re.finditer(rb"stream\r?\n(.*?)endstream", data, re.S):
        try:
            out.append(zlib.decompressobj().decompress(match.group(1)))
        except zlib.error:
            continue
    return b"\n".join(out)


def test_review_to_report_in_chromium(server: tuple[str, int], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    base, flag_id = server
    SHOTS.mkdir(parents=True, exist_ok=True)
    dialogs: list[str] = []
    csp_errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        context = browser.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True,
                                      locale="id-ID")
        page = context.new_page()
        page.set_default_timeout(20_000)

        def on_dialog(dialog) -> None:  # type: ignore[no-untyped-def]
            dialogs.append(dialog.message)
            dialog.accept()

        page.on("dialog", on_dialog)
        page.on("console", lambda msg: csp_errors.append(msg.text) if "Content Security Policy" in msg.text
                else None)

        # Reviewer: log in, see the queue, claim and confirm.
        page.goto(f"{base}/login")
        page.fill("input[name=username]", "rina")
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('Masuk')")
        page.wait_for_url(f"{base}/queue")
        assert page.locator("table.queue-table tbody tr").count() == 5
        assert "<script>alert(1)</script>" in page.locator("table.queue-table").inner_text()  # shown as text
        page.screenshot(path=str(SHOTS / "queue.png"), full_page=True)

        page.locator(f"form[action='/flags/{flag_id}/claim'] button").click()
        page.wait_for_url(f"{base}/flags/{flag_id}")
        post_text = page.locator(".post-text")
        assert "<img src=x onerror=alert(2)>" in post_text.inner_text()
        assert post_text.locator("script, img").count() == 0
        assert post_text.locator("mark.ev").count() >= 2
        page.screenshot(path=str(SHOTS / "flag_page.png"), full_page=True)

        page.select_option("select[name=category]", "SOLICITATION")
        page.select_option("select[name=behaviour]", "ajakan_berpihak")
        page.fill("textarea[name=reason]", "Unggahan mengajak publik mencoblos paslon nomor 2 secara terbuka.")
        page.click("button:has-text('Konfirmasi dugaan')")
        page.wait_for_url(f"{base}/queue")
        assert "menunggu verifikasi" in page.locator(".alert-success").inner_text()
        page.click("button:has-text('Keluar')")
        page.wait_for_url(re.compile(r".*/login.*"))

        # Supervisor: second review, then the report.
        page.fill("input[name=username]", "sari")
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('Masuk')")
        page.wait_for_url(f"{base}/queue")
        page.click("nav >> text=Tinjauan kedua")
        page.click(f"a[href='/flags/{flag_id}']")
        page.fill("textarea[name=reason]", "Setuju: ajakan memilih yang eksplisit, sesuai pedoman SKB.")
        page.click("button:has-text('Verifikasi')")
        page.wait_for_selector("button:has-text('Terbitkan laporan')")
        page.click("button:has-text('Terbitkan laporan')")
        page.wait_for_url(re.compile(rf"{re.escape(base)}/reports/\d+$"))
        number = page.locator("h1").inner_text().replace("Laporan ", "").strip()
        assert re.fullmatch(r"NTR/\d{4}/\d{6}", number)
        assert "Cocok dengan sidik saat terbit" in page.content()
        page.screenshot(path=str(SHOTS / "report.png"), full_page=False)

        with page.expect_download() as info:
            page.click("a:has-text('Unduh PDF')")
        pdf_path = tmp_path / "laporan.pdf"
        info.value.save_as(pdf_path)
        data = pdf_path.read_bytes()
        assert data.startswith(b"%PDF")
        text = _pdf_text(data)
        assert NIP.encode() in text and number.encode() in text

        page.goto(f"{base}/dashboard")
        assert page.locator("svg.chart").count() == 2
        page.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)
        browser.close()

    # The only dialog was our own confirmation; nothing from the post ran.
    assert dialogs == ["Terbitkan laporan resmi untuk indikasi ini?"], dialogs
    assert not csp_errors, csp_errors
