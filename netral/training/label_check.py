"""Check a labeller's file against its candidate batch before it enters ``build_dataset``.

Labellers (people or assistant instances) write one JSON line per candidate; a file with a missing,
reordered or malformed line would otherwise only fail at the next dataset build, long after the
labeller is gone. Run: ``python -m netral.training.label_check CANDIDATES LABELS [--any-order]``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

CATEGORY_IDS = ("SUPPORT", "ATTACK", "SOLICITATION", "CAMPAIGN", "ATTRIBUTE")


def check(candidates: Path, labels: Path, any_order: bool = False) -> list[str]:
    """Problems found, each naming the line; empty when the file is complete and well-formed."""
    problems: list[str] = []
    cand_ids = [json.loads(line)["id"] for line in candidates.read_text(encoding="utf-8").splitlines() if line.strip()]
    got: list[str] = []
    for n, line in enumerate(labels.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{labels}:{n}: invalid JSON ({exc.msg})")
            continue
        if set(rec) - {"id", "partisan", "categories", "note"} or "id" not in rec or "partisan" not in rec:
            problems.append(f"{labels}:{n}: fields must be id, partisan, categories, note")
            continue
        got.append(rec["id"])
        p, cats = rec["partisan"], rec.get("categories") or []
        if p not in (True, False, None):
            problems.append(f"{labels}:{n}: partisan must be true, false or null")
        if any(c not in CATEGORY_IDS for c in cats):
            problems.append(f"{labels}:{n}: unknown category in {cats}")
        if p is True and not cats:
            problems.append(f"{labels}:{n}: partisan record needs at least one category")
        if p is not True and cats:
            problems.append(f"{labels}:{n}: categories only on partisan records")
    if any_order:
        missing = set(cand_ids) - set(got)
        extra = set(got) - set(cand_ids)
        if missing:
            problems.append(f"{labels}: {len(missing)} candidates not labelled, e.g. {sorted(missing)[:3]}")
        if extra:
            problems.append(f"{labels}: {len(extra)} ids not in {candidates.name}, e.g. {sorted(extra)[:3]}")
        if len(got) != len(set(got)):
            problems.append(f"{labels}: some ids labelled twice")
    elif got != cand_ids:
        pairs = enumerate(zip(got, cand_ids, strict=False))
        first_bad = next((i for i, (a, b) in pairs if a != b), min(len(got), len(cand_ids)))
        problems.append(f"{labels}: {len(got)} labels for {len(cand_ids)} candidates; "
                        f"first mismatch at line {first_bad + 1}")
    return problems


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    found = check(Path(args[0]), Path(args[1]), any_order="--any-order" in sys.argv)
    print("\n".join(found) if found else "OK")
    raise SystemExit(1 if found else 0)
