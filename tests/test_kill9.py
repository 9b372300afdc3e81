"""kill -9 in the middle of ingestion, of a batch scan and of the retention purge, then a re-run (issue 11,
item 8; issue 13, item 6): exact counts, no duplicates, nothing half-written.

Each job runs in a child process that reports every committed chunk on stdout and then pauses; the
test sends SIGKILL after the second one, so the kill lands between commits and inside the next
chunk's work. The scan uses a small deterministic stand-in classifier (the code under test is the
scan's chunking and commits, not the model); the real model's kill-and-resume is in
tests/test_model_pipeline.py, and training's below (marker ``model``: it needs the converted base).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select
from webutil import factory_for, sqlite_url

from netral.db.schema import Flag, Post, Score
from netral.pipeline.ingest import ingest_file
from netral.pipeline.roster import import_roster

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
REPO = Path(__file__).resolve().parents[1]
AUTHOR = "@budi_guru85"


def _run_and_kill(code: str, after_lines: int) -> list[str]:
    """Run ``code`` in a child; SIGKILL it once it printed ``after_lines`` lines; return those lines."""
    env = {**os.environ, "PYTHONPATH": f"{REPO}:{REPO / 'tests'}", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE, text=True,
                            cwd=REPO, env=env)
    seen: list[str] = []
    try:
        assert proc.stdout is not None
        while len(seen) < after_lines:
            line = proc.stdout.readline()
            assert line, f"child ended early after {seen}"
            seen.append(line.strip())
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
    return seen


def _roster_db(tmp_path: Path) -> str:
    url = sqlite_url(tmp_path)
    factory = factory_for(url)
    with factory() as s:
        import_roster(s, SAMPLES / "roster.csv")
        s.commit()
    factory.kw["bind"].dispose()
    return url


def test_kill9_during_ingest_then_rerun_stores_each_post_exactly_once(tmp_path: Path) -> None:
    url = _roster_db(tmp_path)
    path = tmp_path / "posts.jsonl"
    n = 120
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            author = AUTHOR if i % 4 else "@bukan_asn"  # a quarter is out of scope
            fh.write(json.dumps({"platform": "twitter", "post_id": str(i), "author": author,
                                 "created_at": "2024-01-08T07:15:00+07:00", "text": f"post {i}"}) + "\n")
    code = f"""
        import sys, time
        from webutil import factory_for, settings_for
        from pathlib import Path
        from netral.pipeline.ingest import ingest_file
        factory = factory_for({url!r})
        settings = settings_for({url!r}, Path({str(tmp_path)!r}), ingest_batch_size=10)
        def progress(k):
            print("batch", k, flush=True)
            time.sleep(0.3)
        ingest_file(factory, Path({str(path)!r}), settings=settings, on_progress=progress)
        print("done", flush=True)
    """
    seen = _run_and_kill(code, after_lines=2)
    assert seen == ["batch 10", "batch 10"]
    factory = factory_for(url)
    with factory() as s:
        partial = s.scalar(select(func.count()).select_from(Post)) or 0
    assert 0 < partial < n * 3 // 4  # some batches committed, not all
    result = ingest_file(factory, path)
    assert result.rejections == []
    assert result.stored + result.duplicates == n * 3 // 4 and result.not_on_roster == n // 4
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Post)) == n * 3 // 4
        assert s.scalar(select(func.count(func.distinct(Post.post_id)))) == n * 3 // 4
    again = ingest_file(factory, path)
    assert (again.stored, again.duplicates) == (0, n * 3 // 4)
    factory.kw["bind"].dispose()


FAKE_CLASSIFIER = """
    import hashlib
    import numpy as np

    class FakeClassifier:
        '''Deterministic scores from the text's hash: a stand-in for the model, same interface.'''
        name = "fake-v1"
        threshold = 0.5
        categories = ("SUPPORT", "ATTACK", "SOLICITATION", "CAMPAIGN", "ATTRIBUTE")

        def probabilities(self, texts, batch_size=32):
            rows = []
            for t in texts:
                h = hashlib.sha256(t.encode()).digest()
                rows.append([b / 255 for b in h[:6]])
            return np.array(rows, dtype=np.float32).reshape(len(texts), 6)
