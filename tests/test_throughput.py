"""Throughput work (issue "Throughput"): the scan streams keyset pages and splits into disjoint shards, a
cascade's stopped posts are recorded and never flagged, drivers are computed on demand, and the int8
artefact (trimmed vocabulary, ONNX Runtime) keeps the fp32 model's scores, verifies its hashes and leaves
fp32 available. Uses a tiny Unigram/BERT version built here, so it runs without the real base model."""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from netral.db.engine import make_engine
from netral.db.schema import Flag, Post, Score
from netral.models.optimised import (
    ArtefactError,
    choose_exclusions,
    export_artefact,
    kept_ids,
    load_artefact,
    trim_tokenizer,
)
from netral.models.registry import ModelVersion
from netral.pipeline.ingest import ingest_records
from netral.pipeline.roster import RosterRow, upsert_roster
from netral.pipeline.scan import ScanFilter, Shard, count_pending, pending_pages, scan
from netral.settings import REPO_ROOT

WORDS = ["coblos", "nomor", "dua", "pilih", "paslon", "rapat", "kantor", "pagi", "makan", "siang", "jalan", "macet",
         "ayo", "dukung", "menang", "satu", "putaran", "hari", "ini", "libur"]
PIECES = ["\u2581" + w for w in WORDS] + ["co", "blos", "\u2581co", "no", "mor", "an", "ng", "ka", "ta"]
CHARS = sorted(set("".join(WORDS)))


# --- a tiny version with a Unigram tokenizer (the shape of e5's) -------------------------------------------

def _tiny_unigram_version(tmp_path: Path, threshold: float = 0.5) -> ModelVersion:
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    from netral.models.architecture import NetralMeanPoolClassifier

    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    vocab = [(p, 0.0) for p in specials] + [(p, -5.0) for p in PIECES] + [("\u2581", -3.0)]
    vocab += [(c, -8.0) for c in CHARS] + [("\u2581" + c, -8.5) for c in CHARS] + [("<mask>", 0.0)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=3, byte_fallback=False))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    tok.add_special_tokens(specials + ["<mask>"])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                   pad_token="<pad>", mask_token="<mask>")
    base = tmp_path / "base"
    encoder = BertModel(BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                   intermediate_size=64, pad_token_id=1), add_pooling_layer=False)
    encoder.save_pretrained(base)
    fast.save_pretrained(base)
    model = NetralMeanPoolClassifier.from_base(base, labels=["partisan", "SUPPORT"], text_prefix="")
    out = tmp_path / "v1"
    model.save_pretrained(out)
    fast.save_pretrained(out)
    meta = {"thresholds": {"partisan": threshold}}
    (out / "netral.json").write_text(json.dumps(meta))
    return ModelVersion("v1", out, meta)


def _ids(version: ModelVersion, texts: Sequence[str]) -> list[list[int]]:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(version.path)
    return tok(list(texts), truncation=True, max_length=32)["input_ids"]


CORPUS = ["coblos nomor dua", "ayo dukung paslon menang satu putaran", "rapat di kantor pagi ini",
          "makan siang dulu", "jalan macet hari ini", "pilih nomor satu", "libur hari ini"]


def test_trimmed_tokenizer_gives_the_same_ids_on_its_corpus_and_spells_out_unseen_words(tmp_path: Path) -> None:
    from tokenizers import Tokenizer

    version = _tiny_unigram_version(tmp_path)
    spec = json.loads((version.path / "tokenizer.json").read_text())
    vocab = {p: n for n, (p, _) in enumerate(spec["model"]["vocab"])}
    before = _ids(version, CORPUS)
    keep = kept_ids(vocab, [0, 1, 2, 3, vocab["<mask>"]], before)
    assert len(keep) < len(vocab)  # something was trimmed (pieces no corpus text used)
    trimmed = Tokenizer.from_str(json.dumps(trim_tokenizer(spec, keep)))
    row = {int(old): n for n, old in enumerate(keep)}
    for text, old_ids in zip(CORPUS, before, strict=True):
        assert trimmed.encode(text).ids == [row[i] for i in old_ids]
    # "\u2581co" was not used by the corpus ("coblos" is one piece): a word needing it still tokenises into
    # kept pieces, with no <unk>, and decodes to the same text.
    assert vocab["\u2581co"] not in set(keep.tolist())
    unseen = trimmed.encode("coma")
    assert 3 not in unseen.ids and trimmed.decode(unseen.ids) == "coma"
    assert trimmed.token_to_id("<mask>") == len(keep) - 1  # added tokens renumbered too


