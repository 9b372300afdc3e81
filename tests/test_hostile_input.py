"""Hostile input at ingestion (issue 11, item 5): every record is stored or rejected with a reason, never
a 500 or a traceback, and the run is logged even when it stops half-way.

Data-layer tests run on SQLite always and on PostgreSQL when NETRAL_TEST_POSTGRES_URL is set (NUL and
over-long values fail differently there).
"""

from __future__ import annotations

import codecs
import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from webutil import settings_for

from netral.db.schema import AuditRecord, IngestRun, Post, User
from netral.pipeline import ingest as ingest_mod
from netral.pipeline.incoming import IncomingPost, RecordError, parse_post
from netral.pipeline.ingest import ingest_file
from netral.pipeline.roster import import_roster
from netral.pipeline.textio import iter_text_lines
from netral.review import users as user_service
from netral.serve.app import create_app

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
AUTHOR = "@budi_guru85"


def _post(i: int, **kw: object) -> dict[str, object]:
    rec: dict[str, object] = {"platform": "twitter", "post_id": str(i), "author": AUTHOR,
                              "url": f"https://twitter.com/x/status/{i}", "created_at": "2024-01-08T07:15:00+07:00",
                              "text": f"post nomor {i}"}
    rec.update(kw)
    return rec


HOSTILE: list[tuple[str, dict[str, object]]] = [
    ("text", {"text": "halo \ud800 dunia"}),
    ("text", {"text": "\udfff"}),
    ("text", {"text": "nul\x00di tengah"}),
    ("post_id", {"post_id": "12\x0034"}),
    ("url", {"url": "https://twitter.com/\x00"}),
    ("author", {"author": "@budi\x00"}),
    ("post_id", {"post_id": "\ud83d"}),
    ("created_at", {"created_at": "0001-01-01T00:00:00+14:00"}),
    ("created_at", {"created_at": "9999-12-31T23:59:59-14:00"}),
    ("created_at", {"created_at": "1970-01-01T00:00:00Z"}),
    ("created_at", {"created_at": "2999-01-01T00:00:00Z"}),
    ("created_at", {"created_at": 1704672900}),
    ("text", {"text": {"a": [1, 2]}}),
    ("post_id", {"post_id": 1e20}),
    ("post_id", {"post_id": 42}),
    ("text", {"text": ["a"]}),
    ("author", {"author": True}),
    ("url", {"url": "https://t.co/" + "a" * 1_000_000}),
    ("url", {"url": "javascript:alert(1)"}),
    ("url", {"url": "https://twitter.com/a b"}),
    ("author", {"author": "x" * 5000}),
    ("platform", {"platform": "p" * 100_000}),
    ("post_id", {"post_id": "9" * 300}),
    ("text", {"text": "x" * 20_001}),
    ("kind", {"kind": "\ud800"}),
]


@pytest.mark.parametrize(("field", "change"), HOSTILE)
def test_model_refuses_hostile_values_naming_the_field(field: str, change: dict[str, object]) -> None:
    with pytest.raises(RecordError) as exc:
        parse_post(_post(1, **change))
    assert exc.value.field == field
    assert len(exc.value.reason) < 300  # the reason never echoes a megabyte back


@pytest.fixture
def roster_factory(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    with factory() as s:
        import_roster(s, SAMPLES / "roster.csv")
        s.commit()
    return factory


def _stored(factory: sessionmaker[Session]) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(Post)) or 0)


