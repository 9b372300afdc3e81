"""Throughput benchmark (``make bench``): the naive baseline and Netral's scan path, side by side.

Both run in one invocation on the same 1,000 real posts from the shared pools, each in its own
subprocess so that peak memory (max RSS) is measured per path. Figures are printed, never
asserted: these machines are shared and noisy.

- naive: a ``transformers`` text-classification pipeline, fp32, every post padded to 128 tokens,
  one post at a time;
- netral-classify: ``Classifier.probabilities`` (normalisation, length-sorted batches, dynamic
  padding, inference mode);
- netral-scan: the whole ``netral scan`` path on a temporary SQLite database (evidence, election
  matching, score rows, flags, occlusion for flagged posts); ``-noexplain`` without occlusion.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from netral.settings import REPO_ROOT, get_settings

POOL = REPO_ROOT.parent / "shared" / "data" / "pools" / "pemilu2024_tweets.jsonl"


def load_posts(n: int) -> list[str]:
    texts = []
    with POOL.open(encoding="utf-8") as fh:
        for line in fh:
            texts.append(json.loads(line)["text"])
            if len(texts) >= n:
                break
    return texts


def model_dir() -> Path:
    from netral.models.registry import resolve

    return resolve(get_settings().registry_dir, os.environ.get("NETRAL_BENCH_MODEL")).path


def run_naive(texts: list[str]) -> None:
    import torch
    from transformers import pipeline

    import netral.models.architecture  # noqa: F401  (registers the classifier with the Auto classes)

    path = model_dir()
    pipe = pipeline("text-classification", model=str(path), tokenizer=str(path), device=-1, dtype=torch.float32,
                    function_to_apply="sigmoid", top_k=None)
    for t in texts:
        pipe(t, padding="max_length", truncation=True, max_length=128)


def run_classify(texts: list[str]) -> None:
    from netral.models.classifier import Classifier
    from netral.models.registry import resolve

    clf = Classifier(resolve(get_settings().registry_dir, str(model_dir())), max_length=128)
    clf.probabilities(texts, batch_size=32)


def run_scan(texts: list[str], explain: bool = True) -> None:
    from sqlalchemy.orm import sessionmaker

    from netral.db.engine import make_engine, upgrade
    from netral.models.classifier import Classifier
    from netral.models.registry import resolve
    from netral.pipeline.ingest import ingest_records
    from netral.pipeline.roster import RosterRow, upsert_roster
    from netral.pipeline.scan import scan

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        factory = sessionmaker(make_engine(url), expire_on_commit=False)
        from datetime import date

        with factory() as s:
            upsert_roster(s, [RosterRow(1, "198503122010011001", "Bench", "Unit", "", [("twitter", "bench")],
                                        date(1985, 3, 12), date(2010, 1, 1))], "bench")
            s.commit()
        recs = [(i, {"platform": "twitter", "post_id": str(i), "author": "bench", "created_at": "2024-01-10T10:00:00Z",
                     "text": t}) for i, t in enumerate(texts)]
        ingest_records(factory, recs, "bench")
        clf = Classifier(resolve(get_settings().registry_dir, str(model_dir())), max_length=128)
        t0 = time.perf_counter()
        scan(factory, clf, batch_size=32, explain=explain)
        print(json.dumps({"inner_seconds": time.perf_counter() - t0}))


PATHS = {"naive": run_naive, "netral-classify": run_classify,
         "netral-scan-noexplain": lambda texts: run_scan(texts, explain=False), "netral-scan": run_scan}


def child(name: str, n: int) -> None:
    texts = load_posts(n)
    t0 = time.perf_counter()
    PATHS[name](texts)
    seconds = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"path": name, "n": len(texts), "seconds": seconds, "peak_mb": peak_mb}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.n)
        return
    print(f"Model: {model_dir().name}; {args.n} post dari {POOL.name}; CPU threads: {os.cpu_count()}")
    rows = {}
    for name in PATHS:
        out = subprocess.run([sys.executable, "-m", "netral.pipeline.bench", "--child", name, "--n", str(args.n)],
                             capture_output=True, text=True, check=False)
        if out.returncode != 0:
            print(f"{name}: GAGAL\n{out.stderr[-2000:]}")
            continue
        res = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
        rows[name] = {k: v for r in res for k, v in r.items()}
    base = rows.get("naive")
    print(f"{'jalur':<17} {'post/detik':>11} {'detik':>8} {'× naive':>8} {'RSS puncak MB':>14}")
    for name, r in rows.items():
        rate = r["n"] / r["seconds"]
        ratio = rate / (base["n"] / base["seconds"]) if base else float("nan")
        print(f"{name:<17} {rate:>11.1f} {r['seconds']:>8.1f} {ratio:>8.2f} {r['peak_mb']:>14.0f}")
    for name, r in rows.items():
        if "inner_seconds" in r:
            print(f"({name} tanpa penyiapan DB/ingest: {r['n'] / r['inner_seconds']:.1f} post/detik)")


if __name__ == "__main__":
    main()