"""


def test_kill9_during_scan_then_rerun_scores_each_post_exactly_once(tmp_path: Path) -> None:
    url = _roster_db(tmp_path)
    path = tmp_path / "posts.jsonl"
    n = 60
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({"platform": "twitter", "post_id": str(i), "author": AUTHOR,
                                 "created_at": "2024-11-08T07:15:00+07:00",
                                 "text": f"coblos nomor {i % 3} ayo dukung, unggahan {i}"}) + "\n")
    factory = factory_for(url)
    assert ingest_file(factory, path).stored == n
    code = f"""
        import time
        from webutil import factory_for
        from netral.pipeline.scan import scan
        {textwrap.indent(textwrap.dedent(FAKE_CLASSIFIER), "        ").strip()}
        def progress(k):
            print("chunk", k, flush=True)
            time.sleep(0.3)
        scan(factory_for({url!r}), FakeClassifier(), chunk_size=10, explain=False, on_progress=progress)
        print("done", flush=True)
    """
    seen = _run_and_kill(code, after_lines=2)
    assert seen == ["chunk 10", "chunk 10"]
    with factory() as s:
        partial_scores = s.scalar(select(func.count()).select_from(Score)) or 0
        partial_flags = s.scalar(select(func.count()).select_from(Flag)) or 0
    assert 20 <= partial_scores < n
    namespace: dict[str, object] = {}
    exec(textwrap.dedent(FAKE_CLASSIFIER), namespace)  # noqa: S102 - the same stand-in as the child's
    from netral.pipeline.scan import scan

    result = scan(factory, namespace["FakeClassifier"](), chunk_size=10, explain=False)  # type: ignore[operator]
    assert result.scanned == n - partial_scores
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Score)) == n
        assert s.scalar(select(func.count(func.distinct(Score.post_id)))) == n
        flags = s.scalar(select(func.count()).select_from(Flag)) or 0
        assert s.scalar(select(func.count(func.distinct(Flag.post_id)))) == flags
    assert flags >= partial_flags
    # A clean re-run from scratch would flag exactly the same posts: compare with a fresh database.
    fresh_url = _roster_db(tmp_path / "fresh")
    fresh = factory_for(fresh_url)
    ingest_file(fresh, path)
    scan(fresh, namespace["FakeClassifier"](), chunk_size=10, explain=False)  # type: ignore[operator]
    with fresh() as s:
        assert s.scalar(select(func.count()).select_from(Flag)) == flags
    factory.kw["bind"].dispose()
    fresh.kw["bind"].dispose()


@pytest.mark.model
def test_kill9_during_training_then_rerun_resumes_and_registers_once(tmp_path: Path) -> None:
    """A smoke run on the real converted base (a few steps on a small slice): killed after its first
    checkpoint, the re-run resumes from that checkpoint and registers exactly one version."""
    from netral.models.base import resolve_base
    from netral.models.registry import list_versions
    from netral.settings import Settings
    from netral.training.config import TrainConfig
    from netral.training.service import run_training

    shared = os.environ.get("NETRAL_TEST_BASE_CACHE")
    base = Path(shared) if shared else tmp_path / "base"
    base.mkdir(parents=True, exist_ok=True)  # a link to a missing folder would make the conversion's mkdir fail
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    os.symlink(base, data_dir / "base")
    resolve_base(None, data_dir / "base")  # convert once here, not inside the child that gets killed
    code = f"""
        import time
        from pathlib import Path
        from netral.settings import Settings
        from netral.training.config import TrainConfig
        from netral.training.service import run_training
        def progress(fraction, message):
            if message.startswith("langkah"):
                print(message, flush=True)
                time.sleep(0.5)
        run_training(settings=Settings(data_dir=Path({str(data_dir)!r})),
                     config=TrainConfig(max_steps=6, batch_size=8, checkpoint_every=2, epochs=1),
                     limit_train=48, limit_eval=32, progress=False, on_progress=progress)
        print("done", flush=True)
    """
    seen = _run_and_kill(code, after_lines=3)
    assert seen[-1] == "langkah 3/6"  # checkpoint written at step 2, killed during step 4
    settings = Settings(data_dir=data_dir)
    assert list_versions(settings.registry_dir) == []  # nothing half-registered
    messages: list[str] = []
    mv = run_training(settings=settings, config=TrainConfig(max_steps=6, batch_size=8, checkpoint_every=2, epochs=1),
                      limit_train=48, limit_eval=32, progress=False,
                      on_progress=lambda _f, m: messages.append(m))
    steps = [m for m in messages if m.startswith("langkah")]
    assert steps[0] == "langkah 3/6" and steps[-1] == "langkah 6/6"  # resumed, not restarted from 1
    assert [v.version for v in list_versions(settings.registry_dir)] == [mv.version]


def test_kill9_during_retention_purge_leaves_a_consistent_database_and_rerun_finishes(tmp_path: Path) -> None:
    """Batches commit with their audit records: after a kill, every deleted post has exactly one
    ``post.purge`` record (and every record's post is gone), no permit is left, the chain verifies, and
    a re-run deletes exactly the rest."""
    from datetime import UTC, datetime, timedelta

    from webutil import add_account

    from netral import audit
    from netral.db.schema import AuditRecord, PostDeletion

    url = sqlite_url(tmp_path)
    factory = factory_for(url)
    n = 40
    with factory() as s:
        account = add_account(s)
        for i in range(n + 5):  # the last five are recent: not due
            when = datetime(2023, 1, 1, tzinfo=UTC) + timedelta(hours=i) if i < n else datetime.now(UTC)
            post = Post(platform="twitter", post_id=str(i), account_id=account.id, author_handle="budi_s",
                        created_at=when, text=f"unggahan {i}", content_sha256=f"{i:064x}", source="test")
            s.add(post)
            s.flush()
            s.add(Score(post_id=post.id, model_version="v1", partisan_score=0.1, categories={}))
        s.commit()
    # The child stops inside its second batch, after the audit records, permits and deletes were flushed
    # but before the commit: the kill lands in the worst place.
    code = f"""
        import time
        from webutil import factory_for
        import netral.review.retention as retention
        from netral.settings import Settings
        delete, calls = retention._delete, []
        def delete_then_stall(session, due, who):
            delete(session, due, who)
            calls.append(len(due))
            if len(calls) == 2:
                print("flushed", len(due), flush=True)
                time.sleep(30)
        retention._delete = delete_then_stall
        retention.purge(factory_for({url!r}), Settings(), [], batch_size=5,
                        on_batch=lambda examined, purged: print("committed", purged, flush=True))
        print("done", flush=True)
    """
    seen = _run_and_kill(code, after_lines=2)
    assert seen == ["committed 5", "flushed 5"]
    def purged_ids() -> list[int]:
        with factory() as s:
            return [int(i) for i in s.scalars(select(AuditRecord.entity_id).where(AuditRecord.action == "post.purge"))]

    with factory() as s:
        left = set(s.scalars(select(Post.id)))
        gone = purged_ids()
        assert len(gone) == 5 and len(set(gone)) == 5  # the first batch only; the second rolled back
        assert not left & set(gone) and len(left) + len(gone) == n + 5  # one record per deleted post, no more
        assert s.scalar(select(func.count()).select_from(Score)) == len(left)  # derived rows went with them
        assert s.scalar(select(func.count()).select_from(PostDeletion)) == 0
        assert audit.verify_chain(s) == []
    from netral.review.retention import purge
    from netral.settings import Settings

    again = purge(factory, Settings(), [], batch_size=5)
    assert again.purged == n - len(gone)
    with factory() as s:
        assert sorted(purged_ids()) == sorted(set(purged_ids())) and len(purged_ids()) == n
        assert s.scalar(select(func.count()).select_from(Post)) == 5
        assert audit.verify_chain(s) == []
    factory.kw["bind"].dispose()