def test_api_stores_the_good_and_rejects_each_hostile_item(roster_factory: sessionmaker[Session],
                                                           tmp_path: Path) -> None:
    """Finding 8: these gave 500s on PostgreSQL. Now: 200, the good items stored, each bad one named."""
    url = str(roster_factory.kw["bind"].url.render_as_string(hide_password=False))
    with roster_factory() as s:
        analyst = user_service.create_user(s, username="ana", role="analyst", password="pengirim-data-resmi-7")
        _, token = user_service.create_api_token(s, analyst, "uji", actor=None)
        s.commit()
    client = TestClient(create_app(settings_for(url, tmp_path)), raise_server_exceptions=False)
    body = [_post(1000 + i, **change) for i, (_, change) in enumerate(HOSTILE)] + [_post(1), _post(2)]
    # json.dumps escapes lone surrogates as \ud800, exactly what a hostile client sends.
    r = client.post("/api/posts", content=json.dumps(body), headers={"authorization": f"Bearer {token}",
                                                                     "content-type": "application/json"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["stored"], out["rejected"]) == (2, len(HOSTILE))
    assert [rej["field"] for rej in out["rejections"]] == [f for f, _ in HOSTILE]
    assert _stored(roster_factory) == 2
    with roster_factory() as s:
        assert s.scalars(select(IngestRun)).one().invalid == len(HOSTILE)


def test_file_with_hostile_lines_keeps_the_rest_and_the_run_log(roster_factory: sessionmaker[Session],
                                                                tmp_path: Path) -> None:
    path = tmp_path / "posts.jsonl"
    lines = [json.dumps(_post(i)) for i in range(5)]
    lines += [json.dumps(_post(100 + i, **change)) for i, (_, change) in enumerate(HOSTILE)]
    lines += ["{bukan json", "[" * 100_000, json.dumps(_post(99))]
    path.write_bytes("\n".join(lines).encode("utf-8") + b"\n\xff\xfeinvalid utf-8\n")
    result = ingest_file(roster_factory, path)
    assert result.stored == 6
    assert len(result.rejections) == len(HOSTILE) + 3
    assert [r.line for r in result.rejections] == sorted(r.line for r in result.rejections)
    with roster_factory() as s:
        run = s.scalars(select(IngestRun)).one()
        assert (run.stored, run.invalid, run.error) == (6, len(HOSTILE) + 3, None)
        assert s.scalars(select(AuditRecord).where(AuditRecord.action == "ingest")).one()


def test_invalid_utf16_is_rejected_per_line(roster_factory: sessionmaker[Session], tmp_path: Path) -> None:
    """Finding 8: invalid UTF-16 gave a traceback."""
    path = tmp_path / "excel.jsonl"
    good = [json.dumps(_post(i), ensure_ascii=False) for i in range(3)]
    data = codecs.BOM_UTF16_LE + ("\n".join(good[:2]) + "\n").encode("utf-16-le")
    data += b"\x00\xd8\x41\x00\n\x00"  # a lone high surrogate code unit, then "A" and a newline
    data += (good[2] + "\n").encode("utf-16-le") + b"\x41"  # and a truncated final code unit
    path.write_bytes(data)
    result = ingest_file(roster_factory, path)
    assert result.stored == 3
    assert result.rejections and all("UTF-16" in r.reason for r in result.rejections)


def test_csv_row_that_breaks_the_parser_is_rejected_alone(roster_factory: sessionmaker[Session],
                                                          tmp_path: Path) -> None:
    """Finding 13: one 140k-character field ended the file after 2 of 9 valid rows."""
    header = "platform,post_id,author,url,created_at,text\n"
    rows = [f"twitter,{i},{AUTHOR},https://twitter.com/x/status/{i},2024-01-08T07:15:00+07:00,post {i}\n"
            for i in range(9)]
    huge = f"twitter,500,{AUTHOR},,2024-01-08T07:15:00+07:00,{'x' * 140_000}\n"
    path = tmp_path / "posts.csv"
    path.write_text(header + "".join(rows[:2]) + huge + "".join(rows[2:]), encoding="utf-8")
    result = ingest_file(roster_factory, path)
    assert result.stored == 9
    assert len(result.rejections) == 1 and result.rejections[0].line == 4


def test_large_files_are_streamed_with_bounded_memory(tmp_path: Path) -> None:
    """Finding 17: a 104 MB file was read whole. Here 12 MB pass through with a few MB at most."""
    path = tmp_path / "big.jsonl"
    line = json.dumps(_post(1, text="x" * 1000)) + "\n"
    with path.open("w", encoding="utf-8") as fh:
        for _ in range(12_000):
            fh.write(line)
        fh.write("y" * (3 << 20) + "\n")  # one 3 MB line: refused without being held whole
        fh.write(line)
    rejections: list[Any] = []
    tracemalloc.start()
    count = sum(1 for _ in iter_text_lines(path, rejections))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == 12_001
    assert len(rejections) == 1 and "terlalu panjang" in rejections[0].reason and rejections[0].line == 12_001
    assert peak < 4 << 20, peak


def test_run_stopped_half_way_is_logged_and_resumes(roster_factory: sessionmaker[Session], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Finding 8: a file failing at line 1,100 left no ingest-run row and no audit record."""
    path = tmp_path / "posts.jsonl"
    path.write_text("".join(json.dumps(_post(i)) + "\n" for i in range(25)), encoding="utf-8")
    settings = settings_for("sqlite://", tmp_path, ingest_batch_size=10)
    real = ingest_mod._store_batch_safely
    calls = {"n": 0}

    def dying(session: Session, batch: Any, source: str, part: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OperationalError("INSERT", {}, Exception("server closed the connection"))
        real(session, batch, source, part)

    monkeypatch.setattr(ingest_mod, "_store_batch_safely", dying)
    result = ingest_file(roster_factory, path, settings=settings)
    assert result.stored == 10
    assert "berhenti setelah baris 20" in result.rejections[-1].reason
    with roster_factory() as s:
        run = s.scalars(select(IngestRun)).one()
        assert run.stored == 10 and run.error is not None and "OperationalError" in run.error
        assert s.scalars(select(AuditRecord).where(AuditRecord.action == "ingest.failed")).one()
    monkeypatch.setattr(ingest_mod, "_store_batch_safely", real)
    again = ingest_file(roster_factory, path, settings=settings)
    assert (again.stored, again.duplicates, again.rejections) == (15, 10, [])
    assert _stored(roster_factory) == 25


def test_a_record_the_database_refuses_is_rejected_alone(roster_factory: sessionmaker[Session],
                                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Defence in depth: should a value pass validation and still be refused by the database, only that
    record is rejected (by line), the rest of its batch is stored."""
    real_parse = ingest_mod.parse_post

    def lenient(raw: object, settings: Any = None) -> IncomingPost:
        post = real_parse({**raw, "text": "placeholder"} if isinstance(raw, dict) else raw, settings)
        text = raw["text"] if isinstance(raw, dict) else post.text
        return IncomingPost.model_construct(**{**post.model_dump(), "text": text})

    monkeypatch.setattr(ingest_mod, "parse_post", lenient)
    records = [(i + 1, _post(i)) for i in range(4)] + [(5, _post(4, text="rusak \ud800"))]
    result = ingest_mod.ingest_records(roster_factory, records, "uji", settings=settings_for("sqlite://", tmp_path))
    assert result.stored == 4
    assert [(r.line, r.reason.startswith("ditolak basis data")) for r in result.rejections] == [(5, True)]
    with roster_factory() as s:
        assert s.scalar(select(func.count()).select_from(User)) == 0  # nothing else touched
