"""Labelled data: assembling records, making honest splits, adding reviewers' decisions.

Splits are made per source and by time (older posts train, newer posts test), so the test split
measures what matters in production: posts written after the model was trained. Near-duplicates
(retweets, copy-paste campaigns) are removed across splits, keeping the copy in the held-out split,
so no test item has a twin in training. The test split is written once and frozen; retraining with
reviewers' decisions only ever adds to the training split.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from netral.atomic import atomic_write_lines
from netral.training.dedup import near_duplicate_key
from netral.vocabulary import CATEGORIES, LABELS  # noqa: F401  (LABELS: finetune/evaluate import it from here)

SPLITS = ("train", "dev", "test")
# Frozen evaluation sets from outside the training distribution (``data/labelled/eval/``): random
# everyday posts and an election none of whose posts is in training. Never used to choose a
# threshold, a version or a training variant; only measured.
EVAL_SETS = ("everyday", "cross_election")
# The cross-election set's election (a config in ``settings.history_elections_dir``): it plays the part of
# an election configured after training, so only the evaluation of that set is masked with it.
CROSS_ELECTION_HISTORY = ("pilpres-2019",)


class LabelledDataError(ValueError):
    pass


@dataclass
class Example:
    id: str
    text: str
    partisan: bool
    categories: list[str]
    source: str
    annotator: str = ""
    note: str = ""
    created_at: str = ""

    def targets(self) -> list[float]:
        """Multi-label target vector: partisan first, then one per category."""
        return [float(self.partisan)] + [float(c in self.categories) for c in CATEGORIES]

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


def validate_record(rec: dict[str, Any], where: str) -> Example | None:
    """A guideline record → Example; None for 'unclear' (kept out of training and evaluation)."""
    for key in ("id", "text", "source"):
        if not isinstance(rec.get(key), str) or not rec[key].strip():
            raise LabelledDataError(f"{where}: kolom {key!r} tidak ada atau kosong")
    partisan = rec.get("partisan")
    if partisan is None:
        return None
    if not isinstance(partisan, bool):
        raise LabelledDataError(f"{where}: kolom 'partisan' harus true, false atau null")
    cats = rec.get("categories") or []
    bad = [c for c in cats if c not in CATEGORIES]
    if bad:
        raise LabelledDataError(f"{where}: kategori tidak dikenal {bad}")
    if partisan and not cats:
        raise LabelledDataError(f"{where}: entri partisan perlu minimal satu kategori")
    if not partisan and cats:
        raise LabelledDataError(f"{where}: entri non-partisan tidak boleh berkategori")
    return Example(rec["id"], rec["text"], partisan, list(cats), rec["source"], str(rec.get("annotator", "")),
                   str(rec.get("note", "")), str(rec.get("created_at", "")))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    out = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise LabelledDataError(f"{path}:{n}: JSON tidak valid ({exc.msg})") from None
    return out


def load_examples(paths: Iterable[Path]) -> tuple[list[Example], int]:
    """Examples from guideline-format files, and how many 'unclear' records were left out."""
    examples: list[Example] = []
    unclear = 0
    for path in paths:
        for n, rec in enumerate(read_jsonl(path), start=1):
            ex = validate_record(rec, f"{path}:{n}")
            if ex is None:
                unclear += 1
            else:
                examples.append(ex)
    return examples, unclear


def source_group(ex: Example) -> str:
    """The source a record belongs to for splitting: pool file, or 'written'."""
    return "written" if ex.source == "written" else ex.source.split(":", 1)[0].removesuffix(".jsonl")


def split_group(ex: Example) -> str:
    """The unit that is cut by time: a pool file, or one topic of the hand-written posts.

    Hand-written posts carry no time and were written in topic batches (office, neutrality,
    gesture, attribute, ...; the topic is their ``note``). Cutting them as one sequence put whole
    topics into one split (every gesture and attribute post in test, no written negative in dev),
    so the test measured topics never seen in training and dev could not choose a threshold for
    them. Each topic is therefore cut on its own, in the order it was written.
    """
    group = source_group(ex)
    if group != "written":
        return group
    written_round = "written-r3" if ex.id.startswith("written-r3") else "written"
    return f"{written_round}/{ex.note or 'other'}"


def make_splits(examples: Sequence[Example], fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
                ) -> dict[str, list[Example]]:
    """Per source (per topic for written posts), oldest → train, then dev, newest → test.

    Near-duplicates are kept only in the later split (test, then dev).
    """
    by_source: dict[str, list[Example]] = defaultdict(list)
    for ex in examples:
        by_source[split_group(ex)].append(ex)
    splits: dict[str, list[Example]] = {s: [] for s in SPLITS}
    for group in sorted(by_source):
        items = sorted(by_source[group], key=lambda e: (e.created_at, e.id))
        n = len(items)
        a, b = round(n * fractions[0]), round(n * (fractions[0] + fractions[1]))
        splits["train"] += items[:a]
        splits["dev"] += items[a:b]
        splits["test"] += items[b:]
    return dedupe_across(splits)


def _shingles(text: str) -> frozenset[str]:
    words = near_duplicate_key(text, n_words=60).split()
    return frozenset(" ".join(words[i:i + 3]) for i in range(max(1, len(words) - 2)))


def dedupe_across(splits: dict[str, list[Example]], jaccard: float = 0.6,
                  order: Sequence[str] = ("test", "dev", "train")) -> dict[str, list[Example]]:
    """Drop near-duplicates: within a split keep the first copy; across splits the earlier in ``order`` wins.

    Two passes: an exact key on the cleaned opening words (retweets, copies with extra tags), then
    word-trigram Jaccard similarity for edited copies whose openings differ.
    """
    owner: dict[str, str] = {}
    kept_shingles: list[frozenset[str]] = []
    for name in order:
        kept = []
        for ex in splits.get(name, []):
            key = near_duplicate_key(ex.text)
            if key in owner:
                continue
            sh = _shingles(ex.text)
            if any(len(sh & other) / len(sh | other) >= jaccard for other in kept_shingles if other):
                continue
            owner[key] = name
            kept_shingles.append(sh)
            kept.append(ex)
        splits[name] = kept
    return splits


def split_train_dev(
    examples: Sequence[Example], dev_fraction: float, key: Any = None
) -> tuple[list[Example], list[Example]]:
    """Per split group, the first ``1 - dev_fraction`` (by ``key``, default time then id) train, the rest dev.

    Used for sources added after the test split was frozen: they enter training and dev only, so
    the in-domain test split stays exactly what earlier versions were measured on.
    """
    by_group: dict[str, list[Example]] = defaultdict(list)
    for ex in examples:
        by_group[split_group(ex)].append(ex)
    train, dev = [], []
    for group in sorted(by_group):
        items = sorted(by_group[group], key=key or (lambda e: (e.created_at, e.id)))
        cut = round(len(items) * (1 - dev_fraction))
        train += items[:cut]
        dev += items[cut:]
    return train, dev


def data_hash(examples: Iterable[Example]) -> str:
    h = hashlib.sha256()
    for ex in sorted(examples, key=lambda e: e.id):
        h.update(ex.to_json().encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


@dataclass
class SplitSet:
    train: list[Example]
    dev: list[Example]
    test: list[Example]
    extra_train: list[Example] = field(default_factory=list)
    evals: dict[str, list[Example]] = field(default_factory=dict)

    def all_train(self) -> list[Example]:
        return self.train + self.extra_train

    def held_out(self) -> dict[str, list[Example]]:
        """Every frozen set a version is measured on: the in-domain test split first, then the others."""
        return {"test": self.test, **self.evals}

    def replace(self, **changes: Any) -> SplitSet:
        values = {"train": self.train, "dev": self.dev, "test": self.test, "extra_train": self.extra_train,
                  "evals": self.evals, **changes}
        return SplitSet(**values)

    def hash(self) -> str:
        return data_hash(self.all_train() + self.dev + self.test)


def write_jsonl_atomic(path: Path, lines: Iterable[str]) -> None:
    """Write JSON lines through a temporary file and a rename, so a crash never leaves half a file."""
    atomic_write_lines(path, lines)


def write_splits(splits: dict[str, list[Example]], out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, items in splits.items():
        write_jsonl_atomic(out_dir / f"{name}.jsonl", (ex.to_json() for ex in items))


def load_splits(labelled_dir: Path) -> SplitSet:
    split_dir = labelled_dir / "splits"
    missing = [s for s in SPLITS if not (split_dir / f"{s}.jsonl").is_file()]
    if missing:
        raise LabelledDataError(f"berkas split tidak ada di {split_dir}: {', '.join(missing)}; "
                                "jalankan `python -m netral.training.build_dataset`")
    loaded = {}
    for name in SPLITS:
        loaded[name] = [Example(**rec) for rec in read_jsonl(split_dir / f"{name}.jsonl")]
    evals = {}
    for name in EVAL_SETS:
        path = labelled_dir / "eval" / f"{name}.jsonl"
        if path.is_file():
            evals[name] = [Example(**rec) for rec in read_jsonl(path)]
    return SplitSet(loaded["train"], loaded["dev"], loaded["test"], evals=evals)


def add_decisions(splits: SplitSet, decisions: Sequence[Example]) -> tuple[SplitSet, int]:
    """Reviewers' decisions join training only; any that near-duplicate a dev/test item are dropped."""
    held = {near_duplicate_key(ex.text) for ex in splits.dev + [e for s in splits.held_out().values() for e in s]}
    have = {near_duplicate_key(ex.text) for ex in splits.train}
    extra, dropped = [], 0
    for ex in decisions:
        key = near_duplicate_key(ex.text)
        if key in held or key in have:
            dropped += 1
            continue
        have.add(key)
        extra.append(ex)
    return splits.replace(extra_train=extra), dropped


def describe(examples: Sequence[Example]) -> dict[str, Any]:
    cats: Counter[str] = Counter(c for ex in examples for c in ex.categories)
    return {"n": len(examples), "partisan": sum(ex.partisan for ex in examples),
            "not_partisan": sum(not ex.partisan for ex in examples),
            "categories": {c: cats.get(c, 0) for c in CATEGORIES},
            "sources": dict(Counter(source_group(ex) for ex in examples))}
