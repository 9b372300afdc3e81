from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from netral.db.schema import IngestRun, Post
from netral.pipeline import ingest as ingest_mod
from netral.pipeline.ingest import ingest_file, ingest_records
from netral.pipeline.roster import import_roster
from netral.settings import Settings

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


@pytest.fixture
def roster_factory(factory):  # type: ignore[no-untyped-def]
    with factory() as s:
        import_roster(s, SAMPLES / "roster.csv")
        s.commit()
    return factory


def _count(factory) -> int:  # type: ignore[no-untyped-def]
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(Post)) or 0)


def _post(i: int, author: str = "@budi_guru85", **kw: object) -> dict[str, object]:
    rec: dict[str, object] = {"platform": "twitter", "post_id": str(i), "author": author,
                              "url": f"https://twitter.com/x/status/{i}", "created_at": "2024-01-08T07:15:00+07:00",
                              "text": f"post nomor {i}"}
    rec.update(kw)
    return rec


def test_samples_store_roster_posts_and_reject_others(roster_factory) -> None:  # type: ignore[no-untyped-def]
    result = ingest_file(roster_factory, SAMPLES / "posts.jsonl")
    assert result.ok
    assert result.not_on_roster == 3
    assert result.stored == 17
    with roster_factory() as s:
        authors = set(s.scalars(select(Post.author_handle)))
        assert not authors & {"warga_biasa", "akun_lain", "bukan.asn"}
        run = s.scalars(select(IngestRun)).one()
        assert (run.stored, run.not_on_roster) == (17, 3)


def test_reingest_changes_nothing(roster_factory) -> None:  # type: ignore[no-untyped-def]
    ingest_file(roster_factory, SAMPLES / "posts.jsonl")
    with roster_factory() as s:
        before = {(p.post_id, p.content_sha256, p.ingested_at) for p in s.scalars(select(Post))}
    again = ingest_file(roster_factory, SAMPLES / "posts.jsonl")
    assert (again.stored, again.duplicates) == (0, 17)
    with roster_factory() as s:
        after = {(p.post_id, p.content_sha256, p.ingested_at) for p in s.scalars(select(Post))}
    assert before == after


def test_changed_content_keeps_original_snapshot(roster_factory) -> None:  # type: ignore[no-untyped-def]
    ingest_records(roster_factory, [(1, _post(1, text="asli"))], "t")
    res = ingest_records(roster_factory, [(1, _post(1, text="diedit"))], "t")
    assert (res.duplicates, res.changed_duplicates) == (1, 1)
    with roster_factory() as s:
        assert s.scalars(select(Post.text)).one() == "asli"


def test_snapshot_is_immutable_in_the_database(roster_factory) -> None:  # type: ignore[no-untyped-def]
    ingest_records(roster_factory, [(1, _post(1))], "t")
    with roster_factory() as s, pytest.raises(DBAPIError, match="immutable"):
        s.execute(text("UPDATE posts SET text = 'palsu'"))
        s.commit()
    with roster_factory() as s, pytest.raises(DBAPIError, match="immutable"):
        s.execute(text("DELETE FROM posts"))
        s.commit()


def test_bad_records_are_reported_with_line_and_field(roster_factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "export.jsonl"
    lines = [
        json.dumps(_post(1)),                                   # 1 ok
        "{not json",                                            # 2 malformed
        json.dumps(_post(3, text="   ")),                       # 3 empty text
        json.dumps(_post(4, text="x" * 100_000)),               # 4 100 kB text
        json.dumps(_post(5, created_at="kemarin sore")),        # 5 bad time
        json.dumps(_post(6, platform="friendster")),            # 6 unknown platform
        json.dumps({k: v for k, v in _post(7).items() if k != "author"}),  # 7 missing author
        json.dumps(_post(8, kind="retweet")),                   # 8 bad kind
        json.dumps([1, 2]),                                     # 9 not an object
        json.dumps(_post(10)),                                  # 10 ok
    ]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    data += json.dumps(_post(11, text="caf\u00e9"), ensure_ascii=False).encode("latin-1") + b"\n"  # 11 wrong encoding
    data += json.dumps(_post(12)).encode("utf-8") + b"\n"      # 12 ok
    path.write_bytes(data)
    result = ingest_file(roster_factory, path, settings=Settings(max_text_chars=20_000))
    assert result.stored == 3
    got = [(r.line, r.field) for r in result.rejections]
    assert got == [(2, None), (3, "text"), (4, "text"), (5, "created_at"), (6, "platform"), (7, "author"),
                   (8, "kind"), (9, None), (11, None)]
    assert all(r.source == str(path) for r in result.rejections)
    assert "UTF-8" in result.rejections[-1].reason
    assert "100,000" in result.rejections[2].reason


def test_csv_export_and_utf16(roster_factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "export.csv"
    body = ("platform,post_id,author,url,created_at,text,kind\n"
            'twitter,c1,@budi_guru85,https://t.co/1,2024-01-08 07:15:00,"Halo, ""semua""\nbaris dua",post\n'
            "twitter,c2,@budi_guru85,,2024-01-09T07:15:00Z,,post\n"
            "twitter,c3,@budi_guru85,,2024-01-09T07:15:00Z,teks,post,extra\n"
            "twitter,c4,@sitirahma_nakes,,2024-01-10T07:15:00Z,ok,\n")
    path.write_text(body, encoding="utf-16")
    result = ingest_file(roster_factory, path)
    assert result.stored == 2
    assert [(r.line, r.field) for r in result.rejections] == [(4, "text"), (5, None)]
    with roster_factory() as s:
        first = s.scalars(select(Post).where(Post.post_id == "c1")).one()
        assert first.text == 'Halo, "semua"\nbaris dua'
        assert first.created_at.isoformat() == "2024-01-08T00:15:00+00:00"  # naive time read as WIB


def test_crash_mid_file_then_rerun_stores_each_good_record_once(roster_factory, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "big.jsonl"
    records = [_post(i) for i in range(1, 26)] + [_post(99, author="@bukan_roster")]
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    settings = Settings(ingest_batch_size=10)
    real_store = ingest_mod._store_batch
    calls = {"n": 0}

    def crashing_store(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            real_store(*args, **kwargs)  # half of the work done inside the open transaction ...
            raise KeyboardInterrupt("power cut")  # ... then the process dies
        return real_store(*args, **kwargs)

    monkeypatch.setattr(ingest_mod, "_store_batch", crashing_store)
    with pytest.raises(KeyboardInterrupt):
        ingest_file(roster_factory, path, settings=settings)
    assert _count(roster_factory) == 10  # first batch committed, second rolled back whole
    monkeypatch.setattr(ingest_mod, "_store_batch", real_store)
    rerun = ingest_file(roster_factory, path, settings=settings)
    assert (rerun.stored, rerun.duplicates, rerun.not_on_roster) == (15, 10, 1)
    with roster_factory() as s:
        ids = sorted(int(p) for p in s.scalars(select(Post.post_id)))
    assert ids == list(range(1, 26))


def test_missing_file_and_unknown_format(roster_factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    missing = ingest_file(roster_factory, tmp_path / "nope.jsonl")
    assert not missing.ok and "tidak ditemukan" in missing.rejections[0].reason
    odd = tmp_path / "posts.xlsx"
    odd.write_bytes(b"PK\x03\x04")
    res = ingest_file(roster_factory, odd)
    assert not res.ok and "tidak didukung" in res.rejections[0].reason