def test_exclusion_search_returns_the_most_sensitive_layers_to_fp32_until_the_checks_pass() -> None:
    groups = {"layer.0": ["a"], "layer.1": ["b"], "layer.2": ["c"], "layer.3": ["d"]}
    harm = {"layer.0": 0.001, "layer.1": 0.02, "layer.2": 0.004, "layer.3": 0.0005}
    sensitivity = dict(harm)  # measured on calibration texts, one layer quantised at a time
    asked: list[list[str]] = []

    def accept(excluded: list[str]) -> tuple[bool, dict[str, float]]:
        asked.append(list(excluded))
        err = sum(v for k, v in harm.items() if k not in excluded)
        return err <= 0.002, {"err": err}

    excluded, trail, passed = choose_exclusions(groups, sensitivity, accept)
    assert passed and excluded == ["layer.1", "layer.2"]  # the most sensitive first, stop once it passes
    assert asked == [[], ["layer.1"], ["layer.1", "layer.2"]]
    assert [t["passed"] for t in trail] == [False, False, True] and trail[-1]["err"] == pytest.approx(0.0015)
    # A bound that cannot be met: the search stops after max_steps and says it failed.
    excluded, trail, passed = choose_exclusions(groups, sensitivity, lambda ex: (False, {}), max_steps=2)
    assert not passed and excluded == ["layer.1", "layer.2"] and len(trail) == 3
    assert choose_exclusions(groups, sensitivity, lambda ex: (True, {}))[0] == []  # nothing to return


def test_judge_applies_the_agreement_and_f1_bounds() -> None:
    from netral.models.optimised import CheckSet, judge

    ref = np.array([0.9, 0.8, 0.2, 0.1] * 50)
    labels = np.array([True, True, False, False] * 50)
    same = judge(CheckSet("s", [""] * 200, ref, labels), ref.copy(), 0.5)
    assert same["passed"] and same["f1_loss"] == 0.0 and same["agreement"] == 1.0
    worse = ref.copy()
    worse[:8:4] = 0.3  # two true positives lost: F1 1.0 -> 0.99
    row = judge(CheckSet("s", [""] * 200, ref, labels), worse, 0.5)
    assert row["f1_loss"] == pytest.approx(1 - 2 * 98 / (2 * 98 + 2), abs=1e-4) and not row["passed"]
    unlabelled = judge(CheckSet("bench", [""] * 200, ref), worse, 0.5)
    assert unlabelled["agreement"] == 0.99 and unlabelled["passed"]  # 99 % agreement is the bound


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModelVersion, np.ndarray]:
    from netral.models.classifier import Classifier

    version = _tiny_unigram_version(tmp_path_factory.mktemp("tiny"))
    fp32 = Classifier(version, backend="fp32", lexicon={}, max_length=32)
    calibration = CORPUS * 3
    reference = fp32.probabilities(calibration)
    export_artefact(version, _ids(version, CORPUS), calibration, reference, max_length=32, target_agreement=0.0)
    return version, reference


def test_int8_artefact_scores_like_fp32_and_auto_prefers_it(exported: tuple[ModelVersion, np.ndarray]) -> None:
    from netral.models.classifier import Classifier

    version, reference = exported
    manifest = json.loads((version.path / "int8" / "artefact.json").read_text())
    assert set(manifest["files"]) == {"model.onnx", "tokenizer.json"} and manifest["version"] == "v1"
    assert manifest["vocabulary"]["kept"] < manifest["vocabulary"]["original"]
    assert manifest["quantisation"]["trimmed_fp32_onnx_vs_torch"]["max_abs_diff"] < 1e-4  # graph is exact
    # auto takes the artefact only once its quality checks passed (recorded by `netral model export`)
    assert Classifier(version, lexicon={}, max_length=32).backend == "fp32"
    from netral.models.optimised import Artefact
    from netral.pipeline.export import QualityCheck, record_quality

    artefact = load_artefact(version)
    assert artefact is not None
    record_quality(artefact, QualityCheck(1.0, 0.0, {"test": {"f1_loss": 0.0}}))
    auto = Classifier(version, lexicon={}, max_length=32)
    assert auto.backend == "int8" and auto._model is None  # the torch model is not loaded for scoring
    record_quality(Artefact(artefact.path, artefact.manifest), QualityCheck(0.95, 0.7, {"test": {"f1_loss": 0.03}}))
    assert Classifier(version, lexicon={}, max_length=32).backend == "fp32"
    assert Classifier(version, backend="int8", lexicon={}, max_length=32).backend == "int8"  # forced
    int8 = auto.probabilities(CORPUS * 3)
    assert int8.shape == reference.shape
    assert np.abs(int8 - reference).max() < 0.05
    fp32 = Classifier(version, backend="fp32", lexicon={}, max_length=32)
    assert fp32.backend == "fp32" and np.allclose(fp32.probabilities(CORPUS * 3), reference, atol=1e-5)
    assert auto.probabilities([]).shape == (0, 2)


