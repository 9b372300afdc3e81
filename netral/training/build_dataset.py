"""Rebuild ``data/labelled/`` from the candidate batches and the labellers' files.

Run: ``python -m netral.training.build_dataset`` (idempotent). First-round labels were written per
candidate line; they are joined to texts by position because some pool ids were mangled upstream
("1,73E+18") and are not unique. Those records get a line-number id resolved from the pool.
Second-round (blind) labels and third-round labels for disagreements are joined by id and combined
by ``netral.training.adjudicate``; each record keeps every vote for provenance.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from netral.atomic import atomic_write_text
from netral.settings import REPO_ROOT
from netral.training.adjudicate import agreement, combine, needs_third
from netral.training.data import (
    EVAL_SETS,
    Example,
    dedupe_across,
    describe,
    load_examples,
    make_splits,
    read_jsonl,
    split_train_dev,
    write_jsonl_atomic,
    write_splits,
)

LABELLED = REPO_ROOT / "data" / "labelled"
POOLS = REPO_ROOT.parent / "shared" / "data" / "pools"


def _resolve_line_ids(records: list[dict], pool_dir: Path) -> None:
    """Replace non-numeric tweet ids by ``<pool>:L<line>`` found by exact text match in the pool."""
    broken = [r for r in records if not r["id"].split(":", 1)[1].lstrip("L").isdigit()]
    if not broken:
        return
    wanted = {r["text"]: r for r in broken}
    for pool in {r["source"] for r in broken}:
        with (pool_dir / pool).open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, start=1):
                text = json.loads(line)["text"].strip()
                if text in wanted:
                    wanted[text]["id"] = f"{pool.removesuffix('.jsonl')}:L{n}"


def merge_pool_labels(labelled: Path = LABELLED, pool_dir: Path = POOLS) -> list[dict]:
    merged: list[dict] = []
    for cand_path in sorted((labelled / "candidates").glob("candidates_*.jsonl")):
        batch = cand_path.stem.split("_")[1]
        label_path = labelled / "raw" / f"labels_pool_{batch}.jsonl"
        cands, labels = read_jsonl(cand_path), read_jsonl(label_path)
        if len(cands) != len(labels):
            raise SystemExit(f"{label_path}: {len(labels)} labels for {len(cands)} candidates")
        for n, (cand, lab) in enumerate(zip(cands, labels, strict=True), start=1):
            if cand["id"] != lab["id"]:
                raise SystemExit(f"{label_path}:{n}: id {lab['id']} does not match candidate {cand['id']}")
            merged.append({"id": cand["id"], "text": cand["text"], "partisan": lab["partisan"],
                           "categories": lab["categories"], "source": cand["source"],
                           "annotator": f"llm-assistant-pool-{batch}", "note": lab.get("note", ""),
                           "created_at": cand["created_at"]})
    _resolve_line_ids(merged, pool_dir)
    for rec in merged:
        rec["source"] = f"{rec['source']}:{rec['id'].split(':', 1)[1]}"  # pool file and id, per guideline
    ids = [r["id"] for r in merged]
    if len(ids) != len(set(ids)):
        raise SystemExit("duplicate ids after merge")
    return merged


def _round(paths: list[Path], annotator: str) -> dict[str, dict]:
    """Labels of one annotation round by id; ``{batch}`` in ``annotator`` is the file's batch number."""
    out: dict[str, dict] = {}
    for path in paths:
        batch = path.stem.rsplit("_", 1)[-1]
        for n, rec in enumerate(read_jsonl(path), start=1):
            if rec["id"] in out:
                raise SystemExit(f"{path}:{n}: id {rec['id']} labelled twice in this round")
            out[rec["id"]] = {**rec, "annotator": annotator.format(batch=batch)}
    return out


def adjudicate(first: list[dict], labelled: Path = LABELLED) -> tuple[list[dict], dict]:
    """Every record with its final label and all votes; and the agreement figures for the data card."""
    raw = labelled / "raw"
    second = _round(sorted((raw / "second").glob("labels_second_*.jsonl")), "llm-assistant-second-{batch}")
    third = _round(sorted((raw / "third").glob("labels_third*.jsonl")), "llm-assistant-third-{batch}")
    missing = [r["id"] for r in first if r["id"] not in second]
    if missing:
        raise SystemExit(f"{len(missing)} records lack a second label, e.g. {missing[:3]}")
    out, pairs = [], []
    for rec in first:
        votes = [{"annotator": rec["annotator"], "partisan": rec["partisan"], "categories": rec["categories"],
                  "note": rec.get("note", "")}]
        s = second[rec["id"]]
        votes.append({k: s.get(k, "") for k in ("annotator", "partisan", "categories", "note")})
        pairs.append(((rec["partisan"], rec["categories"]), (s["partisan"], s["categories"])))
        if needs_third(pairs[-1][0], pairs[-1][1]):
            if rec["id"] not in third:
                raise SystemExit(f"{rec['id']}: the two labels disagree and no third label exists")
            t = third[rec["id"]]
            votes.append({k: t.get(k, "") for k in ("annotator", "partisan", "categories", "note")})
        final = combine([(v["partisan"], list(v["categories"])) for v in votes])
        out.append({**rec, "partisan": final.partisan, "categories": final.categories,
                    "annotator": "+".join(v["annotator"] for v in votes), "votes": votes})
    figures = agreement([p[0] for p in pairs], [p[1] for p in pairs])
    figures["adjudicated_by_third"] = sum(len(r["votes"]) > 2 for r in out)
    figures["unclear_after_adjudication"] = sum(r["partisan"] is None for r in out)
    return out, figures


