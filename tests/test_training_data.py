from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from netral.settings import REPO_ROOT
from netral.training.data import (
    Example,
    LabelledDataError,
    SplitSet,
    add_decisions,
    data_hash,
    load_splits,
    make_splits,
    source_group,
    validate_record,
)
from netral.training.dedup import near_duplicate_key
from netral.training.metrics import choose_threshold

LABELLED = REPO_ROOT / "data" / "labelled"


def _ex(i: int, text: str, source: str = "pemilu2024_tweets.jsonl:1", when: str = "2023-12-01") -> Example:
    return Example(f"x{i}", text, i % 2 == 0, ["SUPPORT"] if i % 2 == 0 else [], source, created_at=when)


def test_near_duplicate_key_ignores_mentions_links_case_and_rt() -> None:
    a = "RT @budi: Coblos 02 ya!! https://t.co/abc #PrabowoGibran2024"
    b = "@siti @andi coblos 02 ya #prabowogibran2024 http://x.co/z"
    assert near_duplicate_key(a) == near_duplicate_key(b)
    assert near_duplicate_key("coblos 01 ya") == near_duplicate_key("coblos 03 ya")  # digits masked
    assert near_duplicate_key("pilih anies") != near_duplicate_key("pilih ganjar")


def test_splits_are_time_ordered_per_source_and_deduplicated() -> None:
    texts = [f"post unik nomor {w} tentang topik {w * 7} di kota {w * 13}" for w in
             ["satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan", "sepuluh"]]
    examples = [_ex(i, t, when=f"2023-12-{i + 1:02d}") for i, t in enumerate(texts)]
    examples.append(_ex(99, "RT @a: " + texts[9], when="2023-11-01"))  # old copy of the newest post
    splits = make_splits(examples, (0.6, 0.2, 0.2))
    assert [e.id for e in splits["test"]] == ["x8", "x9"]
    assert all(e.created_at < "2023-12-07" for e in splits["train"])
    assert "x99" not in {e.id for e in splits["train"]}  # its twin is in test


def test_committed_splits_are_disjoint_and_free_of_near_duplicates() -> None:
    s = load_splits(LABELLED)
    keys = {name: {near_duplicate_key(e.text) for e in getattr(s, name)} for name in ("train", "dev", "test")}
    assert not keys["train"] & keys["test"]
    assert not keys["train"] & keys["dev"]
    assert not keys["dev"] & keys["test"]
    ids = [e.id for e in s.train + s.dev + s.test]
    assert len(ids) == len(set(ids))
    assert len(s.train) + len(s.dev) + len(s.test) >= 2400
    assert sum(e.source == "written" for e in s.train + s.dev + s.test) >= 400


def test_labelled_files_follow_the_guideline() -> None:
    for path in (LABELLED / "pool.jsonl", LABELLED / "written.jsonl"):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            validate_record(json.loads(line), f"{path}:{n}")  # raises on any violation


@pytest.mark.parametrize(("rec", "msg"), [
    ({"id": "a", "text": "x", "source": "s", "partisan": True, "categories": []}, "minimal satu"),
    ({"id": "a", "text": "x", "source": "s", "partisan": False, "categories": ["SUPPORT"]}, "tidak boleh berkategori"),
    ({"id": "a", "text": "x", "source": "s", "partisan": True, "categories": ["HOAX"]}, "tidak dikenal"),
    ({"id": "a", "text": "", "source": "s", "partisan": True, "categories": ["SUPPORT"]}, "text"),
])
def test_invalid_records_are_refused(rec: dict, msg: str) -> None:
    with pytest.raises(LabelledDataError, match=msg):
        validate_record(rec, "f:1")


def test_unclear_records_are_left_out() -> None:
    assert validate_record({"id": "a", "text": "x", "source": "s", "partisan": None, "categories": []}, "f") is None


def test_decisions_join_training_only_and_never_twin_a_test_item() -> None:
    base = SplitSet([_ex(1, "latih satu dua tiga")], [_ex(2, "dev empat lima enam")],
                    [_ex(3, "uji tujuh delapan sembilan")])
    test_hash = data_hash(base.test)
    decisions = [_ex(10, "uji tujuh delapan sembilan"), _ex(11, "keputusan baru sepuluh sebelas")]
    merged, dropped = add_decisions(base, decisions)
    assert dropped == 1
    assert [e.id for e in merged.extra_train] == ["x11"]
    assert data_hash(merged.test) == test_hash
    assert merged.hash() != base.hash()


def test_threshold_reaches_the_recall_target() -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    scores = np.clip(y * 0.3 + rng.random(500) * 0.7, 0, 1)
    t = choose_threshold(y, scores, 0.95)
    recall = ((scores >= t) & (y == 1)).sum() / y.sum()
    assert recall >= 0.95
    assert ((scores >= t + 1e-6) & (y == 1)).sum() / y.sum() < 0.95 or t >= scores.max()


def test_missing_split_files_give_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LabelledDataError, match="build_dataset"):
        load_splits(tmp_path)


def test_written_posts_are_cut_per_topic() -> None:
    """Each hand-written topic reaches every split, instead of whole topics landing in test."""
    examples = []
    for topic, partisan in (("office", False), ("gesture", True)):
        for i in range(10):
            words = ["apel", "rapat", "pasar", "sawah", "sekolah", "taman", "jalan", "kantor", "sungai", "gunung"]
            text = f"{topic} {words[i]} {words[(i + 3) % 10]}an ke{words[(i + 7) % 10]} di{words[i]}nya"
            examples.append(Example(f"written-{topic}-{i:02d}", text, partisan, ["ATTRIBUTE"] if partisan else [],
                                    "written", note=topic))
    splits = make_splits(examples, (0.6, 0.2, 0.2))
    for name in ("train", "dev", "test"):
        assert {e.note for e in splits[name]} == {"office", "gesture"}, name
    assert [e.id for e in splits["test"] if e.note == "gesture"] == ["written-gesture-08", "written-gesture-09"]


