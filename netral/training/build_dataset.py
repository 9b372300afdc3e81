"""Rebuild ``data/labelled/`` from the candidate batches and the labellers' files.

Run: ``python -m netral.training.build_dataset`` (idempotent). Labels were written per candidate
line; they are joined to texts by position because some pool ids were mangled upstream
("1,73E+18") and are not unique. Those records get a line-number id resolved from the pool.
"""

from __future__ import annotations

import json
from pathlib import Path

from netral.settings import REPO_ROOT
from netral.training.data import describe, load_examples, make_splits, read_jsonl, write_splits

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


def main() -> None:
    pool = merge_pool_labels()
    (LABELLED / "pool.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in pool),
                                         encoding="utf-8")
    written = read_jsonl(LABELLED / "raw" / "written.jsonl")
    (LABELLED / "written.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in written), encoding="utf-8")
    examples, unclear = load_examples([LABELLED / "pool.jsonl", LABELLED / "written.jsonl"])
    splits = make_splits(examples)
    write_splits(splits, LABELLED / "splits")
    stats = {"labelled": describe(examples), "unclear_left_out": unclear,
             "near_duplicates_removed": len(examples) - sum(len(v) for v in splits.values()),
             "splits": {k: describe(v) for k, v in splits.items()}}
    (LABELLED / "stats.json").write_text(json.dumps(stats, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(stats, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
