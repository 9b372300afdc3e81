"""Throughput benchmark (``make bench``): the naive baseline and Netral's paths, on two sets, in one run.

Sets, both from the shared pools (``settings.pools_dir``):

- **election**: the first 1,000 posts of the 2024 election pool (election chatter: most posts say something
  about a contestant);
- **timeline**: 19,000 everyday posts (the four everyday pools, in turn) and 1,000 election posts (the next
  posts of four election pools), shuffled with a fixed seed: what an ASN timeline looks like.

Paths, each in its own subprocess so that peak memory (max RSS) is its own:

- ``naive``: a ``transformers`` text-classification pipeline, fp32, every post padded to 128 tokens, one
  post at a time;
- ``fp32``: ``Classifier.probabilities`` with the PyTorch weights (normalisation, length-sorted batches,
  dynamic padding);
- ``int8``: the same with the version's optimised artefact (``netral model export``);
- ``scan``: ``netral scan`` as shipped (settings' backend and cascade defaults) on a temporary SQLite
  database: evidence, election matching, score rows, flags; drivers are not computed in a scan;
- ``scan+cascade``: the scan with the cascade's first stage forced on.

Rates count the posts over the work itself, after the model is loaded and the database filled (loading
is a one-off per process and is printed apart). ``--sample K`` measures the slow paths (naive, fp32) on
the timeline on every K-th post only, to keep one run under half an hour on two cores; ``--sample 1``
measures everything in full. Figures are printed, never asserted: these machines are shared and noisy.
The last line is the one summary line the issue asks for.

``--scale N`` is the memory/linearity case: N synthetic posts in SQLite, scanned with a constant-time
scorer so that only the scan's own machinery is measured; it prints elapsed time and RSS every N/8 posts.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from netral.settings import get_settings

ELECTION_POOL = "pemilu2024_tweets.jsonl"
EVERYDAY_POOLS = ("everyday_tweets_indolem_2020.jsonl", "everyday_tweets_2018_hs_abusive.jsonl",
                  "everyday_tweets_idsa_lowercased.jsonl", "everyday_tweets_traffic_2019.jsonl")
TIMELINE_ELECTION_POOLS = ("pemilu2024_tweets.jsonl", "capres2023_tweets_lowercased.jsonl",
                           "pilkada_dki2017_campaign_tweets.jsonl", "election2019_runup_tweets_2018.jsonl")
PATHS = ("naive", "fp32", "int8", "scan", "scan+cascade")
SLOW = ("naive", "fp32")


def _read(name: str, skip: int = 0, n: int | None = None) -> list[str]:
    out: list[str] = []
    with (get_settings().pools_dir / name).open(encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i < skip:
                continue
            text = json.loads(line).get("text")
            if isinstance(text, str) and text.strip():
                out.append(text)
            if n is not None and len(out) >= n:
                break
    return out


def election_set(n: int = 1000) -> list[str]:
    return _read(ELECTION_POOL, n=n)


def timeline_set(everyday: int = 19_000, election: int = 1_000) -> list[str]:
    per = -(-everyday // len(EVERYDAY_POOLS))
    pools = [_read(name) for name in EVERYDAY_POOLS]
    daily: list[str] = []
    i = 0
    while len(daily) < everyday and any(i < len(p) for p in pools):
        daily.extend(p[i] for p in pools if i < len(p))
        i += 1
    daily = daily[:everyday]
    assert per > 0
    elect: list[str] = []
    for name in TIMELINE_ELECTION_POOLS:
        skip = 1000 if name == ELECTION_POOL else 0  # not the election set's posts
        elect.extend(_read(name, skip=skip, n=election // len(TIMELINE_ELECTION_POOLS)))
    mix = daily + elect[:election]
    random.Random(20240214).shuffle(mix)
    return mix


def model_version() -> Any:
    from netral.models.registry import resolve

    return resolve(get_settings().registry_dir, os.environ.get("NETRAL_BENCH_MODEL"))


# --- the paths (each runs in a child process) -------------------------------------------------------------

def run_naive(texts: list[str]) -> float:
    import torch
    from transformers import pipeline

    import netral.models.architecture  # noqa: F401  (registers the classifier with the Auto classes)

    path = model_version().path
    pipe = pipeline("text-classification", model=str(path), tokenizer=str(path), device=-1, dtype=torch.float32,
                    function_to_apply="sigmoid", top_k=None)
    t0 = time.perf_counter()
    for t in texts:
        pipe(t, padding="max_length", truncation=True, max_length=128)
    return time.perf_counter() - t0


def run_scoring(texts: list[str], backend: str) -> float:
    from netral.pipeline.masking import load_classifier

    settings = get_settings()
    clf = load_classifier(model_version(), settings, backend=backend)  # type: ignore[arg-type]
    t0 = time.perf_counter()
    clf.probabilities(texts, batch_size=settings.scan_batch_size)
    return time.perf_counter() - t0


def _bench_db(tmp: str, texts: Sequence[str]) -> Any:
    from datetime import date

    from sqlalchemy.orm import sessionmaker

    from netral.db.engine import make_engine, upgrade
    from netral.pipeline.ingest import ingest_records
    from netral.pipeline.roster import RosterRow, upsert_roster

    url = f"sqlite:///{tmp}/bench.db"
    upgrade(url)
    factory = sessionmaker(make_engine(url), expire_on_commit=False)
    with factory() as s:
        upsert_roster(s, [RosterRow(1, "198503122010011001", "Bench", "Unit", "", [("twitter", "bench")],
                                    date(1985, 3, 12), date(2010, 1, 1))], "bench")
        s.commit()
    recs = [(i, {"platform": "twitter", "post_id": str(i), "author": "bench", "created_at": "2024-01-10T10:00:00Z",
                 "text": t}) for i, t in enumerate(texts)]
    ingest_records(factory, recs, "bench")
    return factory


def run_scan(texts: list[str], cascade: str | None) -> float:
    from netral.pipeline.cascade import cascade_for
    from netral.pipeline.masking import load_classifier
    from netral.pipeline.scan import scan

    settings = get_settings()
    mv = model_version()
    with tempfile.TemporaryDirectory() as tmp:
        factory = _bench_db(tmp, texts)
        clf = load_classifier(mv, settings)
        gate = cascade_for(mv, settings, cascade or settings.cascade)
        t0 = time.perf_counter()
        res = scan(factory, clf, batch_size=settings.scan_batch_size, cascade=gate, settings=settings)
        seconds = time.perf_counter() - t0
        print(json.dumps({"backend": clf.backend, "cascade": bool(gate), "flagged": res.flagged,
                          "to_model": res.scanned - res.cascade_skipped}))
        return seconds


def child(path: str, dataset: str, sample: int, timeline: int = 20_000) -> None:
    texts = election_set() if dataset == "election" else timeline_set(timeline * 19 // 20, timeline // 20)
    if sample > 1:
        texts = texts[::sample]
    t0 = time.perf_counter()
    if path == "naive":
        seconds = run_naive(texts)
    elif path in ("fp32", "int8"):
        seconds = run_scoring(texts, path)
    else:
        seconds = run_scan(texts, "on" if path == "scan+cascade" else None)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"n": len(texts), "seconds": seconds, "setup": time.perf_counter() - t0 - seconds,
                      "peak_mb": peak_mb}))


# --- the parent: run every (set, path), print the table and the summary ---------------------------------

def summary_line(rows: dict[tuple[str, str], dict[str, Any]]) -> str:
    scan_rate = rows.get(("election", "scan"), {}).get("rate", float("nan"))
    naive = rows.get(("election", "naive"), {}).get("rate", float("nan"))
    timeline = rows.get(("timeline", "scan"), {}).get("rate", float("nan"))
    return (f"summary: scan_posts_per_s={scan_rate:.1f} ratio_vs_naive={scan_rate / naive:.2f} "
            f"timeline_posts_per_s={timeline:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--child", nargs=2, metavar=("PATH", "SET"))
    parser.add_argument("--sample", type=int, default=10, help="slow paths on the timeline: every K-th post")
    parser.add_argument("--sets", default="election,timeline")
    parser.add_argument("--paths", default=",".join(PATHS))
    parser.add_argument("--scale", type=int, help="memory/linearity case with N synthetic posts")
    parser.add_argument("--timeline", type=int, default=20_000, help="size of the timeline mix (5 %% election)")
    args = parser.parse_args()
    if args.scale:
        scale(args.scale)
        return
    if args.child:
        child(args.child[0], args.child[1], args.sample, args.timeline)
        return
    mv = model_version()
    print(f"Model: {mv.version}; pools: {get_settings().pools_dir}; CPU: {os.cpu_count()}", flush=True)
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for dataset in args.sets.split(","):
        for path in args.paths.split(","):
            sample = args.sample if dataset == "timeline" and path in SLOW else 1
            out = subprocess.run([sys.executable, "-m", "netral.pipeline.bench", "--child", path, dataset,
                                  "--sample", str(sample), "--timeline", str(args.timeline)],
                                 capture_output=True, text=True, check=False)
            if out.returncode != 0:
                print(f"{dataset}/{path}: GAGAL\n{out.stderr[-2000:]}", flush=True)
                continue
            found = {k: v for line in out.stdout.splitlines() if line.startswith("{")
                     for k, v in json.loads(line).items()}
            found["rate"] = found["n"] / found["seconds"]
            found["sample"] = sample
            rows[(dataset, path)] = found
            print(f"  {dataset:<9} {path:<13} {found['rate']:>9.1f} post/s  n={found['n']:<6} "
                  f"RSS {found['peak_mb']:>6.0f} MB  (muat {found['setup']:.1f} s)", flush=True)
    print()
    print(f"{'set':<9} {'path':<13} {'posts/s':>9} {'x naive':>8} {'peak RSS MB':>12}  note")
    for (dataset, path), r in rows.items():
        naive = rows.get((dataset, "naive"), {}).get("rate")
        ratio = r["rate"] / naive if naive else float("nan")
        note = f"every {r['sample']}th post ({r['n']})" if r["sample"] > 1 else f"{r['n']} posts"
        if "to_model" in r:
            note += f"; {r['backend']}, cascade {'on' if r['cascade'] else 'off'}, {r['to_model']} to the model, "
            note += f"{r['flagged']} flags"
        print(f"{dataset:<9} {path:<13} {r['rate']:>9.1f} {ratio:>8.2f} {r['peak_mb']:>12.0f}  {note}")
    print(summary_line(rows))


# --- scale: 200,000 posts, flat memory, linear time ------------------------------------------------------

class ConstantTimeScorer:
    """A stand-in model that costs nothing, so the scale case measures the scan's own machinery."""

    name = "bench-scale"
    threshold = 0.5
    categories = ("SUPPORT",)

    def probabilities(self, texts: Sequence[str], batch_size: int = 32) -> Any:
        import numpy as np

        # about 2 % above threshold, deterministic
        return np.array([[0.9 if hash(t) % 50 == 0 else 0.1, 0.1] for t in texts], dtype=np.float32).reshape(-1, 2)