def test_committed_written_topics_appear_in_train_and_test() -> None:
    s = load_splits(LABELLED)
    topics: dict[str, set[str]] = {}
    for name in ("train", "dev", "test"):
        for e in getattr(s, name):
            if e.source == "written":
                topics.setdefault(e.note, set()).add(name)
    big = [t for t, n in Counter(e.note for e in s.train + s.dev + s.test if e.source == "written").items() if n >= 10]
    assert big and all(topics[t] >= {"train", "test"} for t in big)


def test_committed_labels_are_reproduced_from_the_raw_annotations() -> None:
    """pool.jsonl / written.jsonl are exactly what the adjudication rule gives from the raw rounds."""
    from netral.training.build_dataset import POOLS, adjudicate, merge_pool_labels, written_records

    if not POOLS.is_dir():
        pytest.skip("the shared pools are not beside the checkout")
    records, figures = adjudicate(merge_pool_labels() + written_records())
    committed = {}
    for path in (LABELLED / "pool.jsonl", LABELLED / "written.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            committed[rec["id"]] = (rec["partisan"], rec["categories"], len(rec["votes"]))
    assert {r["id"]: (r["partisan"], r["categories"], len(r["votes"])) for r in records} == committed
    stats = json.loads((LABELLED / "stats.json").read_text(encoding="utf-8"))
    assert stats["annotation"] == figures
    assert figures["partisan_yes_no_kappa"] > 0.8  # the guideline is usable: independent labellers agree


# --- round 3: frozen evaluation sets from outside the training distribution -------------------------

TEST_SPLIT_HASH_BEFORE_ROUND3 = "df12dc31b1df1af2f070a720fbff5e2be2d5184b08a8fc2dc53bf0e839610b4d"


def test_in_domain_test_split_is_unchanged_by_round3() -> None:
    assert data_hash(load_splits(LABELLED).test) == TEST_SPLIT_HASH_BEFORE_ROUND3


def test_evaluation_sets_are_large_enough_and_cover_every_everyday_publisher() -> None:
    s = load_splits(LABELLED)
    everyday, cross = s.evals["everyday"], s.evals["cross_election"]
    assert len(everyday) >= 1500 and len(cross) >= 1000
    pools = Counter(source_group(e) for e in everyday)
    assert set(pools) == {"everyday_tweets_indolem_2020", "everyday_tweets_2018_hs_abusive",
                          "everyday_tweets_idsa_lowercased", "everyday_tweets_traffic_2019"}
    assert all(n >= 100 for n in pools.values())
    assert 0 < sum(e.partisan for e in everyday) < 0.1 * len(everyday)  # the few political posts are labelled


def test_no_post_of_the_held_out_election_is_in_training_or_dev() -> None:
    s = load_splits(LABELLED)
    held_pools = {"election2019_runup_tweets_2018", "pilpres2019_tweets"}
    assert not [e for e in s.train + s.dev if source_group(e) in held_pools]
    assert {source_group(e) for e in s.evals["cross_election"]} == held_pools
    era = {"everyday_tweets_2018_hs_abusive", "everyday_tweets_traffic_2019"}
    assert not [e for e in s.train + s.dev if e.partisan and source_group(e) in era]


def test_evaluation_sets_share_no_near_duplicate_with_training_or_dev() -> None:
    s = load_splits(LABELLED)
    fitted = {near_duplicate_key(e.text) for e in s.train + s.dev}
    for name, examples in s.evals.items():
        assert not {near_duplicate_key(e.text) for e in examples} & fitted, name
    ids = [e.id for e in s.train + s.dev + s.test + [e for v in s.evals.values() for e in v]]
    assert len(ids) == len(set(ids))


def test_dev_holds_everyday_posts_so_the_threshold_is_chosen_against_them() -> None:
    dev = load_splits(LABELLED).dev
    everyday = [e for e in dev if e.source.startswith("everyday_tweets")]
    assert len(everyday) >= 0.25 * len(dev)


def test_style_copies_are_seeded_lowercased_and_keep_labels_and_digits() -> None:
    from netral.training.augment import style_stripped, with_style_copies

    assert style_stripped("Coblos 02, ya!! #AMINAjaDulu 🙏") == "coblos 02 ya #aminajadulu"
    examples = [_ex(i, f"Post Nomor {i}, ya!") for i in range(40)] + [_ex(99, "sudah gaya polos")]
    out = with_style_copies(examples, 0.5, seed=7)
    copies = out[len(examples):]
    assert 5 < len(copies) < 35 and out[:len(examples)] == examples
    assert all(c.id.endswith("#style") and c.text == style_stripped(c.text) for c in copies)
    originals = {e.id: e for e in examples}
    assert all(c.partisan == originals[c.id.removesuffix("#style")].partisan for c in copies)
    assert "x99#style" not in {c.id for c in copies}  # a post already in that style is not copied
    assert [c.id for c in with_style_copies(examples, 0.5, seed=7)[len(examples):]] == [c.id for c in copies]
    assert with_style_copies(examples, 0.0, seed=7) == examples