def test_a_tampered_artefact_is_refused_and_a_missing_one_is_asked_for(
        exported: tuple[ModelVersion, np.ndarray], tmp_path: Path) -> None:
    import shutil

    from netral.models.classifier import Classifier

    version, _ = exported
    copy = ModelVersion("v1", tmp_path / "v1", version.meta)
    shutil.copytree(version.path, copy.path)
    assert load_artefact(copy) is not None
    with (copy.path / "int8" / "model.onnx").open("ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ArtefactError, match="hash"):
        Classifier(copy, backend="int8", lexicon={})
    shutil.rmtree(copy.path / "int8")
    with pytest.raises(ValueError, match="model export"):
        Classifier(copy, backend="int8", lexicon={})
    assert Classifier(copy, lexicon={}).backend == "fp32"  # auto falls back to fp32 without an artefact


# --- scan: keyset pages, shards, cascade -------------------------------------------------------------------

class FakeClassifier:
    """Scores by keyword, counts what it was asked to score: the scan's duck-typed model."""

    name = "fake-v1"
    threshold = 0.5
    categories = ("SUPPORT",)

    def __init__(self) -> None:
        self.seen: list[str] = []

    def probabilities(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        self.seen.extend(texts)
        return np.array([[0.9 if "coblos" in t else 0.1, 0.5] for t in texts], dtype=np.float32).reshape(-1, 2)


def _seed(factory: sessionmaker[Session], n: int) -> None:
    with factory() as s:
        upsert_roster(s, [RosterRow(1, "198503122010011001", "Uji", "Dinas Uji", "", [("twitter", "uji")],
                                    date(1985, 3, 12), date(2010, 1, 1))], "test")
        s.commit()
    recs = [(i, {"platform": "twitter", "post_id": str(i), "author": "uji", "created_at": "2024-01-10T10:00:00Z",
                 "text": f"coblos nomor {i} ya" if i % 4 == 0 else f"rapat pagi ke-{i} di kantor"})
            for i in range(1, n + 1)]
    ingest_records(factory, recs, "test")


def test_pending_posts_come_in_keyset_pages_and_shards_are_disjoint(factory: sessionmaker[Session]) -> None:
    _seed(factory, 23)
    pages = [[p.id for p in posts] for _, posts in pending_pages(factory, "fake-v1", ScanFilter(), 5)]
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    flat = [i for p in pages for i in p]
    assert flat == sorted(flat) and len(set(flat)) == 23
    shards = [{p.id for _, posts in pending_pages(factory, "fake-v1", ScanFilter(shard=Shard(i, 3)), 4)
               for p in posts} for i in range(3)]
    assert set().union(*shards) == set(flat) and sum(len(s) for s in shards) == 23
    with factory() as s:
        assert count_pending(s, "fake-v1", ScanFilter()) == 23
        assert count_pending(s, "fake-v1", ScanFilter(limit=7)) == 7
        assert count_pending(s, "fake-v1", ScanFilter(shard=Shard(1, 3))) == len(shards[1])
    limited = [p.id for _, posts in pending_pages(factory, "fake-v1", ScanFilter(limit=7), 5) for p in posts]
    assert limited == flat[:7]
    with pytest.raises(ValueError):
        Shard.parse("3/3")
    with pytest.raises(ValueError):
        Shard.parse("satu/dua")


def test_scan_pages_through_everything_once_and_resumes(factory: sessionmaker[Session]) -> None:
    _seed(factory, 23)
    clf = FakeClassifier()
    first = scan(factory, clf, ScanFilter(limit=9), chunk_size=4)  # type: ignore[arg-type]
    assert first.scanned == 9
    rest = scan(factory, clf, chunk_size=4)  # type: ignore[arg-type]
    assert rest.scanned == 14 and len(clf.seen) == 23
    assert scan(factory, clf, chunk_size=4).scanned == 0  # type: ignore[arg-type]
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Score)) == 23
        flags = list(s.scalars(select(Flag)))
        assert len(flags) == 5 == first.flagged + rest.flagged  # posts 4, 8, ..., 20
        assert all(f.drivers == [] and f.drivers_version is None for f in flags)  # drivers are not in the scan