def _rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def scale(n: int) -> None:
    from datetime import UTC, date, datetime

    from sqlalchemy import insert
    from sqlalchemy.orm import sessionmaker

    from netral.db.engine import make_engine, upgrade
    from netral.db.schema import Account, Post
    from netral.pipeline.scan import scan

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/scale.db"
        upgrade(url)
        engine = make_engine(url)
        factory = sessionmaker(engine, expire_on_commit=False)
        words = ("rapat", "kantor", "makan", "siang", "jalan", "macet", "hujan", "pagi", "kopi", "libur")
        t0 = time.perf_counter()
        with factory() as s:
            account = Account(nip="198503122010011001", name="Skala", unit="Unit", birth_date=date(1985, 3, 12),
                              appointed=date(2010, 1, 1))
            s.add(account)
            s.flush()
            for start in range(0, n, 10_000):
                s.execute(insert(Post), [
                    {"platform": "twitter", "post_id": str(i), "account_id": account.id, "author_handle": "skala",
                     "url": f"https://x.com/skala/status/{i}", "created_at": datetime(2024, 1, 10, tzinfo=UTC),
                     "text": f"{words[i % 10]} {words[(i * 7) % 10]} ke-{i} hari ini", "kind": "post",
                     "content_sha256": f"{i:064x}", "source": "bench-scale"}
                    for i in range(start, min(n, start + 10_000))])
            s.commit()
        print(f"{n} post sintetis dimuat dalam {time.perf_counter() - t0:.1f} s; RSS {_rss_mb():.0f} MB", flush=True)
        step = max(1, n // 8)
        state = {"done": 0, "next": step, "t0": time.perf_counter()}

        def progress(k: int) -> None:
            state["done"] += k
            if state["done"] >= state["next"]:
                elapsed = time.perf_counter() - state["t0"]
                print(f"  {state['done']:>8} post  {elapsed:>7.1f} s  {state['done'] / elapsed:>8.0f} post/s  "
                      f"RSS {_rss_mb():.0f} MB", flush=True)
                state["next"] += step

        res = scan(factory, ConstantTimeScorer(), chunk_size=512, on_progress=progress)  # type: ignore[arg-type]
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"scale: {res.scanned} post, {res.flagged} tanda, {res.seconds:.1f} s, "
              f"{res.posts_per_second:.0f} post/s, RSS puncak {peak:.0f} MB")
        engine.dispose()


if __name__ == "__main__":
    main()
