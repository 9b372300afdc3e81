"""Scraper sources, offline: snscrape's real parsers run on recorded responses.

``requests.Session.send`` is replaced by a table of recorded responses, so every byte snscrape
parses comes from ``tests/fixtures/snscrape`` and an unexpected URL fails the test instead of
reaching the network.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
import snscrape.base
import typer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from netral.db.schema import Post
from netral.pipeline.ingest import ingest_records
from netral.pipeline.roster import import_roster
from netral.pipeline.sources import Source, SourceError, ingest_source
from netral.pipeline.sources.snscrape_source import (
    MastodonProfileSource,
    TelegramChannelSource,
    html_to_text,
    parse_mastodon_account,
    parse_telegram_channel,
)

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "snscrape"
ROSTER = ROOT / "data" / "samples" / "roster.csv"

TG = "https://t.me/s/agusprasetyo87"
MASTO_LOOKUP = "https://mastodon.social/api/v1/accounts/lookup?acct=rinam"
MASTO_PAGE1 = "https://mastodon.social/api/v1/accounts/109876543210987654/statuses?limit=40"
MASTO_PAGE2 = MASTO_PAGE1 + "&max_id=111100000000000001"


@dataclass
class Recorded:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    final_url: str | None = None  # set to simulate a redirect
    error: type[requests.RequestException] | None = None


@dataclass
class FakeWeb:
    routes: dict[str, Recorded] = field(default_factory=dict)
    requested: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    def add(self, url: str, fixture: str | None = None, **kw: Any) -> None:
        if fixture is not None:
            kw["body"] = (FIXTURES / fixture).read_bytes()
            if fixture.endswith(".json"):
                kw.setdefault("content_type", "application/json; charset=utf-8")
        self.routes[url] = Recorded(**kw)

    def send(self, session: requests.Session, request: requests.PreparedRequest, **_: Any) -> requests.Response:
        url = str(request.url)
        self.requested.append(url)
        rec = self.routes.get(url)
        if rec is None:
            self.unexpected.append(url)
            raise requests.ConnectionError(f"offline test: no recorded response for {url}")
        if rec.error is not None:
            raise rec.error(f"recorded failure for {url}")
        resp = requests.Response()
        resp.status_code = rec.status
        resp._content = rec.body
        resp.headers["Content-Type"] = rec.content_type
        resp.encoding = "utf-8"
        resp.request = request
        resp.url = rec.final_url or url
        if rec.final_url:
            hop = requests.Response()
            hop.status_code, hop.url, hop.request = 302, url, request
            hop.headers["Location"] = rec.final_url
            resp.history = [hop]
        return resp


@pytest.fixture
def web(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeWeb]:
    fake = FakeWeb()

    def send(session: requests.Session, request: requests.PreparedRequest, **kw: Any) -> requests.Response:
        return fake.send(session, request, **kw)

    monkeypatch.setattr(requests.Session, "send", send)
    # snscrape's retry backoff and Mastodon's 3 s politeness delay: keep the tests fast.
    monkeypatch.setattr(snscrape.base.time, "sleep", lambda _s: None)
    yield fake
    assert not fake.unexpected, f"requests without a recorded response: {fake.unexpected}"


def _telegram(web: FakeWeb) -> None:
    web.add(TG, "telegram_agusprasetyo87_page1.html")
    web.add(TG + "?before=60", "telegram_agusprasetyo87_page2.html")


def _mastodon(web: FakeWeb) -> None:
    web.add(MASTO_LOOKUP, "mastodon_api_lookup_rinam.json")
    web.add(MASTO_PAGE1, "mastodon_api_statuses_rinam_page1.json")
    web.add(MASTO_PAGE2, body=b"[]", content_type="application/json")


@pytest.fixture
def roster_factory(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    with factory() as s:
        import_roster(s, ROSTER)
        s.commit()
    return factory


# --- Telegram -------------------------------------------------------------------------------------------

def test_telegram_records_newest_first_across_pages(web: FakeWeb) -> None:
    _telegram(web)
    source = TelegramChannelSource("https://t.me/AgusPrasetyo87", retries=0)
    assert isinstance(source, Source)
    records = list(source.iter_records())
    assert [n for n, _ in records] == [1, 2, 3, 4, 5]
    got = [r for _, r in records]
    assert [r["post_id"] for r in got] == ["agusprasetyo87/63", "agusprasetyo87/62", "agusprasetyo87/60",
                                           "agusprasetyo87/59", "agusprasetyo87/58"]
    assert {r["author"] for r in got} == {"agusprasetyo87"}
    assert {r["platform"] for r in got} == {"telegram"}
    assert got[0]["url"] == "https://t.me/AgusPrasetyo87/63"  # shareable link, not the /s/ preview
    assert [r["created_at"] for r in got] == ["2024-02-05T03:30:00+00:00", "2024-01-25T01:15:00+00:00",
                                              "2024-01-22T05:00:00+00:00", "2024-01-15T02:00:00+00:00",
                                              "2024-01-10T00:30:00+00:00"]
    assert [r["kind"] for r in got] == ["post", "post", "share", "post", "post"]  # 60 is a forward
    # A reply's own text, not the quoted message; a link whose label is prose keeps its URL.
    assert got[0]["text"] == "Ayo coblos nomor 2 tanggal 14 Februari! Info lengkap: situs KPU (https://kpu.go.id/)"
    # Line breaks survive (snscrape's own ``content`` glues them), a shortened label becomes the full URL.
    assert got[1]["text"] == ("📌 Pengumuman PPPK & CPNS\n\nBerkas seleksi PPPK tahap 2 diterima sampai 31 Januari.\n"
                              "Syarat lengkap: https://bkpsdm.malangkota.go.id/pppk-2024\n#PPPK2024 @bkpsdm_malang")
    assert got[2]["text"] == ("Jadwal kampanye terbuka di Lapangan Rampal hari Sabtu.\n"
                              "Semua relawan paslon 02 wajib hadir!")
    assert source.skipped == 2  # photo without caption, "Channel created"
    assert web.requested == [TG, TG + "?before=60"]
    assert source.name == "snscrape:telegram:agusprasetyo87"


def test_telegram_limit_stops_paging_and_since_cuts_old_posts(web: FakeWeb) -> None:
    _telegram(web)
    first_two = [r["post_id"] for _, r in TelegramChannelSource("agusprasetyo87", limit=2, retries=0).iter_records()]
    assert first_two == ["agusprasetyo87/63", "agusprasetyo87/62"]
    assert web.requested == [TG]  # the second page was never fetched

    since = datetime(2024, 1, 20, tzinfo=ZoneInfo("Asia/Jakarta"))
    recent = [r["post_id"] for _, r in TelegramChannelSource("@agusprasetyo87", since=since, retries=0).iter_records()]
    assert recent == ["agusprasetyo87/63", "agusprasetyo87/62", "agusprasetyo87/60"]


def test_telegram_http_error_is_a_source_error(web: FakeWeb) -> None:
    web.add(TG, status=502, body=b"<html>Bad Gateway</html>")
    with pytest.raises(SourceError) as info:
        list(TelegramChannelSource("agusprasetyo87", retries=0).iter_records())
    err = info.value
    assert (err.platform, err.target) == ("telegram", "agusprasetyo87")
    assert str(err) == "telegram agusprasetyo87: server menjawab HTTP 502 (gangguan di server)"


def test_telegram_network_failure_after_retries(web: FakeWeb) -> None:
    web.add(TG, error=requests.ConnectionError)
    with pytest.raises(SourceError, match=r"^telegram agusprasetyo87: tidak bisa menghubungi server"):
        list(TelegramChannelSource("agusprasetyo87", retries=2).iter_records())
    assert web.requested == [TG] * 3


def test_telegram_channel_without_public_preview(web: FakeWeb) -> None:
    # t.me answers /s/<name> of a group or private channel with a redirect to the contact page.
    web.add("https://t.me/s/grupdinas", "telegram_channel_page_no_preview.html", final_url="https://t.me/grupdinas")
    with pytest.raises(SourceError, match="tidak ada pratinjau publik t.me/s/"):
        list(TelegramChannelSource("grupdinas", retries=0).iter_records())


def test_telegram_changed_markup_is_explained(web: FakeWeb) -> None:
    page = (FIXTURES / "telegram_agusprasetyo87_page1.html").read_text("utf-8")
    web.add(TG, body=page.replace("tgme_widget_message_footer", "tgme_widget_message_footer_v2").encode())
    with pytest.raises(SourceError, match="kemungkinan tata letak situs berubah"):
        list(TelegramChannelSource("agusprasetyo87", retries=0).iter_records())


def test_failure_mid_stream_keeps_what_was_read(web: FakeWeb, roster_factory: sessionmaker[Session]) -> None:
    web.add(TG, "telegram_agusprasetyo87_page1.html")
    web.add(TG + "?before=60", status=429, body=b"Too Many Requests")
    run = ingest_source(roster_factory, TelegramChannelSource("agusprasetyo87", retries=0))
    assert run.error is not None and "HTTP 429" in str(run.error) and not run.ok
    assert run.result.stored == 3
    with roster_factory() as s:
        assert set(s.scalars(select(Post.post_id))) == {"agusprasetyo87/63", "agusprasetyo87/62", "agusprasetyo87/60"}


# --- Mastodon -------------------------------------------------------------------------------------------

def test_mastodon_api_records(web: FakeWeb) -> None:
    _mastodon(web)
    source = MastodonProfileSource("@rinam@mastodon.social", retries=0)
    got = [r for _, r in source.iter_records()]
    assert [(r["post_id"], r["kind"]) for r in got] == [
        ("111900000000000006", "post"), ("111900000000000005", "reply"), ("111900000000000004", "share"),
        ("111900000000000003", "post"), ("111100000000000001", "post")]
    assert {r["author"] for r in got} == {"rinam@mastodon.social"}
    assert got[0]["url"] == "https://mastodon.social/@rinam/111900000000000006"
    assert got[0]["created_at"] == "2024-02-12T02:00:00+00:00"
    assert got[0]["text"] == ("Jangan golput ya! Cek DPT kamu di https://cekdptonline.kpu.go.id/\n"
                              "Dukung @paslon02 #Pemilu2024\n\n"
                              "Baca artikel ini (https://example.org/artikel?id=7&src=masto) & sebarkan.")
    boost = got[2]
    assert boost["url"] == "https://kota.example.id/@relawan02/555"  # the boosted post, which a reviewer can open
    assert boost["text"] == "Relawan 02 kumpul di posko jam 8 pagi. #Menang02"
    # The content warning is kept in front; the <script> is dropped.
    assert got[3]["text"] == "Politik\n\nSaya sudah tentukan pilihan, yang pasti bukan nomor 1."
    assert source.skipped == 1  # image without text
    assert web.requested == [MASTO_LOOKUP, MASTO_PAGE1, MASTO_PAGE2]


def test_mastodon_since_and_limit(web: FakeWeb) -> None:
    _mastodon(web)
    since = datetime(2024, 2, 6, tzinfo=UTC)
    recent = [r["post_id"] for _, r in MastodonProfileSource("rinam@mastodon.social", since=since,
                                                             retries=0).iter_records()]
    assert recent == ["111900000000000006", "111900000000000005", "111900000000000004"]
    web.requested.clear()
    one = list(MastodonProfileSource("https://mastodon.social/@rinam", limit=1, retries=0).iter_records())
    assert len(one) == 1 and web.requested == [MASTO_LOOKUP, MASTO_PAGE1]


def test_mastodon_html_parser_of_snscrape_for_old_instances(web: FakeWeb) -> None:
    web.add("https://lama.example.id/@rinam/with_replies", "mastodon_legacy_rinam_with_replies.html")
    source = MastodonProfileSource("@rinam@lama.example.id", via="snscrape", retries=0)
    got = [r for _, r in source.iter_records()]
    assert got == [
        {"platform": "mastodon", "post_id": "104500000000000003", "author": "rinam@lama.example.id",
         "url": "https://lama.example.id/@rinam/104500000000000003", "created_at": "2024-02-11T06:00:00+00:00",
         "text": "Pemilu tinggal 3 hari. Cek lokasi TPS di https://cekdptonline.kpu.go.id/\n\n"
                 "Jaga netralitas ASN #NetralitasASN", "kind": "post"},
        {"platform": "mastodon", "post_id": "boost:rinam@lama.example.id:https://kota.example.id/@relawan02/555",
         "author": "rinam@lama.example.id", "url": "https://kota.example.id/@relawan02/555",
         "created_at": "2024-02-08T23:00:00+00:00", "text": "Relawan 02 kumpul di posko jam 8 pagi.", "kind": "share"},
        {"platform": "mastodon", "post_id": "104500000000000001", "author": "rinam@lama.example.id",
         "url": "https://lama.example.id/@rinam/104500000000000001", "created_at": "2024-02-05T04:00:00+00:00",
         "text": "Politik\n\nSaya sudah tentukan pilihan, yang pasti bukan nomor 1.", "kind": "post"},
    ]


def test_mastodon_api_refused_falls_back_to_snscrape_html(web: FakeWeb) -> None:
    web.add("https://lama.example.id/api/v1/accounts/lookup?acct=rinam", status=401,
            body=b'{"error":"This API requires an authenticated user"}', content_type="application/json")
    web.add("https://lama.example.id/@rinam/with_replies", "mastodon_legacy_rinam_with_replies.html")
    source = MastodonProfileSource("rinam@lama.example.id", retries=0)
    assert len(list(source.iter_records())) == 3
    assert source.name == "snscrape:mastodon:rinam@lama.example.id"


def test_mastodon4_profile_page_is_explained_not_a_traceback(web: FakeWeb) -> None:
    web.add("https://mastodon.social/@rinam/with_replies", "mastodon4_profile_spa.html")
    with pytest.raises(SourceError, match=r"^mastodon rinam@mastodon.social: .*Mastodon >= 4.0.*snscrape#587"):
        list(MastodonProfileSource("@rinam@mastodon.social", via="snscrape", retries=0).iter_records())


def test_mastodon_http_errors(web: FakeWeb) -> None:
    web.add(MASTO_LOOKUP, status=404, body=b'{"error":"Record not found"}', content_type="application/json")
    with pytest.raises(SourceError, match=r"^mastodon rinam@mastodon.social: server menjawab HTTP 404 \(tidak"):
        list(MastodonProfileSource("@rinam@mastodon.social", retries=0).iter_records())
    web.add(MASTO_LOOKUP, "mastodon_api_lookup_rinam.json")
    web.add(MASTO_PAGE1, status=503, body=b"")
    with pytest.raises(SourceError, match="HTTP 503"):
        list(MastodonProfileSource("@rinam@mastodon.social", retries=0).iter_records())
    web.add(MASTO_PAGE1, body=b'[{"id": "1", "content": "<p>x</p>"}]', content_type="application/json")
    with pytest.raises(SourceError, match=r"tata letak situs berubah \(KeyError"):
        list(MastodonProfileSource("@rinam@mastodon.social", retries=0).iter_records())
    web.add(MASTO_LOOKUP, "mastodon4_profile_spa.html")  # 200, but a web page instead of the API
    with pytest.raises(SourceError, match="bukan JSON; server ini mungkin bukan Mastodon"):
        list(MastodonProfileSource("@rinam@mastodon.social", retries=0).iter_records())


# --- into the database ----------------------------------------------------------------------------------

def test_only_roster_authors_are_stored_and_reingest_is_idempotent(
    web: FakeWeb, roster_factory: sessionmaker[Session]
) -> None:
    _telegram(web)
    _mastodon(web)
    web.add("https://t.me/s/infopemilukota", "telegram_infopemilukota_page1.html")
    sources = lambda: [TelegramChannelSource("agusprasetyo87", retries=0),  # noqa: E731
                       TelegramChannelSource("infopemilukota", retries=0),
                       MastodonProfileSource("@rinam@mastodon.social", retries=0)]
    first = [ingest_records(roster_factory, s.iter_records(), s.name) for s in sources()]
    assert [(r.stored, r.not_on_roster, len(r.rejections)) for r in first] == [(5, 0, 0), (0, 2, 0), (5, 0, 0)]
    with roster_factory() as s:
        rows = {(p.platform, p.post_id): p for p in s.scalars(select(Post))}
        assert {p.author_handle for p in rows.values()} == {"agusprasetyo87", "rinam@mastodon.social"}
        assert not any(pid.startswith("infopemilukota/") for _, pid in rows)
        forward = rows[("telegram", "agusprasetyo87/60")]
        assert (forward.kind, forward.source) == ("share", "snscrape:telegram:agusprasetyo87")
        assert forward.created_at.astimezone(UTC) == datetime(2024, 1, 22, 5, 0, tzinfo=UTC)
        before = {k: (p.content_sha256, p.ingested_at) for k, p in rows.items()}

    again = [ingest_records(roster_factory, s.iter_records(), s.name) for s in sources()]
    assert [(r.stored, r.duplicates, r.changed_duplicates) for r in again] == [(0, 5, 0), (0, 0, 0), (0, 5, 0)]
    with roster_factory() as s:
        assert {(p.platform, p.post_id): (p.content_sha256, p.ingested_at) for p in s.scalars(select(Post))} == before


# --- parsing helpers ------------------------------------------------------------------------------------

def test_html_to_text_is_plain_and_safe() -> None:
    html = ('<p>Satu<br>dua &lt;b&gt; &amp; <a href="javascript:alert(1)">klik</a></p><!-- c -->'
            '<script>steal()</script><style>p{}</style><p><a href="https://x.id/a">https://x.id/a</a></p>')
    assert html_to_text(html) == "Satu\ndua <b> & klik\n\nhttps://x.id/a"
    assert html_to_text("") == ""


@pytest.mark.parametrize("value", ["agusprasetyo87", "@AgusPrasetyo87", "https://t.me/agusprasetyo87",
                                   "t.me/s/agusprasetyo87/", "https://telegram.me/agusprasetyo87"])
def test_telegram_target_forms(value: str) -> None:
    assert parse_telegram_channel(value) == "agusprasetyo87"


@pytest.mark.parametrize("value", ["@rinam@mastodon.social", "rinam@Mastodon.Social", "https://mastodon.social/@rinam"])
def test_mastodon_target_forms(value: str) -> None:
    assert parse_mastodon_account(value) == ("rinam", "mastodon.social")


@pytest.mark.parametrize("value", ["", "a b", "t.me/+invitehash", "x"])
def test_bad_telegram_targets(value: str) -> None:
    with pytest.raises(ValueError, match="kanal Telegram tidak valid"):
        parse_telegram_channel(value)


@pytest.mark.parametrize("value", ["rinam", "@rinam@localhost", "rinam@mastodon.social/../x"])
def test_bad_mastodon_targets(value: str) -> None:
    with pytest.raises(ValueError, match="akun Mastodon tidak valid"):
        parse_mastodon_account(value)


# --- CLI -----------------------------------------------------------------------------------------------

def _flat(output: str) -> str:
    """Rich wraps at the runner's 80 columns; compare text, not line breaks."""
    return " ".join(output.split())


