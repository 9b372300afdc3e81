"""The report document: letterhead configuration (and its errors), the election's own time zone, the
corrected legal text, and the stored setup that keeps an issued report byte-identical."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from webutil import factory_for, login, seed_basic, settings_for, write_election

from netral.db.schema import Flag, Report, User
from netral.localtime import WIB, WIT, WITA, abbreviation, zone
from netral.review import decisions, present, queue, reports
from netral.review.errors import ReviewError
from netral.review.legal_basis import BEHAVIOUR_TRACKS
from netral.review.letterhead import LetterheadError, load_letterhead
from netral.settings import DEFAULT_LETTERHEAD, Settings
from netral.vocabulary import Behaviour

REASON = "Unggahan mengajak memilih paslon nomor 2 secara terbuka."
LETTERHEAD = """\
institution:
  lines: [PEMERINTAH KOTA CONTOH, INSPEKTORAT DAERAH]
  address: "Jl. Contoh No. 1, Kota Contoh"
  contact: "Telepon (0000) 123456"
  {logo}
addressee:
  to: "Yth. Wali Kota Contoh selaku Pejabat Pembina Kepegawaian"
  copies: ["Ketua Bawaslu Kota Contoh"]
place: Kota Contoh
signatories:
  - heading: "Mengetahui,"
    position: "Inspektur Daerah Kota Contoh"
    name: "Dra. Contoh Pejabat, M.Si."
    nip: "1970 0101 199503 1 001"
    rank: "Pembina Utama Muda (IV/c)"
  - position: "Inspektur Pembantu Wilayah I"
    name: "Contoh Kedua, S.H."
