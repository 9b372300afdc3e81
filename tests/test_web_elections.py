"""Election configs in the web UI: the admin page, hot reload, escaping, and every matching contestant on a flag."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jinja2 import DictLoader, Environment
from sqlalchemy.orm import Session, sessionmaker
from webutil import add_account, add_flag, factory_for, login, seed_basic, settings_for, sqlite_url

from netral.review import present
from netral.review.present import span_matches
from netral.review.reports import TEMPLATES_DIR as TEMPLATES
from netral.serve.app import create_app
from netral.settings import REPO_ROOT, Settings

SHIPPED = REPO_ROOT / "data" / "elections"
RAW = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"

CONTOH = textwrap.dedent(
    """\
    id: pilkada-contoh-2024
    name: Pilkada Contoh 2024
    type: pilkada
    region: Kabupaten Contoh, Jawa Timur
    campaign_start: 2024-09-25
    campaign_end: 2024-11-23
    voting_day: 2024-11-27
    contestants:
      - ballot_number: 1
        names: [Budi Santoso, Siti Aminah]
      - ballot_number: 2
        names: ["<script>alert(1)</script>", Rina Wati]
    """)


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[sessionmaker[Session], Settings, dict[str, int]]]:
    url = sqlite_url(tmp_path)
    factory = factory_for(url)
    ids = seed_basic(factory)
    yield factory, settings_for(url, tmp_path), ids
    factory.kw["bind"].dispose()


def _client(settings: Settings, username: str) -> TestClient:
    client = TestClient(create_app(settings))
    login(client, username)
    return client


def test_admin_sees_the_configured_elections(setup: tuple[sessionmaker[Session], Settings, dict[str, int]]) -> None:
    _, settings, _ = setup
    page = _client(settings, "adi").get("/admin/elections")
    assert page.status_code == 200
    html = page.text
    assert 'href="/admin/elections"' in html  # the admin's navigation links the page
    for expected in ("Pemilihan Gubernur dan Wakil Gubernur Jawa Timur 2024", "pilgub-jatim-2024.yaml",
                     "Khofifah Indar Parawansa – Emil Elestianto Dardak", "Sanusi – Lathifah Shohib",
                     "Krisdayanti – Kresna Dewanata Phrosakh", "Partai Soliditas Independen Rakyat Aceh",
                     "25 September 2024", "27 November 2024", "Asia/Jakarta", "Pemilihan Kepala Daerah",
                     "Kota Batu, Jawa Timur", "Nusantara Baru, Indonesia Maju", "Pj Wali Kota Malang"):
        assert expected in html, expected
    assert "file tidak valid" not in html


@pytest.mark.parametrize("username", ["rina", "sari", "ana"])
def test_only_admins_open_the_page(setup: tuple[sessionmaker[Session], Settings, dict[str, int]],
                                   username: str) -> None:
    _, settings, _ = setup
    client = _client(settings, username)
    assert client.get("/admin/elections").status_code == 403
    assert 'href="/admin/elections"' not in client.get("/dashboard").text


def test_a_new_file_shows_without_restart_and_a_bad_one_is_named(
        setup: tuple[sessionmaker[Session], Settings, dict[str, int]], tmp_path: Path) -> None:
    _, settings, _ = setup
    directory = tmp_path / "elections"
    directory.mkdir()
    client = _client(settings.model_copy(update={"elections_dir": directory}), "adi")
    assert "Belum ada konfigurasi pemilu yang valid" in client.get("/admin/elections").text

    (directory / "contoh.yaml").write_text(CONTOH, encoding="utf-8")
    (directory / "rusak.yaml").write_text(CONTOH.replace("id: pilkada-contoh-2024", "id: rusak")
                                          .replace("campaign_end: 2024-11-23", "campaign_end: 2024-08-01"),
                                          encoding="utf-8")
    html = client.get("/admin/elections").text  # same app, no restart
    assert "Pilkada Contoh 2024" in html and "Budi Santoso – Siti Aminah" in html
    assert ESCAPED in html and RAW not in html  # names from a config file are text, never markup
    assert "1 file tidak valid" in html and "rusak.yaml" in html and "<code>campaign_end</code>" in html
    assert "campaign_end 2024-08-01 lebih awal dari campaign_start 2024-09-25" in html  # the reason, in Indonesian


def test_the_flag_page_shows_every_matching_contestant(
        setup: tuple[sessionmaker[Session], Settings, dict[str, int]]) -> None:
    factory, settings, _ = setup
    text = "nomor 2 pasti menang"
    both = [{"election_id": "pilgub-jatim-2024", "contestant": "02 Khofifah Indar Parawansa – Emil Elestianto Dardak"},
            {"election_id": "pilkada-kota-batu-2024", "contestant": "02 Firhando Gumelar – Rudi"}]
    with factory() as s:
        account = add_account(s, nip="199001012015011001", name="Dewi", unit="Dinas Pendidikan Kota Batu",
                              handle="dewi_batu")
        flag = add_flag(s, account, text=text, post_id="2001")
        flag.evidence = [{"label": "BALLOT_NUMBER", "text": "nomor 2", "start": 0, "end": 7, "election_id": None,
                          "contestant": None, "matches": both}]
        s.commit()
        flag_id = flag.id
    html = _client(settings, "rina").get(f"/flags/{flag_id}").text
    assert both[0]["contestant"] in html and both[1]["contestant"] in html
    assert "pilgub-jatim-2024" in html and "pilkada-kota-batu-2024" in html
    assert "semua kontestan yang mungkin ditampilkan" in html


def test_span_matches_reads_new_and_old_evidence() -> None:
    new = {"label": "GESTURE", "matches": [{"election_id": "a", "contestant": "01 X"},
                                           {"election_id": "b", "contestant": "01 Y"}]}
    old = {"label": "PAIR", "election_id": "pilpres-2024", "contestant": "02 P"}
    assert span_matches(new) == new["matches"]
    assert span_matches(old) == [{"election_id": "pilpres-2024", "contestant": "02 P"}]
    assert span_matches({"label": "PAIR"}) == [] and span_matches("rusak") == []
    assert span_matches({"matches": [5, {"election_id": 7, "contestant": None}]}) == [
        {"election_id": "7", "contestant": None}]


def test_the_shipped_directory_is_what_the_page_reads(tmp_path: Path) -> None:
    # The page reads settings.elections_dir; a copy of the shipped files gives the same list.
    copy = tmp_path / "copy"
    shutil.copytree(SHIPPED, copy)
    url = sqlite_url(tmp_path)
    factory = factory_for(url)
    seed_basic(factory)
    html = _client(settings_for(url, tmp_path, elections_dir=copy), "adi").get("/admin/elections").text
    assert html.count('<section class="card" id="') == len(list(SHIPPED.glob("*.yaml")))
    factory.kw["bind"].dispose()


def _evidence_table(template: str) -> Any:
    """The evidence table of a report template, compiled as the report module compiles templates."""
    source = (TEMPLATES / template).read_text(encoding="utf-8")
    start = source.index("{% if evidence %}")
    end = source.index("{% endif %}", source.index("Tidak ada penanda bukti otomatis", start)) + len("{% endif %}")
    env = Environment(loader=DictLoader({"t": source[start:end]}), autoescape=True, trim_blocks=True,
                      lstrip_blocks=True)
    env.filters.update(evidence_label=present.evidence_label, span_matches=present.span_matches)
    return env.get_template("t")


def test_the_report_lists_every_match_and_old_reports_render_byte_for_byte() -> None:
    old = [{"label": "PAIR", "text": "x", "start": 0, "end": 1, "election_id": "pilpres-2024", "contestant": "02 P"},
           {"label": "PARTY", "text": "y", "start": 2, "end": 3, "election_id": None, "contestant": None}]
    single = [{**old[0], "matches": [{"election_id": "pilpres-2024", "contestant": "02 P"}]}]
    current, frozen = _evidence_table("report.html"), _evidence_table("report_v2.html")
    for evidence in (old, single, []):  # an issued report's hash must still match when it is re-rendered
        assert current.render(evidence=evidence) == frozen.render(evidence=evidence)
    shared = [{"label": "BALLOT_NUMBER", "text": "nomor 2", "start": 0, "end": 7, "election_id": None,
               "contestant": None, "matches": [{"election_id": "pilgub-jatim-2024", "contestant": "02 Khofifah"},
                                               {"election_id": "pilkada-kota-batu-2024", "contestant": "02 Firhando"}]}]
    html = current.render(evidence=shared)
    assert "pilgub-jatim-2024<br>pilkada-kota-batu-2024" in html and "02 Khofifah<br>02 Firhando<br>" in html