class KeywordGate:
    name = "uji-gate"

    def passes(self, texts: Sequence[str]) -> list[bool]:
        return ["coblos" in t or "nomor" in t for t in texts]


def test_cascade_sends_only_signalled_posts_to_the_model_and_records_the_rest(factory: sessionmaker[Session]) -> None:
    _seed(factory, 12)
    clf = FakeClassifier()
    res = scan(factory, clf, cascade=KeywordGate(), chunk_size=5)  # type: ignore[arg-type]
    assert res.scanned == 12 and res.cascade_skipped == 9 and len(clf.seen) == 3
    with factory() as s:
        skipped = list(s.scalars(select(Score).where(Score.categories["cascade"].as_string() == "uji-gate")))
        assert len(skipped) == 9 and all(sc.partisan_score == 0.0 for sc in skipped)
        assert s.scalar(select(func.count()).select_from(Flag)) == 3


def _scan_shard(url: str, index: int, count: int) -> int:
    engine = make_engine(url)
    try:
        res = scan(sessionmaker(engine, expire_on_commit=False), FakeClassifier(),  # type: ignore[arg-type]
                   ScanFilter(shard=Shard(index, count)), chunk_size=7,
                   elections=[], settings=None)
        return res.scanned
    finally:
        engine.dispose()


def test_shards_scanned_by_parallel_processes_leave_no_duplicates(db_url: str, factory: sessionmaker[Session]
                                                                  ) -> None:
    _seed(factory, 60)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        counts = pool.starmap(_scan_shard, [(db_url, i, 3) for i in range(3)])
    assert sum(counts) == 60 and all(c > 0 for c in counts)
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Score)) == 60
        assert s.scalar(select(func.count(func.distinct(Score.post_id)))) == 60
        flags = list(s.scalars(select(Flag)))
        assert len(flags) == 15 and len({f.post_id for f in flags}) == 15


# --- drivers on demand ----------------------------------------------------------------------------------------

def test_drivers_are_computed_once_on_demand_and_by_the_background_job(
        factory: sessionmaker[Session], tmp_path: Path) -> None:
    from netral.models.classifier import Classifier
    from netral.review.drivers import ensure_drivers, explain_pending

    version = _tiny_unigram_version(tmp_path, threshold=0.0)
    clf = Classifier(version, backend="fp32", lexicon={}, max_length=32)
    _seed(factory, 6)
    with factory() as s:
        for post in s.scalars(select(Post)):
            s.add(Flag(post_id=post.id, status="pending", model_version="v1", threshold=0.0, partisan_score=0.6,
                       categories={}, evidence=[], created_at=datetime(2024, 1, 10, tzinfo=UTC)))
        s.commit()
    loads: list[str] = []

    def loader(name: str) -> Classifier | None:
        loads.append(name)
        return clf if name == "v1" else None

    with factory() as s:
        flag = s.scalars(select(Flag).order_by(Flag.id)).first()
        assert flag is not None
        assert ensure_drivers(s, flag, loader) is True
        assert flag.drivers_version == "v1" and isinstance(flag.drivers, list)
        assert all(set(d) == {"text", "delta"} and d["delta"] > 0 for d in flag.drivers)
        assert ensure_drivers(s, flag, loader) is False  # kept on the flag: not computed twice
        first_id = flag.id
    assert explain_pending(factory, loader, page_size=2) == 5  # the other five
    assert explain_pending(factory, loader) == 0
    with factory() as s:
        assert all(f.drivers_version == "v1" for f in s.scalars(select(Flag)))
        other = s.get(Flag, first_id)
        assert other is not None
        other.model_version = "gone"  # a version no longer in the registry: nothing computed, no error
        s.commit()
        assert ensure_drivers(s, other, loader) is False and other.drivers_version == "v1"


def test_make_bench_prints_the_summary_line_format() -> None:
    from netral.pipeline.bench import summary_line

    rows = {("election", "naive"): {"rate": 16.0}, ("election", "scan"): {"rate": 80.0},
            ("timeline", "scan"): {"rate": 500.0}}
    assert summary_line(rows) == "summary: scan_posts_per_s=80.0 ratio_vs_naive=5.00 timeline_posts_per_s=500.0"
    assert REPO_ROOT.joinpath("Makefile").read_text().count("netral.pipeline.bench") >= 1