"""


def _png(path: Path) -> Path:
    Image.new("RGB", (8, 8), (31, 58, 95)).save(path, format="PNG")
    return path


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> Iterator[tuple[sessionmaker[Session], Settings, dict[str, int], Path]]:
    """A verified flag (confirmed by rina, verified by sari) in a WITA Pilkada, and a letterhead with a logo."""
    factory = factory_for(db_url)
    elections = tmp_path / "elections"
    write_election(elections, "pilkada-2024-contoh", "Asia/Makassar")
    _png(tmp_path / "logo.png")
    letterhead = tmp_path / "kop.yaml"
    letterhead.write_text(LETTERHEAD.format(logo="logo: logo.png"), encoding="utf-8")
    settings = settings_for(db_url, tmp_path, elections_dir=elections, report_letterhead=letterhead)
    ids = seed_basic(factory)
    with factory() as s:
        rina, sari = s.get(User, ids["rina"]), s.get(User, ids["sari"])
        assert rina is not None and sari is not None
        queue.claim(s, ids["flag"], rina, settings)
        decisions.confirm(s, ids["flag"], rina, category="SOLICITATION", behaviour="ajakan_berpihak",
                          reason=REASON, settings=settings)
        decisions.verify(s, ids["flag"], sari, reason="Setuju: ajakan memilih yang jelas.")
        s.commit()
    yield factory, settings, ids, letterhead
    factory.kw["bind"].dispose()


def _issue(factory: sessionmaker[Session], ids: dict[str, int], settings: Settings | None) -> reports.RenderedReport:
    with factory() as s:
        tono = s.get(User, ids["tono"])
        assert tono is not None
        rendered = reports.create_report(s, ids["flag"], tono, settings=settings)
        s.commit()
        return rendered


# --- time zones -------------------------------------------------------------------------------------------

def test_indonesian_zones_and_their_abbreviations() -> None:
    moment = dt.datetime(2024, 11, 10, 7, 30, tzinfo=dt.UTC)
    assert present.fmt_dt(moment) == "10 November 2024 14.30 WIB"
    assert present.fmt_dt(moment, tz="Asia/Makassar") == "10 November 2024 15.30 WITA"
    assert present.fmt_dt(moment, tz="Asia/Jayapura", seconds=True) == "10 November 2024 16.30.00 WIT"
    assert present.fmt_dt(moment, tz="Asia/Pontianak").endswith("14.30 WIB")
    assert present.fmt_date(dt.datetime(2024, 10, 31, 16, 30, tzinfo=dt.UTC), tz="Asia/Makassar") == "1 November 2024"
    assert abbreviation(moment.astimezone(zone("Europe/Berlin"))) == "UTC+01:00"
    assert zone("Not/AZone") is WIB  # an unknown name never breaks a page
    assert zone(WITA) is WITA and WIT.utcoffset(None) == dt.timedelta(hours=9)


def test_report_and_flag_page_use_the_elections_zone(env) -> None:  # type: ignore[no-untyped-def]
    factory, settings, ids, _ = env
    html = _issue(factory, ids, settings).html
    # The post was made at 07.30 UTC on 10 November 2024: 15.30 in Makassar.
    assert "10 November 2024 15.30.00 WITA" in html
    assert " WIB" not in html
    from fastapi.testclient import TestClient

    from netral.serve.app import create_app

    client = TestClient(create_app(settings))
    login(client, "rina")
    page = client.get(f"/flags/{ids['flag']}").text
    assert "10 November 2024 15.30 WITA" in page and "Asia/Makassar" in page
    assert " WIB<" not in page and " WIB " not in page


# --- legal text ---------------------------------------------------------------------------------------------

CORRECTED = (
    "tidak mengenal tingkat ringan",
    "angka 1 dan 2 diancam hukuman\n    disiplin <em>sedang</em>, angka 3 sampai 7 hukuman disiplin <em>berat</em> "
    "(Pasal 14 huruf i)",
    "pemotongan tunjangan kinerja sebesar 25% selama 6, 9,\n    atau 12 bulan",
    "penurunan jabatan setingkat lebih rendah selama\n    12 bulan",
    "pembebasan dari jabatannya menjadi jabatan pelaksana selama 12 bulan",
    "pemberhentian dengan\n    hormat tidak atas permintaan sendiri sebagai PNS",
    "<em>diberhentikan tidak dengan hormat</em> (Pasal 52 ayat (3) huruf j dan ayat (4))",
    "bukan hukuman disiplin PP 94/2021",
    "diperiksa oleh Majelis Kode Etik, bukan melalui pemeriksaan disiplin PP 94/2021",
    "pernyataan secara tertutup atau pernyataan secara terbuka (Pasal 15)",
    "Nomor 2 Tahun 2022, Nomor 800-5474 Tahun 2022, Nomor 246 Tahun 2022, Nomor 30 Tahun 2022, dan Nomor\n"
    "    1447.1/PM.01/K.1/09/2022",
    "Surat Edaran Menteri PANRB Nomor 1 Tahun 2023",
    "Perpres Nomor 91 dan 92 Tahun 2024",
)


def test_report_states_the_corrected_legal_text(env) -> None:  # type: ignore[no-untyped-def]
    factory, settings, ids, _ = env
    html = _issue(factory, ids, settings).html
    for needle in CORRECTED:
        assert needle in html, needle
    # A Pilkada: Bawaslu's track under UU 10/2016, not the Pemilu law.
    for needle in ("UU Nomor 10 Tahun 2016", "(Pasal 70 ayat (1))", "Pasal 189", "(Pasal 71 ayat (1))",
                   "(Pasal 188)", "paling sedikit Rp600.000,00 atau paling banyak Rp6.000.000,00"):
        assert needle in html, needle
    assert "UU Nomor 7 Tahun 2017" not in html and "Pasal 494" not in html
    # The behaviour of this case (ajakan) and what it may lead to.
    assert "Pasal 5 huruf n angka 6 jo. Pasal 14 huruf i" in html
    # The wording the issue found wrong is gone: dismissal for party membership was attributed to PP 94/2021.
    assert "berujung pada pemberhentian" not in html
    assert "belum terkonfirmasi" not in html  # marks stay in the template source, not in the letter


def test_pemilu_report_cites_uu_7_2017(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    factory, settings, ids, _ = env
    write_election(settings.elections_dir, "pilkada-2024-contoh", "Asia/Jakarta", kind="pilpres")
    html = _issue(factory, ids, settings).html
    for needle in ("UU Nomor 7 Tahun 2017", "(Pasal 280 ayat (2) huruf f)", "(Pasal 280 ayat (3))",
                   "paling lama 1 tahun dan denda paling banyak Rp12.000.000,00 (Pasal 494)"):
        assert needle in html, needle
    assert "UU Nomor 10 Tahun 2016" not in html and "WIB" in html


def test_every_behaviour_has_a_stated_track() -> None:
    assert set(BEHAVIOUR_TRACKS) == set(Behaviour.values())
    for value, track in BEHAVIOUR_TRACKS.items():
        assert track.ethics or track.discipline or track.note, value
    assert BEHAVIOUR_TRACKS[Behaviour.KEANGGOTAAN_PARTAI].discipline is None  # not a PP 94/2021 sanction
    assert "UU 20/2023 Pasal 52" in BEHAVIOUR_TRACKS[Behaviour.KEANGGOTAAN_PARTAI].note
    assert "angka 4" in (BEHAVIOUR_TRACKS[Behaviour.FASILITAS_NEGARA].discipline or "")
    assert not any("ringan" in (t.discipline or "") for t in BEHAVIOUR_TRACKS.values())


# --- letterhead -----------------------------------------------------------------------------------------------

def test_letterhead_signatories_and_logo_in_html_and_pdf(env) -> None:  # type: ignore[no-untyped-def]
    factory, settings, ids, _ = env
    rendered = reports.with_pdf(_issue(factory, ids, settings))
    html = rendered.html
    for needle in ("PEMERINTAH KOTA CONTOH", "INSPEKTORAT DAERAH", "Jl. Contoh No. 1, Kota Contoh",
                   "Yth. Wali Kota Contoh selaku Pejabat Pembina Kepegawaian", "Mengetahui,",
                   "Inspektur Daerah Kota Contoh", "Dra. Contoh Pejabat, M.Si.", "NIP. 197001011995031001",
                   "Pembina Utama Muda (IV/c)", "Inspektur Pembantu Wilayah I", "Ketua Bawaslu Kota Contoh",
                   "Kota Contoh, "):
        assert needle in html, needle
    assert re.search(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]+" alt="Logo instansi">', html)
    assert rendered.pdf.startswith(b"%PDF") and b"/Subtype /Image" in rendered.pdf  # the logo was decoded


def test_issued_report_keeps_its_letterhead_after_the_file_changes(env) -> None:  # type: ignore[no-untyped-def]
    factory, settings, ids, letterhead = env
    rendered = _issue(factory, ids, settings)
    letterhead.write_text(LETTERHEAD.format(logo="").replace("Dra. Contoh Pejabat", "Pejabat Baru"), encoding="utf-8")
    write_election(settings.elections_dir, "pilkada-2024-contoh", "Asia/Jayapura")
    with factory() as s:
        report = s.get(Report, rendered.report.id)
        assert report is not None and report.issued_with["timezone"] == "Asia/Makassar"  # type: ignore[index]
        again = reports.render_existing(s, report)
        assert again == rendered.html and "Pejabat Baru" not in again
        assert reports.load_html(s, settings, report).intact


def test_report_issued_before_the_letterhead_renders_with_its_own_template(env) -> None:  # type: ignore[no-untyped-def]
    factory, settings, ids, _ = env
    at = dt.datetime(2025, 1, 2, tzinfo=dt.UTC)
    with factory() as s:
        flag = s.get(Flag, ids["flag"])
        tono = s.get(User, ids["tono"])
        assert flag is not None and tono is not None
        context = reports.build_context(flag, number="NTR/2025/000001", created_at=at, created_by=tono)
        v1, v2 = (reports.render_html(context, name) for name in ("report_v1.html", "report_v2.html"))
        assert v1 != v2 and "Supervisor (verifikator)" in v1 and "Indikasi dibuat pada" in v2
        # A row as the code before migration 0012 wrote it: no issued_with, the hash of what it rendered then.
        s.execute(text("INSERT INTO reports (flag_id, number, created_by, created_at, content_sha256) "
                       "VALUES (:f, 'NTR/2025/000001', :u, :at, :h)"),
                  {"f": ids["flag"], "u": ids["tono"], "at": at, "h": reports.sha256_text(v1)})
        s.commit()
        report = s.query(Report).one()
        assert report.issued_with is None
        assert reports.render_existing(s, report) == v1  # the legacy template whose output has that hash
        assert reports.load_html(s, settings, report).intact
    assert "Keanggotaan atau kepengurusan partai\n    politik berujung pada pemberhentian" in v1  # the old text
    assert "INSPEKTORAT DAERAH" not in v1 and "WIB" in v1


@pytest.mark.parametrize("content,field", [
    (LETTERHEAD.format(logo="").replace('nip: "1970 0101 199503 1 001"', 'nip: "19700101"'), "signatories.0.nip"),
    (LETTERHEAD.format(logo="").replace("place: Kota Contoh\n", ""), "place"),
    (LETTERHEAD.format(logo="").replace("addressee:", "adressee:"), "adressee"),
    (LETTERHEAD.format(logo="logo: missing.png"), "institution.logo"),
    (LETTERHEAD.format(logo="logo: kop.yaml"), "institution.logo"),
    (LETTERHEAD.format(logo="").replace("lines: [PEMERINTAH", "lines: [' ', PEMERINTAH"), "institution.lines"),
    ("institution: [unclosed", "(yaml)"),
    ("- just\n- a list\n", "(root)"),
])
def test_letterhead_errors_name_the_file_and_the_field(tmp_path: Path, content: str, field: str) -> None:
    path = tmp_path / "kop.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(LetterheadError) as err:
        load_letterhead(path)
    message = str(err.value)
    assert message.startswith("kop.yaml: ") and f": {field}" in message, message


def test_letterhead_toml_missing_file_and_the_shipped_default(tmp_path: Path) -> None:
    path = tmp_path / "kop.toml"
    path.write_text('place = "Malang"\n[institution]\nlines = ["INSPEKTORAT DAERAH KOTA MALANG"]\naddress = "Jl. X"\n'
                    '[addressee]\nto = "Yth. Wali Kota Malang"\n[[signatories]]\nposition = "Inspektur"\n'
                    'name = "Nama"\nnip = "198501012010011001"\n', encoding="utf-8")
    values = load_letterhead(path)
    assert values["signatories"][0]["nip"] == "198501012010011001" and values["institution"]["logo"] is None
    with pytest.raises(LetterheadError, match=r"nope\.yaml: \(berkas\): berkas tidak ditemukan"):
        load_letterhead(tmp_path / "nope.yaml")
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG\r\n\x1a\n" + io.BytesIO(bytes(300 * 1024)).read())
    (tmp_path / "kop2.yaml").write_text(LETTERHEAD.format(logo="logo: big.png"), encoding="utf-8")
    with pytest.raises(LetterheadError, match="institution.logo: logo .* paling besar"):
        load_letterhead(tmp_path / "kop2.yaml")
    assert load_letterhead(DEFAULT_LETTERHEAD)["institution"]["lines"]  # the file in data/ is valid


def test_broken_letterhead_refuses_the_report_before_anything_changes(env) -> None:  # type: ignore[no-untyped-def]
    factory, settings, ids, letterhead = env
    letterhead.write_text(LETTERHEAD.format(logo="").replace('"1970 0101 199503 1 001"', '"123"'), encoding="utf-8")
    with factory() as s:
        tono = s.get(User, ids["tono"])
        assert tono is not None
        with pytest.raises(ReviewError) as err:
            reports.create_report(s, ids["flag"], tono, settings=settings)
        s.rollback()
        assert err.value.kind == "invalid"
        assert "kop.yaml: signatories.0.nip: " in err.value.message and "18 digit" in err.value.message
        flag = s.get(Flag, ids["flag"])
        assert flag is not None and flag.status == "verified"
        assert s.query(Report).count() == 0
