"""Hypothesis properties of ingestion (issue 11, item 8): whatever the record (arbitrary Unicode including
lone surrogates and NUL, any JSON type in any field, dates of any year and offset), it is stored or
rejected with a reason, never an exception, and every record is accounted for exactly once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from webutil import factory_for, settings_for, sqlite_url

from netral.db.schema import Post
from netral.pipeline.incoming import FIELDS, IncomingPost, RecordError, parse_post
from netral.pipeline.ingest import ingest_file, ingest_records
from netral.pipeline.roster import import_roster

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
ROSTER_AUTHORS = ["@budi_guru85", "budi_guru85", "@BUDI_GURU85"]

any_text = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=60)  # surrogates too
offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
times = st.builds(lambda d, tz: d.replace(tzinfo=tz).isoformat(),
                  st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)), offsets)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), any_text)
json_values = st.recursive(json_scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                                st.dictionaries(any_text, inner, max_size=3)),
                           max_leaves=6)
good_values = {
    "platform": st.sampled_from(["twitter", "x", "instagram", "Twitter "]),
    "post_id": st.one_of(st.integers(1, 10**12).map(str), any_text),
    "author": st.one_of(st.sampled_from(ROSTER_AUTHORS), any_text),
    "created_at": st.one_of(times, st.just("2024-11-10T14:30:00+07:00"), any_text),
    "text": st.one_of(any_text, st.just("dukung paslon nomor 2")),
    "url": st.one_of(st.just(""), st.builds(lambda t: "https://x.com/" + t, any_text), any_text),
    "kind": st.one_of(st.sampled_from(["post", "reply", "like"]), any_text),
}
records = st.fixed_dictionaries(
    {}, optional={name: st.one_of(strategy, json_values) for name, strategy in good_values.items()}
) | st.dictionaries(st.one_of(st.sampled_from(FIELDS), any_text), json_values, max_size=8) | json_values


@given(raw=records)
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_parse_post_accepts_or_names_a_reason(raw: object) -> None:
    try:
        post = parse_post(raw)
    except RecordError as exc:
        assert exc.reason and len(exc.reason) < 1000
        assert exc.field is None or isinstance(exc.field, str)
        return
    assert isinstance(post, IncomingPost)
    assert post.created_at.tzinfo is not None and datetime(1990, 1, 1, tzinfo=UTC) <= post.created_at
    for value in (post.platform, post.post_id, post.author, post.text, post.url, post.kind):
        value.encode("utf-8")  # storable: no lone surrogates
        assert "\x00" not in value


def test_ingest_accounts_for_every_record_once(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    factory = factory_for(url)
    with factory() as s:
        import_roster(s, SAMPLES / "roster.csv")
        s.commit()
    cfg = settings_for(url, tmp_path, ingest_batch_size=7)
    total = {"n": 0, "stored": 0}

    @given(batch=st.lists(records, min_size=1, max_size=15))
    @settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def run(batch: list[object]) -> None:
        result = ingest_records(factory, list(enumerate(batch, start=1)), "hypothesis", settings=cfg)
        accounted = result.stored + result.duplicates + result.not_on_roster + len(result.rejections)
        assert accounted == len(batch)
        assert all(r.reason for r in result.rejections)
        total["n"] += len(batch)
        total["stored"] += result.stored

    run()
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Post)) == total["stored"]
    factory.kw["bind"].dispose()


def test_files_of_arbitrary_lines_never_raise(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    factory = factory_for(url)
    with factory() as s:
        import_roster(s, SAMPLES / "roster.csv")
        s.commit()
    counter = {"i": 0}

    @given(lines=st.lists(st.one_of(records.map(lambda r: json.dumps(r, default=str).encode("utf-8", "surrogatepass")),
                                    st.binary(max_size=80)), min_size=1, max_size=10),
           suffix=st.sampled_from([".jsonl", ".csv"]))
    @settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def run(lines: list[bytes], suffix: str) -> None:
        counter["i"] += 1
        path = tmp_path / f"f{counter['i']}{suffix}"
        header = b"platform,post_id,author,url,created_at,text,kind\n" if suffix == ".csv" else b""
        path.write_bytes(header + b"\n".join(line.replace(b"\n", b" ") for line in lines) + b"\n")
        result = ingest_file(factory, path)
        assert all(r.reason for r in result.rejections)

    run()
    factory.kw["bind"].dispose()
