"""Fixture helpers for the review, web and browser tests (conftest.py is shared, so they live here)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy.orm import Session, sessionmaker

from netral.db.engine import make_engine, upgrade
from netral.db.schema import Account, Flag, FlagScoreHistory, Handle, Post, User
from netral.review import users
from netral.settings import Settings

# Tests create many users; Argon2's production cost (~0.2 s a hash) would dominate the run time. The
# algorithm and code path stay the same, only the work factor is lowered, for tests only.
users._hasher = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)

PASSWORD = "rahasia-sekali-123"
HOSTILE_TEXT = ("Dukung paslon 02 Andi-Budi! <script>alert(1)</script> "
                "<img src=x onerror=alert(2)> #AndiBudiMenang coblos nomor 2")


def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'netral.db'}"
    upgrade(url)
    return url


def settings_for(url: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"database_url": url, "data_dir": tmp_path / "var",
                              "secret_key": "netral-test-secret-key-for-tests-only",
                              # Plain-HTTP TestClient: the documented localhost opt-out of Secure cookies.
                              "secure_cookies": False, "login_max_attempts": 3, "login_window_seconds": 300}
    values.update(overrides)
    return Settings(**values)


def factory_for(url: str) -> sessionmaker[Session]:
    return sessionmaker(make_engine(url), expire_on_commit=False)


def add_user(session: Session, username: str, role: str, full_name: str = "") -> User:
    return users.create_user(session, username=username, role=role, password=PASSWORD,
                             full_name=full_name or username.title())


def add_account(session: Session, nip: str = "198501012010011001", name: str = "Budi Santoso",
                unit: str = "Dinas Pendidikan", position: str = "Guru Ahli Pertama",
                platform: str = "twitter", handle: str = "budi_s") -> Account:
    account = Account(nip=nip, name=name, unit=unit, position=position, birth_date=date(1985, 1, 1),
                      appointed=date(2010, 1, 1))
    account.handles.append(Handle(platform=platform, handle=handle))
    session.add(account)
    session.flush()
    return account


def evidence_for(text: str) -> list[dict[str, Any]]:
    spans = []
    for label, needle in (("PAIR", "Andi-Budi"), ("CAMPAIGN_HASHTAG", "#AndiBudiMenang"),
                          ("BALLOT_NUMBER", "nomor 2")):
        start = text.find(needle)
        if start >= 0:
            spans.append({"label": label, "text": needle, "start": start, "end": start + len(needle),
                          "election_id": "pilkada-2024-contoh", "contestant": "Andi-Budi"})
    return spans


def add_flag(session: Session, account: Account, *, text: str = HOSTILE_TEXT, post_id: str = "1001",
             score: float = 0.93, url: str = "https://twitter.com/budi_s/status/1001",
             status: str = "pending", election: str = "pilkada-2024-contoh",
             created_at: datetime | None = None) -> Flag:
    handle = account.handles[0]
    post = Post(platform=handle.platform, post_id=post_id, account_id=account.id, author_handle=handle.handle,
                url=url, created_at=created_at or datetime(2024, 11, 10, 7, 30, tzinfo=UTC), text=text,
                kind="post", content_sha256="ab" * 32, source="test")
    session.add(post)
    session.flush()
    flag = Flag(post_id=post.id, status=status, model_version="e5-small-ft-20241101", threshold=0.7,
                partisan_score=score, categories={"SUPPORT": 0.81, "SOLICITATION": 0.55, "ATTACK": 0.02},
                evidence=evidence_for(text), election=election,
                # Drivers are words of the post: hostile text must stay inert there too.
                drivers=[{"text": w, "start": 0, "end": len(w), "delta": 0.2}
                         for w in text.split() if "<" in w or "02" in w],
                window_note="Dalam masa kampanye Pilkada 2024 (25 Sep – 23 Nov 2024)")
    session.add(flag)
    session.flush()
    session.add(FlagScoreHistory(flag_id=flag.id, model_version="e5-small-ft-20241001", threshold=0.7,
                                 partisan_score=0.88, categories={"SUPPORT": 0.7}))
    session.flush()
    return flag


def seed_basic(factory: sessionmaker[Session]) -> dict[str, int]:
    """Four users (one per role plus a second supervisor), one ASN, one hostile pending flag."""
    with factory() as s:
        ids = {}
        for name, role in (("rina", "reviewer"), ("sari", "supervisor"), ("tono", "supervisor"),
                           ("ana", "analyst"), ("adi", "admin"), ("rudi", "reviewer")):
            ids[name] = add_user(s, name, role).id
        account = add_account(s)
        ids["flag"] = add_flag(s, account).id
        ids["account"] = account.id
        s.commit()
    return ids


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def login(client: Any, username: str, password: str = PASSWORD) -> Any:
    page = client.get("/login")
    token = csrf_from(page.text)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       follow_redirects=False)


def write_election(directory: Path, election_id: str, timezone: str, kind: str = "pilkada") -> None:
    """A minimal election config: what the report, flag page and exports read from it is the zone and type."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{election_id}.yaml").write_text(
        f"id: {election_id}\nname: Pemilihan contoh {election_id}\ntype: {kind}\nregion: Contoh\n"
        f"timezone: {timezone}\ncampaign_start: 2024-09-25\ncampaign_end: 2024-11-23\nvoting_day: 2024-11-27\n",
        encoding="utf-8")