@pytest.fixture
def fetch_cli() -> ModuleType:
    """Imported here, not at the top: ``netral.cli`` assembles every sub-app on import, and the source
    tests above should not depend on unrelated CLI modules importing cleanly."""
    import netral.cli.fetch

    return netral.cli.fetch


def _app(fetch_cli: ModuleType) -> typer.Typer:
    app = typer.Typer()
    fetch_cli.register(app)

    @app.callback()
    def _root() -> None:
        """Keeps ``fetch`` a named sub-command, as in the real ``netral`` app."""

    return app


@pytest.mark.parametrize("platform", ["twitter", "X", "facebook", "instagram"])
def test_cli_refuses_dead_platforms(platform: str, monkeypatch: pytest.MonkeyPatch, web: FakeWeb,
                                    fetch_cli: ModuleType) -> None:
    monkeypatch.setattr(fetch_cli, "factory", lambda: pytest.fail("must refuse before touching the database"))
    result = CliRunner().invoke(_app(fetch_cli), ["fetch", platform, "someone"])
    assert result.exit_code == 2, result.output
    assert "sudah mati di proyek asalnya" in _flat(result.output) and "netral ingest FILE" in _flat(result.output)
    assert web.requested == []


def test_cli_fetch_telegram(web: FakeWeb, roster_factory: sessionmaker[Session],
                            monkeypatch: pytest.MonkeyPatch, fetch_cli: ModuleType) -> None:
    _telegram(web)
    monkeypatch.setattr(fetch_cli, "factory", lambda: roster_factory)
    result = CliRunner().invoke(_app(fetch_cli), ["fetch", "telegram", "agusprasetyo87", "--since", "2024-01-01"])
    assert result.exit_code == 0, result.output
    assert "5 disimpan" in _flat(result.output)
    assert "1 unggahan tanpa teks dilewati" in _flat(result.output)  # the service message is older than --since
    again = CliRunner().invoke(_app(fetch_cli), ["fetch", "tg", "https://t.me/agusprasetyo87", "--limit", "3"])
    assert again.exit_code == 0, again.output
    assert "0 disimpan, 3 sudah ada" in _flat(again.output)