# Everyday pools from the years of the held-out election (2018 run-up, 2019 vote): a post in them that turns
# out partisan is most likely about Pilpres 2019, so it is kept out of training and dev.
CROSS_ELECTION_ERA_POOLS = ("everyday_tweets_2018_hs_abusive", "everyday_tweets_traffic_2019")
ROUND3_TRAIN_SETS = ("train_everyday", "train_hard", "train_dki2017")


def _stable_order(ex: Example) -> str:
    """A fixed pseudo-random order for posts without dates (the everyday pools)."""
    return hashlib.sha256(ex.id.encode()).hexdigest()


def assemble(examples: list[Example], sets: dict[str, str]) -> tuple[dict[str, list[Example]], dict[str, int]]:
    """Splits and frozen evaluation sets from adjudicated examples and the round-3 set of each id.

    Rounds 1-2 and the first written posts are split as before (so the in-domain test split stays
    frozen); round-3 posts enter training and dev only, or one of the two evaluation sets.
    Near-duplicates are removed with the evaluation sets first, then test, dev and train.
    """
    old = [e for e in examples if e.id not in sets and not e.id.startswith("written-r3")]
    out = make_splits(old)
    r3 = {name: [e for e in examples if sets.get(e.id) == name] for name in (*ROUND3_TRAIN_SETS, "everyday_eval",
                                                                             "cross_election_eval")}
    dropped_era = [e for e in r3["train_everyday"] + r3["train_hard"]
                   if e.partisan and e.source.split(":", 1)[0].removesuffix(".jsonl") in CROSS_ELECTION_ERA_POOLS]
    era_ids = {e.id for e in dropped_era}
    everyday_train, everyday_dev = split_train_dev([e for e in r3["train_everyday"] if e.id not in era_ids], 0.25,
                                                   key=_stable_order)
    dki_train, dki_dev = split_train_dev(r3["train_dki2017"], 0.2)
    written_r3 = [e for e in examples if e.id.startswith("written-r3")]
    written_train, written_dev = split_train_dev(written_r3, 0.25)
    out["train"] += everyday_train + [e for e in r3["train_hard"] if e.id not in era_ids] + dki_train + written_train
    out["dev"] += everyday_dev + dki_dev + written_dev
    out["everyday"] = r3["everyday_eval"]
    out["cross_election"] = r3["cross_election_eval"]
    before = sum(len(v) for v in out.values())
    out = dedupe_across(out, order=(*EVAL_SETS, "test", "dev", "train"))
    return out, {"cross_election_era_partisan_kept_out": len(dropped_era),
                 "near_duplicates_removed": before - sum(len(v) for v in out.values())}


def _round3_sets(labelled: Path) -> dict[str, str]:
    path = labelled / "candidates" / "round3_sets.jsonl"
    return {r["id"]: r["set"] for r in read_jsonl(path)} if path.is_file() else {}


def written_records(labelled: Path = LABELLED) -> list[dict]:
    """Hand-written posts with their writers' labels: the first set, then round 3."""
    paths = [labelled / "raw" / "written.jsonl", labelled / "raw" / "written_round3.jsonl"]
    return [rec for path in paths if path.is_file() for rec in read_jsonl(path)]


def main() -> None:
    pool = merge_pool_labels()
    records, figures = adjudicate(pool + written_records())
    n_pool = len(pool)
    sets = _round3_sets(LABELLED)
    for rec in records[:n_pool]:
        if rec["id"] in sets:
            rec["round3_set"] = sets[rec["id"]]
    for path, part in ((LABELLED / "pool.jsonl", records[:n_pool]), (LABELLED / "written.jsonl", records[n_pool:])):
        write_jsonl_atomic(path, (json.dumps(r, ensure_ascii=False) for r in part))
    examples, unclear = load_examples([LABELLED / "pool.jsonl", LABELLED / "written.jsonl"])
    parts, removed = assemble(examples, sets)
    write_splits({k: parts[k] for k in ("train", "dev", "test")}, LABELLED / "splits")
    write_splits({k: parts[k] for k in EVAL_SETS}, LABELLED / "eval")
    stats = {"labelled": describe(examples), "unclear_left_out": unclear, **removed,
             "annotation": figures,
             "splits": {k: describe(v) for k, v in parts.items()}}
    atomic_write_text(LABELLED / "stats.json", json.dumps(stats, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(stats, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
