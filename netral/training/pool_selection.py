"""Choose which pool posts go to human/assistant labelling.

A random sample of the shared pools is mostly chatter that takes no side, so the labelled set would
be starved of the rarer categories (solicitation, party attributes, gestures). Selection is therefore
stratified by keyword buckets that hint at each guideline category, with a share of unmatched posts so
the negatives stay realistic. Selection never decides the label: labellers read every text.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

from netral.training.dedup import near_duplicate_key

BUCKETS: dict[str, re.Pattern[str]] = {
    "solicitation": re.compile(r"\b(ayo|yuk|mari|ajak|jangan lupa|wajib pilih)\b"),
    "vote_call": re.compile(r"\b(coblos|pilih|nomor urut|no urut|nomer|menang|satu putaran|presidenku|lanjutkan)\b"),
    "attack": re.compile(r"\b(jangan pilih|ganti presiden|dinasti|bohong|pencitraan|gagal|antek|dungu|planga)\b"),
    "campaign": re.compile(r"\b(kampanye|deklarasi|relawan|visi|misi|program|blusukan|tim pemenangan|tkn|timnas)\b"),
    "attribute": re.compile(
        r"\b(salam|jari|metal|kaos|atribut|kader|partai|gerindra|pdip|pdi|pks|nasdem|golkar|pkb|psi|demokrat"
        r"|perindo|ppp|pan)\b"
    ),
    "hashtag": re.compile(r"#\w+"),
    "neutral_hint": re.compile(r"\b(golput|kpu|bawaslu|netral|asn|pns|debat|dpt|tps|survei|jadwal|logistik)\b"),
}

POOLS = {
    "pemilu2024_tweets.jsonl": 1300,
    "capres2023_tweets_lowercased.jsonl": 1150,
    "pemilu2024_headlines.jsonl": 520,
}
# Second round (candidates_05..12): more tweets, where the classes are mixed and errors concentrate;
# headlines are almost all non-partisan, so few more of them. Round-one posts and their near-duplicates
# are excluded.
ROUND2_POOLS = {
    "pemilu2024_tweets.jsonl": 1500,
    "capres2023_tweets_lowercased.jsonl": 1500,
    "pemilu2024_headlines.jsonl": 250,
}
ROUND2_SEED = 29


@dataclass(frozen=True)
class Candidate:
    id: str
    text: str
    source: str
    created_at: str
    bucket: str


def _pool_id(pool: str, line_no: int, row: dict[str, object]) -> str:
    stem = pool.removesuffix(".jsonl")
    # Some pool ids were mangled by a spreadsheet ("1,73E+18"); only all-digit ids are trustworthy.
    raw_id = str(row.get("id") or "")
    return f"{stem}:{raw_id}" if raw_id.isdigit() else f"{stem}:L{line_no}"


def select(pool_dir: Path, seed: int = 13, quotas: dict[str, int] | None = None,
           exclude: set[str] | None = None) -> list[Candidate]:
    """Stratified, near-duplicate-free selection across the three pools.

    ``exclude`` holds near-duplicate keys of posts chosen in an earlier round, so a later round
    never re-selects a post or a copy of one.
    """
    rng = random.Random(seed)
    seen: set[str] = set(exclude or ())
    chosen: list[Candidate] = []
    for pool, quota in (quotas or POOLS).items():
        by_bucket: dict[str, list[Candidate]] = {b: [] for b in [*BUCKETS, "other"]}
        with open(pool_dir / pool, encoding="utf-8") as fh:
            for line_no, line in enumerate(fh, start=1):
                row = json.loads(line)
                text = str(row["text"]).strip()
                if len(text) < 20:
                    continue
                low = text.lower()
                bucket = next((b for b, rx in BUCKETS.items() if rx.search(low)), "other")
                created = str(row.get("created_at") or row.get("published") or "")
                by_bucket[bucket].append(Candidate(_pool_id(pool, line_no, row), text, pool, created, bucket))
        per_bucket = quota // len(by_bucket)
        for items in by_bucket.values():
            rng.shuffle(items)
            taken = 0
            for cand in items:
                key = near_duplicate_key(cand.text)
                if key in seen:
                    continue
                seen.add(key)
                chosen.append(cand)
                taken += 1
                if taken >= per_bucket:
                    break
    rng.shuffle(chosen)
    return chosen


def select_round2(pool_dir: Path, candidates_dir: Path) -> list[Candidate]:
    """The second selection round, excluding everything in ``candidates_01..04``."""
    exclude = set()
    for path in sorted(candidates_dir.glob("candidates_0[1-4].jsonl")):
        with open(path, encoding="utf-8") as fh:
            exclude.update(near_duplicate_key(json.loads(line)["text"]) for line in fh if line.strip())
    return select(pool_dir, seed=ROUND2_SEED, quotas=ROUND2_POOLS, exclude=exclude)


# Third round (candidates_13..): what a timeline looks like and an election kept out of training.
# Everyday posts are drawn at random (not by keyword) for the frozen everyday evaluation set and
# for training/dev; "hard" everyday posts are drawn by keyword (religion, fandom, sport, non-election
# "dukung"/"pilih"/"menang", government services) because random draws rarely contain them; the
# cross-election set comes from the Pilpres 2019 pools only (none of their posts may enter training);
# Pilkada DKI 2017 adds a second election to training.
ROUND3_SEED = 31
EVERYDAY_POOLS = ("everyday_tweets_indolem_2020.jsonl", "everyday_tweets_2018_hs_abusive.jsonl",
                  "everyday_tweets_idsa_lowercased.jsonl", "everyday_tweets_traffic_2019.jsonl")
CROSS_ELECTION_POOLS = ("election2019_runup_tweets_2018.jsonl", "pilpres2019_tweets.jsonl")
ROUND3_RANDOM = {  # pool: (everyday_eval, train_everyday)
    "everyday_tweets_indolem_2020.jsonl": (650, 950),
    "everyday_tweets_2018_hs_abusive.jsonl": (400, 650),
    "everyday_tweets_idsa_lowercased.jsonl": (400, 600),
    "everyday_tweets_traffic_2019.jsonl": (150, 200),
}
ROUND3_CROSS = {"election2019_runup_tweets_2018.jsonl": 900, "pilpres2019_tweets.jsonl": 250}
ROUND3_DKI = 1500
ROUND3_HARD = 1100
HARD_BUCKETS: dict[str, re.Pattern[str]] = {
    "non_election_vote_words": re.compile(
        r"\b(dukung|dukungan|pilih|pilihan|menang|kemenangan|nomor 1|nomor satu|no 1|juara|calon|periode|"
        r"lanjutkan|coblos|suara)\b"),
    "religion": re.compile(r"\b(allah|sholat|shalat|masjid|doa|ramadhan|ramadan|lebaran|ustadz|pengajian|jumat)\b"),
    "fandom_sport": re.compile(r"\b(persib|persija|arema|timnas|bola|liga|gol|bts|exo|kpop|idol|fans|vote|voting)\b"),
    "government_service": re.compile(
        r"\b(dinas|pemkot|pemkab|pemprov|bupati|walikota|wali kota|gubernur|camat|kelurahan|pelayanan|layanan|"
        r"puskesmas|sosialisasi|asn|pns|kantor)\b"),
    "politics_talk": re.compile(r"\b(presiden|jokowi|prabowo|partai|dpr|pemilu|pilkada|kampanye|politik)\b"),
}


@dataclass(frozen=True)
class Round3Item:
    candidate: Candidate
    set: str  # everyday_eval | cross_election_eval | train_everyday | train_hard | train_dki2017


def _read_pool(pool_dir: Path, pool: str, min_chars: int = 15) -> list[Candidate]:
    out = []
    with open(pool_dir / pool, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            row = json.loads(line)
            text = str(row["text"]).strip()
            if len(text) < min_chars:
                continue
            created = str(row.get("created_at") or row.get("published") or "")
            out.append(Candidate(_pool_id(pool, line_no, row), text, pool, created, "random"))
    return out


def select_round3(pool_dir: Path, candidates_dir: Path) -> list[Round3Item]:
    """Round three: random everyday draws, keyword-drawn hard everyday posts, Pilpres 2019, DKI 2017.

    Evaluation draws come first, so that training draws can never take a near-duplicate of them.
    """
    rng = random.Random(ROUND3_SEED)
    seen: set[str] = set()
    earlier = [p for p in sorted(candidates_dir.glob("candidates_*.jsonl")) if int(p.stem.split("_")[1]) < 13]
    for path in earlier:  # rounds 1-2 only, so that re-running round 3 reproduces it
        with open(path, encoding="utf-8") as fh:
            seen.update(near_duplicate_key(json.loads(line)["text"]) for line in fh if line.strip())
    items: list[Round3Item] = []

    def take(pool_items: list[Candidate], n: int, set_name: str) -> None:
        taken = 0
        for cand in pool_items:
            if taken >= n:
                break
            key = near_duplicate_key(cand.text)
            if key in seen:
                continue
            seen.add(key)
            items.append(Round3Item(cand, set_name))
            taken += 1

    pools = {p: _read_pool(pool_dir, p) for p in (*EVERYDAY_POOLS, *CROSS_ELECTION_POOLS)}
    for p in pools.values():
        rng.shuffle(p)
    for pool, n in ROUND3_CROSS.items():
        take(pools[pool], n, "cross_election_eval")
    for pool, (n_eval, _) in ROUND3_RANDOM.items():
        take(pools[pool], n_eval, "everyday_eval")
    for pool, (_, n_train) in ROUND3_RANDOM.items():
        take(pools[pool], n_train, "train_everyday")
    # Hard everyday posts: keyword buckets over what the random draws left.
    per_bucket = ROUND3_HARD // len(HARD_BUCKETS)
    chosen = {it.candidate.id for it in items}
    for rx in HARD_BUCKETS.values():
        matches = [c for pool in EVERYDAY_POOLS for c in pools[pool]
                   if c.id not in chosen and rx.search(c.text.lower())]
        rng.shuffle(matches)
        take(matches, per_bucket, "train_hard")
        chosen = {it.candidate.id for it in items}
    dki = _read_pool(pool_dir, "pilkada_dki2017_campaign_tweets.jsonl")
    rng.shuffle(dki)
    take(dki, ROUND3_DKI, "train_dki2017")
    rng.shuffle(items)
    return items


def write_round3(items: list[Round3Item], out_dir: Path, n_batches: int, first: int = 13) -> list[Path]:
    paths = write_batches([it.candidate for it in items], out_dir, n_batches, first)
    with open(out_dir / "round3_sets.jsonl", "w", encoding="utf-8") as fh:
        for it in items:
            fh.write(json.dumps({"id": it.candidate.id, "set": it.set}, ensure_ascii=False) + "\n")
    return paths


def write_batches(cands: list[Candidate], out_dir: Path, n_batches: int, first: int = 1) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for b in range(n_batches):
        path = out_dir / f"candidates_{b + first:02d}.jsonl"
        with open(path, "w", encoding="utf-8") as fh:
            for cand in cands[b::n_batches]:
                fh.write(json.dumps({"id": cand.id, "text": cand.text, "source": cand.source,
                                     "created_at": cand.created_at}, ensure_ascii=False) + "\n")
        paths.append(path)
    return paths


if __name__ == "__main__":
    import sys

    # python -m netral.training.pool_selection POOL_DIR OUT_DIR [N_BATCHES] [--round2 | --round3]
    args = [a for a in sys.argv[1:] if not a.startswith("--round")]
    pool_dir = Path(args[0])
    out = Path(args[1])
    if "--round3" in sys.argv:
        for p in write_round3(select_round3(pool_dir, out), out, int(args[2]) if len(args) > 2 else 10):
            print(p, len(p.read_text(encoding="utf-8").splitlines()))
        raise SystemExit(0)
    if "--round2" in sys.argv:
        cands, first, n = select_round2(pool_dir, out), 5, int(args[2]) if len(args) > 2 else 8
    else:
        cands, first, n = select(pool_dir), 1, int(args[2]) if len(args) > 2 else 4
    for p in write_batches(cands, out, n, first):
        print(p, len(p.read_text(encoding="utf-8").splitlines()))