def test_cli_fetch_failure_exits_non_zero(web: FakeWeb, roster_factory: sessionmaker[Session],
                                          monkeypatch: pytest.MonkeyPatch, fetch_cli: ModuleType) -> None:
    web.add(TG, "telegram_agusprasetyo87_page1.html")
    web.add(TG + "?before=60", status=403, body=b"Forbidden")
    monkeypatch.setattr(fetch_cli, "factory", lambda: roster_factory)
    result = CliRunner().invoke(_app(fetch_cli), ["fetch", "telegram", "agusprasetyo87"])
    assert result.exit_code == 1
    out = _flat(result.output)
    assert "3 disimpan" in out
    assert "telegram agusprasetyo87: server menjawab HTTP 403 (akses ditolak/diblokir)" in out
    assert "Traceback" not in out


def test_cli_refuses_targets_not_on_roster(web: FakeWeb, roster_factory: sessionmaker[Session],
                                           monkeypatch: pytest.MonkeyPatch, fetch_cli: ModuleType) -> None:
    monkeypatch.setattr(fetch_cli, "factory", lambda: roster_factory)
    result = CliRunner().invoke(_app(fetch_cli), ["fetch", "telegram", "infopemilukota"])
    assert result.exit_code == 2 and "tidak ada di daftar ASN" in _flat(result.output)
    bad = CliRunner().invoke(_app(fetch_cli), ["fetch", "mastodon", "bukan akun"])
    assert bad.exit_code == 2 and "akun Mastodon tidak valid" in _flat(bad.output)
    assert web.requested == []


def test_recorded_fixtures_are_valid_json() -> None:
    for path in FIXTURES.glob("*.json"):
        json.loads(path.read_text("utf-8"))
