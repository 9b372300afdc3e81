"""Load benchmark (``make bench-load``): reviewers working the queue at once over real HTTP.

A private PostgreSQL schema is seeded with reviewers and pending flags, the app runs under uvicorn on
127.0.0.1, and each simulated reviewer (a thread with its own HTTP client and cookies) loops for a
bounded time: sign in, open the queue, claim a flag, confirm or dismiss it, now and then sign out and
in again. Afterwards the database is checked: no flag decided twice, the audit chain verifies. The
latency percentiles are printed, never asserted (shared, noisy machines); the README quotes them.

    python -m netral.serve.loadbench --url postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        --reviewers 8 --seconds 60
"""

from __future__ import annotations

import argparse
import os
import random
import re
import socket
import statistics
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select, text

from netral import audit
from netral.db.engine import make_engine, upgrade
from netral.db.schema import Account, AuditRecord, Flag, Handle, Post, Review
from netral.review import users
from netral.settings import Settings

PASSWORD = "beban-uji-peninjau-2024"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FLAG_LINK = re.compile(r'href="/flags/(\d+)"')


@dataclass
class Outcome:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, op: str, seconds: float, status: int) -> None:
        with self.lock:
            self.latencies[op].append(seconds)
            self.statuses[status] += 1


def _schema_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


def seed(url: str, reviewers: int, flags: int) -> list[str]:
    """Reviewers (passwords set by the local operator, as ``netral user add --password-stdin``) and flags."""
    engine = make_engine(url)
    names = [f"peninjau{i:02d}" for i in range(reviewers)]
    from sqlalchemy.orm import Session

    with Session(engine) as s:
        for name in names:
            users.create_user(s, username=name, role="reviewer", password=PASSWORD)
        account = Account(nip="198501012010011001", name="Budi Santoso", unit="Dinas Pendidikan",
                          position="Guru", birth_date=date(1985, 1, 1), appointed=date(2010, 1, 1))
        account.handles.append(Handle(platform="twitter", handle="budi_s"))
        s.add(account)
        s.flush()
        posts = [Post(platform="twitter", post_id=str(100000 + i), account_id=account.id, author_handle="budi_s",
                      url=f"https://twitter.com/budi_s/status/{100000 + i}",
                      created_at=datetime(2024, 11, 10, 7, 30, tzinfo=UTC), text=f"Ayo coblos nomor 2! #{i}",
                      kind="post", content_sha256="ab" * 32, source="loadbench") for i in range(flags)]
        s.add_all(posts)
        s.flush()
        s.add_all([Flag(post_id=post.id, status="pending", model_version="bench", threshold=0.5, partisan_score=0.9,
                        categories={"SUPPORT": 0.8}, evidence=[], drivers=[], election=None) for post in posts])
        s.commit()
    engine.dispose()
    return names


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _timed(out: Outcome, op: str, call: Any, *args: Any, **kwargs: Any) -> httpx.Response:
    started = time.perf_counter()
    response: httpx.Response = call(*args, **kwargs)
    out.record(op, time.perf_counter() - started, response.status_code)
    if response.status_code >= 500:
        with out.lock:
            out.errors.append(f"{op}: {response.status_code}")
    return response


