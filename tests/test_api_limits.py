"""The API and routes under oversized and out-of-range input (issue 11, item 4): the token is checked
before the body is read, a body over the cap gets 413, ids and page numbers never reach the database
unbounded (404/422, never 500)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from webutil import factory_for, login, seed_basic, settings_for

from netral.db.schema import User
from netral.review import users as user_service
from netral.serve.app import create_app

HUGE = "9" * 30


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> Iterator[tuple[FastAPI, sessionmaker[Session], dict[str, int], str]]:
    """SQLite always, PostgreSQL too when NETRAL_TEST_POSTGRES_URL is set (overflow differs per back end)."""
    factory = factory_for(db_url)
    ids = seed_basic(factory)
    with factory() as s:
        analyst = s.get(User, ids["ana"])
        assert analyst is not None
        _, token = user_service.create_api_token(s, analyst, "uji", actor=None)
        s.commit()
    app = create_app(settings_for(db_url, tmp_path, max_body_bytes=64 * 1024))
    yield app, factory, ids, token
    factory.kw["bind"].dispose()


def _asgi_post(app: FastAPI, path: str, chunks: list[bytes], headers: dict[str, str]) -> tuple[int, int, bytes]:
    """POST straight through ASGI with a streamed body; returns (status, body chunks read, response body).

    The test client reads a request body whole before the app sees it, so it cannot show whether the
    app read the body; this harness counts what the app pulled from ``receive``.
    """
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        if pulled < len(chunks):
            pulled += 1
            return {"type": "http.request", "body": chunks[pulled - 1], "more_body": pulled < len(chunks)}
        await asyncio.sleep(0)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
             "client": ("127.0.0.1", 5000), "server": ("testserver", 80)}

    async def run() -> None:
        # Lifespan is not needed: the app opens its engine in create_app.
        await app(scope, receive, send)

    asyncio.run(run())
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], pulled, body


def test_no_token_is_refused_before_the_body_is_read(env) -> None:  # type: ignore[no-untyped-def]
    app, _, _, _ = env
    chunks = [b"[" + b'{"a": 1},' * 1000] * 5 + [b"{}]"]
    status, pulled, body = _asgi_post(app, "/api/posts", chunks, {"content-type": "application/json"})
    assert status == 401 and pulled == 0, (status, pulled, body)
    status, pulled, _ = _asgi_post(app, "/api/posts", chunks, {"authorization": "Bearer ntr_palsu"})
    assert status == 401 and pulled == 0


def test_oversized_body_gets_413(env) -> None:  # type: ignore[no-untyped-def]
    app, _, _, token = env
    big = b"[" + b",".join([b'{"text": "' + b"x" * 1000 + b'"}'] * 100) + b"]"  # ~100 KB > 64 KiB cap
    auth = {"authorization": f"Bearer {token}"}
    # Declared length over the cap: refused before anything is read, token or not.
    status, pulled, _ = _asgi_post(app, "/api/posts", [big], {**auth, "content-length": str(len(big))})
    assert status == 413 and pulled == 0
    # Chunked (no length): cut off as soon as the count passes the cap.
    pieces = [big[i:i + 8192] for i in range(0, len(big), 8192)]
    status, pulled, body = _asgi_post(app, "/api/posts", pieces, auth)
    assert status == 413 and pulled < len(pieces)
    assert "melebihi" in json.loads(body)["detail"]
    client = TestClient(app)
    assert client.post("/api/posts", content=big, headers={**auth, "content-type": "application/json"}
                       ).status_code == 413
    assert client.post("/api/posts", json=[], headers=auth).status_code == 200  # a small body still works


BAD_BODIES = [b"{bukan json", b'{"a": 1}', b"[1, 2]", b"[" * 30_000 + b"]" * 30_000, b"\xff\xfe\x00\xd8",
              b'[{"text": "\\ud800"}]']


@pytest.mark.parametrize("payload", BAD_BODIES)
def test_bad_bodies_get_422_or_per_item_rejections(env, payload: bytes) -> None:  # type: ignore[no-untyped-def]
    app, _, _, token = env
    client = TestClient(app)
    r = client.post("/api/posts", content=payload, headers={"authorization": f"Bearer {token}",
                                                            "content-type": "application/json"})
    assert r.status_code in (200, 413, 422), r.text
    if r.status_code == 200:  # a list of objects: each bad item is rejected with its index
        assert r.json()["rejected"] == 1 and r.json()["stored"] == 0


def test_out_of_range_ids_and_pages_never_give_500(env) -> None:  # type: ignore[no-untyped-def]
    app, _, ids, _ = env
    client = TestClient(app, raise_server_exceptions=False)
    login(client, "sari")  # supervisor: queue, flags, reports, audit
    for path in (f"/flags/{HUGE}", f"/reports/{HUGE}", f"/reports/{HUGE}/pdf", f"/queue?page={HUGE}",
                 f"/audit?page={HUGE}", "/flags/-1", "/flags/0", f"/flags/{2**31}", "/queue?page=0"):
        assert client.get(path).status_code in (404, 422), path
    for path in ("/flags/2147483647", "/reports/2147483647"):
        assert client.get(path).status_code == 404, path
    assert client.get(f"/flags/{ids['flag']}").status_code == 200
    token = client.get("/queue").text.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post(f"/flags/{HUGE}/claim", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 422
    admin = TestClient(app, raise_server_exceptions=False)
    login(admin, "adi")
    atoken = admin.get("/admin/users").text.split('name="csrf_token" value="')[1].split('"')[0]
    assert admin.post(f"/admin/users/{HUGE}/active", data={"csrf_token": atoken, "active": "0"},
                      follow_redirects=False).status_code == 422
    analyst = TestClient(app, raise_server_exceptions=False)
    login(analyst, "ana")
    assert analyst.get(f"/training/jobs/{HUGE}").status_code in (404, 422)
