"""The one post model (IncomingPost): strict types, unknown fields refused, settings from the context, and
the same model documented by /openapi.json for POST /api/posts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from netral.pipeline.incoming import IncomingPost, RecordError, parse_post
from netral.settings import Settings

GOOD = {"platform": "X", "post_id": "17", "author": "@Budi_S", "created_at": "2024-11-10T14:30:00",
        "text": "halo semua"}


def test_valid_record_is_normalised_and_naive_time_read_in_the_configured_zone() -> None:
    post = parse_post(dict(GOOD), Settings(default_timezone="Asia/Makassar"))
    assert (post.platform, post.author, post.kind, post.url) == ("twitter", "budi_s", "post", "")
    assert post.created_at == datetime(2024, 11, 10, 6, 30, tzinfo=UTC)  # 14.30 WITA = 06.30 UTC
    assert parse_post(dict(GOOD)).created_at == datetime(2024, 11, 10, 7, 30, tzinfo=UTC)  # default WIB


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"post_id": 17}, "post_id", "teks"),               # strict: a number is not silently turned into text
    ({"text": ["a"]}, "text", "teks"),
    ({"created_at": 1731225000}, "created_at", "ISO 8601"),
    ({"retweets": 3, "likes": 1}, "likes", "likes, retweets"),
    ({"author": None}, "author", "wajib"),
    ({"text": "  "}, "text", "kosong"),
    ({"kind": "retweet"}, "kind", "retweet"),
    ({"url": "javascript:alert(1)"}, "url", "http"),
    ({"text": "x" * 51}, "text", "51"),
])
def test_bad_fields_are_named(change: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(RecordError) as info:
        parse_post({**GOOD, **change}, Settings(max_text_chars=50))
    assert info.value.field == field
    assert words in info.value.reason


def test_not_an_object_is_refused_as_a_whole() -> None:
    with pytest.raises(RecordError) as info:
        parse_post([1, 2])
    assert info.value.field is None


def test_snapshot_hash_depends_on_content_only() -> None:
    a = parse_post(dict(GOOD))
    b = parse_post({**GOOD, "platform": "twitter", "author": "budi_s"})
    c = parse_post({**GOOD, "text": "halo semua!"})
    assert a.content_sha256() == b.content_sha256() != c.content_sha256()


def test_openapi_documents_the_post_fields(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from netral.serve.app import create_app

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", data_dir=tmp_path,
                              secret_key="k" * 40))
    spec = TestClient(app).get("/openapi.json").json()
    body = spec["paths"]["/api/posts"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["type"] == "array"
    item = body["items"]
    assert set(item["properties"]) == set(IncomingPost.model_fields)
    assert set(item["required"]) == {"platform", "post_id", "author", "created_at", "text"}
    assert item["additionalProperties"] is False
    assert item["properties"]["created_at"]["format"] == "date-time"
    assert item["properties"]["kind"]["enum"] == ["post", "reply", "comment", "share", "quote", "like"]