def reviewer(base: str, name: str, deadline: float, out: Outcome, seed_value: int) -> None:
    rnd = random.Random(seed_value)
    with httpx.Client(base_url=base, follow_redirects=False, timeout=60) as client:
        def login() -> str:
            page = _timed(out, "login_page", client.get, "/login")
            token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
            _timed(out, "login", client.post, "/login",
                   data={"username": name, "password": PASSWORD, "csrf_token": token})
            return token

        login()
        actions = 0
        while time.monotonic() < deadline:
            queue = _timed(out, "queue", client.get, "/queue")
            match = CSRF.search(queue.text)
            if queue.status_code != 200 or match is None:
                login()
                continue
            token = match.group(1)
            ids = FLAG_LINK.findall(queue.text)
            if not ids:
                break
            flag_id = rnd.choice(ids[:10])
            _timed(out, "claim", client.post, f"/flags/{flag_id}/claim", data={"csrf_token": token})
            if rnd.random() < 0.5:
                data = {"csrf_token": token, "category": "SUPPORT", "behaviour": "kampanye_daring",
                        "reason": "Ajakan mencoblos nomor urut secara terbuka."}
                _timed(out, "confirm", client.post, f"/flags/{flag_id}/confirm", data=data)
            else:
                data = {"csrf_token": token, "reason": "Bukan dukungan, hanya berita umum."}
                _timed(out, "dismiss", client.post, f"/flags/{flag_id}/dismiss", data=data)
            actions += 1
            if actions % 15 == 0:
                _timed(out, "logout", client.post, "/logout", data={"csrf_token": token})
                login()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def check(url: str) -> dict[str, Any]:
    """The invariants after the run: one first-stage decision per flag at most, an intact chain."""
    engine = make_engine(url)
    from sqlalchemy.orm import Session

    with Session(engine) as s:
        doubles = s.execute(select(Review.flag_id).where(Review.stage == "first").group_by(Review.flag_id)
                            .having(func.count() > 1)).all()
        decided = s.scalar(select(func.count()).select_from(Flag).where(Flag.status != "pending")) or 0
        reviews = s.scalar(select(func.count()).select_from(Review)) or 0
        records = s.scalar(select(func.count()).select_from(AuditRecord)) or 0
        problems = audit.verify_chain(s)
    engine.dispose()
    return {"double_decisions": len(doubles), "decided_flags": decided, "reviews": reviews,
            "audit_records": records, "chain_problems": len(problems)}


def run(base_url: str, *, reviewers: int = 8, seconds: float = 60.0, flags: int = 2000,
        quiet: bool = False) -> dict[str, Any]:
    import uvicorn

    from netral.serve.app import create_app

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = _schema_url(base_url, schema)
    try:
        upgrade(url)
        names = seed(url, reviewers, flags)
        data_dir = Path(tempfile.mkdtemp(prefix="netral-load-"))
        settings = Settings(database_url=url, data_dir=data_dir, secret_key=os.urandom(32).hex(),
                            secure_cookies=False, login_ip_max_attempts=10_000)
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning",
                                               access_log=False))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        out = Outcome()
        deadline = time.monotonic() + seconds
        started = time.perf_counter()
        workers = [threading.Thread(target=reviewer, args=(f"http://127.0.0.1:{port}", name, deadline, out, i))
                   for i, name in enumerate(names)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=seconds + 120)
        elapsed = time.perf_counter() - started
        server.should_exit = True
        thread.join(timeout=30)
        result = check(url)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
    every = [x for values in out.latencies.values() for x in values]
    result.update({
        "reviewers": reviewers, "seconds": round(elapsed, 1), "requests": len(every),
        "requests_per_second": round(len(every) / elapsed, 1) if elapsed else 0.0,
        "server_errors": len(out.errors), "statuses": dict(sorted(out.statuses.items())),
        "p50_ms": round(statistics.median(every) * 1000, 1) if every else None,
        "p95_ms": round(percentile(every, 95) * 1000, 1) if every else None,
        "by_operation": {op: {"n": len(v), "p50_ms": round(statistics.median(v) * 1000, 1),
                              "p95_ms": round(percentile(v, 95) * 1000, 1)} for op, v in sorted(out.latencies.items())},
    })
    if not quiet:
        print(f"{reviewers} reviewers, {result['seconds']} s, {result['requests']} requests "
              f"({result['requests_per_second']}/s), 5xx: {result['server_errors']}")
        print(f"latency all requests: p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms")
        for op, row in result["by_operation"].items():
            print(f"  {op:<11} n={row['n']:<6} p50 {row['p50_ms']:>8} ms   p95 {row['p95_ms']:>8} ms")
        print(f"flags decided: {result['decided_flags']}, double decisions: {result['double_decisions']}, "
              f"audit records: {result['audit_records']}, chain problems: {result['chain_problems']}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("NETRAL_BENCH_POSTGRES_URL")
                        or os.environ.get("NETRAL_TEST_POSTGRES_URL"),
                        help="PostgreSQL URL (a private schema is created and dropped)")
    parser.add_argument("--reviewers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--flags", type=int, default=2000)
    args = parser.parse_args()
    if not args.url or not args.url.startswith("postgresql"):
        raise SystemExit("needs PostgreSQL: --url or NETRAL_BENCH_POSTGRES_URL / NETRAL_TEST_POSTGRES_URL")
    result = run(args.url, reviewers=args.reviewers, seconds=args.seconds, flags=args.flags)
    if result["double_decisions"] or result["chain_problems"] or result["server_errors"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