# --- cascade ---------------------------------------------------------------------------------------------------

def test_cascade_gate_keeps_every_correct_flag_and_is_used_only_when_enabled(tmp_path: Path) -> None:
    from netral.pipeline.cascade import CharModel, cascade_for, choose_gate, save
    from netral.settings import Settings

    texts = ["coblos nomor dua ya", "ayo dukung paslon menang", "rapat pagi di kantor", "makan siang dulu",
             "pilih nomor satu", "jalan macet hari ini"] * 4
    labels = [True, True, False, False, True, False] * 4
    char = CharModel.fit(texts, labels, lexicon={})
    probs = char.probabilities(texts)
    assert probs[0] > probs[2]  # it learned something
    caught = np.array(labels)
    gate = choose_gate(probs, np.zeros(len(texts), dtype=bool), caught)
    assert all(p >= gate for p, c in zip(probs, caught, strict=True) if c)  # no correct flag lost
    # Posts with evidence pass anyway, so they do not hold the gate down.
    with_evidence = np.array([c and i == 0 for i, c in enumerate(caught)])
    assert choose_gate(probs, with_evidence, caught) >= gate

    version = ModelVersion("v1", tmp_path / "v1", {"thresholds": {"partisan": 0.5}})
    version.path.mkdir()
    settings = Settings(data_dir=tmp_path)
    assert cascade_for(version, settings, "on") is None  # none built yet
    save(version, char, gate, {"test": {"recall_loss": 0.01}}, enabled=False)
    assert cascade_for(version, settings, "auto") is None  # failed its recall check: not on by default
    forced = cascade_for(version, settings, "on")
    assert forced is not None and forced.passes(["coblos nomor dua ya"]) == [True]
    assert cascade_for(version, settings, "off") is None
    save(version, char, gate, {"test": {"recall_loss": 0.0}}, enabled=True)
    assert cascade_for(version, settings, "auto") is not None
    (version.path / "cascade" / "weights.npy").write_bytes(b"rusak")
    assert cascade_for(version, settings, "on") is None  # weights that do not verify are never used


def test_spacy_is_loaded_without_torch_and_torch_still_loads_later() -> None:
    """The int8 scan process stays small: spaCy's thinc must not drag torch in (about 275 MB of RSS)."""
    import subprocess
    import sys

    code = ("import sys\n"
            "from netral.pipeline.evidence import EvidenceExtractor\n"
            "from netral.settings import Settings\n"
            "spans = EvidenceExtractor.from_settings(Settings()).extract('Ayo coblos nomor 2, Prabowo-Gibran!')\n"
            "assert spans, spans\n"
            "assert 'torch' not in sys.modules, 'spaCy imported torch'\n"
            "import torch\n"
            "assert torch.ones(2).sum().item() == 2.0\n"
            "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=False)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_distillation_texts_skip_the_bench_posts_and_every_held_out_labelled_text(tmp_path: Path) -> None:
    from netral.pipeline.export import DISTILL_POOLS, distillation_texts
    from netral.settings import Settings

    pools, labelled = tmp_path / "pools", tmp_path / "labelled"
    (labelled / "eval").mkdir(parents=True)
    (labelled / "splits").mkdir()
    pools.mkdir()
    name, skip, _ = DISTILL_POOLS[0]
    lines = [{"text": f"pos {i} hari ini"} for i in range(skip + 40)]
    (pools / name).write_text("\n".join(json.dumps(r) for r in lines) + "\n", encoding="utf-8")
    held = f"pos {skip + 3} hari ini"
    (labelled / "eval" / "everyday.jsonl").write_text(json.dumps({"text": held.upper(), "partisan": False}) + "\n",
                                                     encoding="utf-8")
    (labelled / "splits" / "train.jsonl").write_text(json.dumps({"text": f"pos {skip + 5} hari ini"}) + "\n",
                                                    encoding="utf-8")
    settings = Settings(pools_dir=pools, labelled_dir=labelled)
    got = distillation_texts(settings)
    assert len(got) == 39  # 40 after the skipped start, minus the held-out one (matched after normalising)
    assert held not in got and f"pos {skip + 5} hari ini" in got  # training texts may be distilled
    assert not any(t == f"pos {i} hari ini" for t in got for i in range(skip))  # the bench's posts never
    assert distillation_texts(settings) == got  # seeded
