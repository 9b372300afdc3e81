"""The whole model path on the real converted base: train a few steps, register, load, predict,
promote with the gate, and scan posts into flags (kill-and-resume, re-scan with a newer version).

Marked ``model``: slower, but part of CI."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from netral.db.schema import AuditRecord, Flag, FlagScoreHistory, Post, Score
from netral.models.classifier import Classifier
from netral.models.promotion import PromotionRefused, promote
from netral.models.registry import META_FILE, active_version, get_version, list_versions, set_active
from netral.pipeline import scan as scan_mod
from netral.pipeline.ingest import ingest_file
from netral.pipeline.masking import load_classifier
from netral.pipeline.roster import import_roster
from netral.pipeline.scan import ScanFilter, scan
from netral.settings import REPO_ROOT, Settings
from netral.training.config import TrainConfig
from netral.training.metrics import head_metrics
from netral.training.service import run_training

pytestmark = pytest.mark.model
SAMPLES = REPO_ROOT / "data" / "samples"


@pytest.fixture(scope="session")
def base_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    shared = os.environ.get("NETRAL_TEST_BASE_CACHE")
    return Path(shared) if shared else tmp_path_factory.mktemp("base")


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, base_cache: Path) -> tuple[Settings, str]:
    """One smoke-trained version in a private registry (a few steps on a small slice)."""
    data_dir = tmp_path_factory.mktemp("var")
    settings = Settings(data_dir=data_dir)
    cfg = TrainConfig(max_steps=4, batch_size=8, checkpoint_every=2, epochs=1)
    # Share the converted base between tests and runs.
    (data_dir / "base").parent.mkdir(parents=True, exist_ok=True)
    os.symlink(base_cache, data_dir / "base")
    mv = run_training(settings=settings, config=cfg, limit_train=32, limit_eval=48, progress=False)
    return settings, mv.version


def test_trained_version_is_registered_with_metadata(trained: tuple[Settings, str]) -> None:
    settings, version = trained
    mv = get_version(settings.registry_dir, version)
    meta = json.loads((mv.path / META_FILE).read_text())
    assert meta["mask_contestants"] is True and meta["mask_history"] == ["pilkada-dki-2017"]  # the recipe
    with pytest.raises(ValueError, match="penyamaran"):
        Classifier(mv)  # a masked version never runs on unmasked text
    assert meta["labels"] == ["partisan", "SUPPORT", "ATTACK", "SOLICITATION", "CAMPAIGN", "ATTRIBUTE"]
    assert 0.0 < meta["thresholds"]["partisan"] < 1.0
    assert set(meta["metrics"]["test"]) == set(meta["labels"])
    assert meta["base_model"].startswith("multilingual-e5-small")
    assert len(meta["data_hash"]) == 64 and meta["n_train"] == 32
    assert (mv.path / "model.safetensors").is_file() and (mv.path / "tokenizer.json").is_file()
    assert not (settings.registry_dir / "_runs").exists() or not any((settings.registry_dir / "_runs").iterdir())


def test_loaded_model_predicts_scores_in_range(trained: tuple[Settings, str]) -> None:
    settings, version = trained
    clf = load_classifier(get_version(settings.registry_dir, version), settings)
    texts = ["Coblos 02 ya tmn2! #PrabowoGibran2024", "Apel pagi di kantor dinas", ""]
    preds = clf.predict(texts)
    assert len(preds) == 3
    for p in preds:
        assert 0.0 <= p.partisan_score <= 1.0
        assert set(p.categories) == {"SUPPORT", "ATTACK", "SOLICITATION", "CAMPAIGN", "ATTRIBUTE"}
        assert p.partisan == (p.partisan_score >= clf.threshold)
    # Batching and order do not change scores.
    again = clf.probabilities(list(reversed(texts)), batch_size=1)[::-1]
    assert abs(again[0][0] - preds[0].partisan_score) < 1e-4


def test_predict_cli_writes_one_line_per_input_and_reports_bad_lines(trained, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    settings, version = trained
    from netral.cli import app

    monkeypatch.setenv("NETRAL_DATA_DIR", str(settings.data_dir))
    from netral.settings import get_settings

    get_settings.cache_clear()
    inp = tmp_path / "in.jsonl"
    inp.write_text('{"id": 1, "text": "Salam dua jari, dukung Prabowo-Gibran!"}\nnot json\n'
                   '{"id": "b", "text": "Rapat koordinasi di kantor"}\n{"id": "c"}\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    res = CliRunner().invoke(app, ["predict", "--input", str(inp), "--output", str(out), "--model", version])
    get_settings.cache_clear()
    assert res.exit_code == 1, res.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == [1, "b"]
    assert rows[0]["model_version"] == version
    assert {"partisan_score", "partisan", "categories", "evidence"} <= set(rows[0])
    labels = {e["label"] for e in rows[0]["evidence"]}
    assert {"GESTURE", "PAIR"} <= labels
    assert "in.jsonl:2" in res.output and "in.jsonl:4" in res.output


def test_evaluate_reports_model_beside_both_baselines_with_plots(trained: tuple[Settings, str]) -> None:
    import numpy as np

    from netral.training.data import SplitSet, load_splits
    from netral.training.evaluate import evaluate, render_markdown
    from netral.training.metrics import head_metrics

    settings, version = trained
    mv = get_version(settings.registry_dir, version)
    full = load_splits(settings.labelled_dir)
    splits = SplitSet(full.train[:300], full.dev[:48], full.test[:48])  # the slice the smoke version was tested on
    report = evaluate(mv, splits, settings)  # at the length the version was measured with in training
    assert set(report["baselines"]) == {"tfidf_logreg@recall", "tfidf_logreg@0.5", "gazetteer_rule"}
    y = np.array([e.partisan for e in splits.test])
    saved = np.load(mv.path / "test_probs.npy")[:, 0]  # scores written at training time
    expected = head_metrics(y, saved, mv.meta["thresholds"]["partisan"])
    assert report["model"]["partisan"]["confusion"] == expected["confusion"]
    assert sum(row["n"] for row in report["by_source"].values()) == 48
    assert (mv.path / "eval" / "evaluation.png").stat().st_size > 10_000
    md = render_markdown(report)
    assert "tfidf_logreg@recall" in md and "gazetteer_rule" in md and "Matriks konfusi" in md
    assert report["sets"]["test"]["systems"]["model"]["confusion"] == expected["confusion"]
    assert 0 <= report["style_check_dev"]["flipped"] <= report["style_check_dev"]["n"] == 48
    assert (mv.path / "eval" / "nonpartisan_scores.png").stat().st_size > 5_000
    with pytest.raises(ValueError, match="split uji berbeda"):
        evaluate(mv, SplitSet(full.train[:10], full.dev[:48], full.test[1:49]), settings)


def test_evaluate_measures_every_frozen_set_with_queue_precision(trained: tuple[Settings, str]) -> None:
    from netral.training.data import load_splits
    from netral.training.evaluate import evaluate, expected_precision

    settings, version = trained
    mv = get_version(settings.registry_dir, version)
    full = load_splits(settings.labelled_dir)
    if not full.evals:
        pytest.skip("no frozen evaluation sets committed")
    splits = full.replace(train=full.train[:300], dev=full.dev[:48], test=full.test[:48],
                          evals={k: v[:48] for k, v in full.evals.items()})
    report = evaluate(mv, splits, settings)
    assert set(report["sets"]) == {"test", "everyday", "cross_election"}
    everyday_ffr = report["sets"]["everyday"]["systems"]["model"]["false_flag_rate"]
    for data in report["sets"].values():
        assert set(data["systems"]) == {"model", "tfidf_logreg@recall", "tfidf_logreg@0.5", "gazetteer_rule"}
        row = data["systems"]["model"]
        assert row["expected_precision"]["1%"] == expected_precision(row["recall"], everyday_ffr, 0.01)
    # The scores at training time and now agree: the same masking and length were applied.
    saved = np.load(mv.path / "cross_election_probs.npy")[:, 0]
    y = np.array([e.partisan for e in splits.evals["cross_election"]])
    assert report["sets"]["cross_election"]["systems"]["model"]["confusion"] == head_metrics(
        y, saved, mv.threshold)["confusion"]
    bad = splits.replace(evals={**splits.evals, "everyday": splits.evals["everyday"][1:]})
    with pytest.raises(ValueError, match="everyday"):
        evaluate(mv, bad, settings)


def test_frozen_lower_layers_give_the_full_models_logits(trained: tuple[Settings, str]) -> None:
    """The cached training path is exact: lower outputs + upper layers == the whole model (eval mode)."""
    import torch

    from netral.training.frozen import lower_outputs, pad_hidden, upper_logits

    settings, version = trained
    clf = load_classifier(get_version(settings.registry_dir, version), settings)
    texts = ["query: coblos nomor dua ya bapak ibu", "query: apel pagi", "query: selamat hari raya idul fitri"]
    ids = clf.tokenizer(texts)["input_ids"]
    model = clf.model
    model.eval()
    with torch.inference_mode():
        full = model(**clf.tokenizer.pad({"input_ids": ids}, return_tensors="pt")).logits
        for k in (0, 6, 12):
            hidden, mask = pad_hidden(lower_outputs(model, ids, k))
            assert torch.allclose(upper_logits(model, hidden, mask, k), full, atol=1e-4), k


def _clone_version(settings: Settings, version: str, new: str, test_f1: float,
                   **set_metrics: tuple[str, float]) -> None:
    src = get_version(settings.registry_dir, version).path
    dst = settings.registry_dir / new
    shutil.copytree(src, dst)
    meta = json.loads((dst / META_FILE).read_text())
    meta["version"] = new
    meta["metrics"]["test"]["partisan"]["f1"] = test_f1
    for name, (key, value) in set_metrics.items():
        meta["metrics"].setdefault(name, {}).setdefault("partisan", {})[key] = value
        meta.setdefault("held_out_hashes", {}).setdefault(name, "h-" + name)
    (dst / META_FILE).write_text(json.dumps(meta))


def test_promotion_gate_refuses_worse_model_unless_forced_and_audits(trained, sqlite_factory) -> None:  # type: ignore[no-untyped-def]
    settings, version = trained
    reg = settings.registry_dir
    set_active(reg, version)
    f1 = get_version(reg, version).test_f1 or 0.0
    _clone_version(settings, version, "v-worse", f1 - 0.05)
    _clone_version(settings, version, "v-better", f1 + 0.05)
    with pytest.raises(PromotionRefused, match="lebih buruk"):
        promote(reg, "v-worse", sqlite_factory, actor="analis")
    assert active_version(reg).version == version  # type: ignore[union-attr]
    with pytest.raises(PromotionRefused, match="alasan"):
        promote(reg, "v-worse", sqlite_factory, actor="analis", force=True)
    promote(reg, "v-better", sqlite_factory, actor="analis")
    assert active_version(reg).version == "v-better"  # type: ignore[union-attr]
    promote(reg, "v-worse", sqlite_factory, actor="admin", force=True, reason="uji darurat")
    with sqlite_factory() as s:
        actions = [(r.action, r.actor, r.entity_id) for r in s.scalars(select(AuditRecord).order_by(AuditRecord.id))]
    assert actions == [("model.promote", "analis", "v-better"), ("model.promote.forced", "admin", "v-worse")]
    set_active(reg, version)
    for name in ("v-worse", "v-better"):
        shutil.rmtree(reg / name)
    assert [v.version for v in list_versions(reg)] == [version]


def test_promotion_gate_compares_everyday_false_flags_and_cross_election_recall(trained, sqlite_factory) -> None:  # type: ignore[no-untyped-def]
    settings, version = trained
    reg = settings.registry_dir
    f1 = get_version(reg, version).test_f1 or 0.0
    _clone_version(settings, version, "v-base", f1, everyday=("false_flag_rate", 0.020),
                   cross_election=("recall", 0.95))
    _clone_version(settings, version, "v-noisy", f1 + 0.02, everyday=("false_flag_rate", 0.026),
                   cross_election=("recall", 0.96))
    _clone_version(settings, version, "v-forgets", f1 + 0.02, everyday=("false_flag_rate", 0.010),
                   cross_election=("recall", 0.94))
    _clone_version(settings, version, "v-ok", f1 - 0.005, everyday=("false_flag_rate", 0.024),
                   cross_election=("recall", 0.95))
    try:
        set_active(reg, "v-base")
        with pytest.raises(PromotionRefused, match="indikasi keliru"):
            promote(reg, "v-noisy", sqlite_factory, actor="analis")
        with pytest.raises(PromotionRefused, match="lintas pemilu"):
            promote(reg, "v-forgets", sqlite_factory, actor="analis")
        check = promote(reg, "v-ok", sqlite_factory, actor="analis")  # within both tolerances
        assert check.allowed and "sehari-hari" in check.reason
        promote(reg, "v-forgets", sqlite_factory, actor="admin", force=True, reason="pemilu baru, dicek manual")
        assert active_version(reg).version == "v-forgets"  # type: ignore[union-attr]
    finally:
        set_active(reg, version)
        for name in ("v-base", "v-noisy", "v-forgets", "v-ok"):
            shutil.rmtree(reg / name)


@pytest.fixture
def posts_factory(sqlite_factory):  # type: ignore[no-untyped-def]
    with sqlite_factory() as s:
        import_roster(s, SAMPLES / "roster.csv")
        s.commit()
    assert ingest_file(sqlite_factory, SAMPLES / "posts.jsonl").stored == 17
    return sqlite_factory


def _low_threshold(settings: Settings, version: str) -> Classifier:
    """A smoke model is barely trained; a zero threshold makes every post a flag, exercising flag logic."""
    clf = load_classifier(get_version(settings.registry_dir, version), settings)
    clf.threshold = 0.0
    return clf


def test_scan_killed_midway_then_rerun_has_no_duplicates_and_no_losses(trained, posts_factory, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    settings, version = trained
    clf = _low_threshold(settings, version)
    real = scan_mod._apply_flag
    calls = {"n": 0}

    def dying(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 8:  # inside the second chunk
            raise KeyboardInterrupt("killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(scan_mod, "_apply_flag", dying)
    with pytest.raises(KeyboardInterrupt):
        scan(posts_factory, clf, chunk_size=5, explain=False)
    with posts_factory() as s:
        assert s.scalar(select(func.count()).select_from(Score)) == 5  # only the committed chunk
        assert s.scalar(select(func.count()).select_from(Flag)) == 5
    monkeypatch.setattr(scan_mod, "_apply_flag", real)
    result = scan(posts_factory, clf, chunk_size=5, explain=True)
    assert result.scanned == 12
    again = scan(posts_factory, clf, chunk_size=5)
    assert again.scanned == 0
    with posts_factory() as s:
        n_posts = s.scalar(select(func.count()).select_from(Post))
        assert s.scalar(select(func.count()).select_from(Score)) == n_posts == 17
        flags = list(s.scalars(select(Flag)))
        assert len(flags) == 17 and len({f.post_id for f in flags}) == 17
        with_gesture = [f for f in flags if any(e["label"] == "GESTURE" for e in f.evidence)]
        assert with_gesture, "sample posts with 'salam dua jari' must carry GESTURE evidence"
        # "nomor urut 2 Pilwali Malang" in November 2024: ballot number 2 of four elections held that day; the
        # flag shows every one (the Kota Malang pair among them) instead of guessing (issue 13).
        malang = [f for f in flags for e in f.evidence
                  if any(m["election_id"] == "pilkada-kota-malang-2024" for m in e.get("matches", []))]
        assert malang and all(len(e["matches"]) == 4 for f in malang for e in f.evidence
                              if e["label"] == "BALLOT_NUMBER")
        pre = [f for f in flags if f.window_note and "sebelum" in f.window_note]
        assert pre  # a pre-campaign post is flagged with its window
        assert any(f.drivers for f in flags)


def test_rescan_with_newer_version_updates_pending_flags_and_keeps_history(trained, posts_factory) -> None:  # type: ignore[no-untyped-def]
    settings, version = trained
    clf = _low_threshold(settings, version)
    scan(posts_factory, clf, ScanFilter(limit=6), explain=False)
    newer = "v-newer"
    _clone_version(settings, version, newer, 0.5)
    try:
        clf2 = load_classifier(get_version(settings.registry_dir, newer), settings)
        clf2.threshold = 0.0
        with posts_factory() as s:
            decided = s.scalars(select(Flag).order_by(Flag.id)).first()
            decided.status = "dismissed"  # type: ignore[union-attr]
            s.commit()
        res = scan(posts_factory, clf2, explain=False)
        assert res.scanned == 17 and res.updated_flags == 5 and res.flagged == 11
        with posts_factory() as s:
            assert s.scalar(select(func.count()).select_from(Flag)) == 17
            hist = list(s.scalars(select(FlagScoreHistory)))
            assert len(hist) == 5 and {h.model_version for h in hist} == {version}
            dismissed = s.get(Flag, decided.id)  # type: ignore[union-attr]
            assert dismissed.model_version == version  # decided flags keep the scores people saw
            assert s.scalar(select(func.count()).select_from(Score)) == 6 + 17
    finally:
        shutil.rmtree(settings.registry_dir / newer)


def test_retrain_job_adds_decisions_keeps_test_frozen_and_reports_the_gate(trained, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from netral.db.engine import make_engine, upgrade
    from netral.db.schema import Review, TrainJob, User
    from netral.training.decisions import decided_examples
    from netral.training.retrain import run_retrain_job

    settings, version = trained
    url = f"sqlite:///{tmp_path / 'retrain.db'}"
    upgrade(url)
    from sqlalchemy.orm import sessionmaker

    factory = sessionmaker(make_engine(url), expire_on_commit=False)
    with factory() as s:
        import_roster(s, SAMPLES / "roster.csv")
        s.commit()
    ingest_file(factory, SAMPLES / "posts.jsonl")
    with factory() as s:
        user = User(username="rina", password_hash="x", role="reviewer")
        s.add(user)
        posts = list(s.scalars(select(Post).order_by(Post.id)))
        confirmed = Flag(post_id=posts[1].id, status="verified", model_version=version, threshold=0.5,
                         partisan_score=0.9, categories={"SUPPORT": 0.9})
        dismissed = Flag(post_id=posts[0].id, status="dismissed", model_version=version, threshold=0.5,
                         partisan_score=0.7, categories={})
        pending = Flag(post_id=posts[2].id, status="pending", model_version=version, threshold=0.5,
                       partisan_score=0.6, categories={})
        s.add_all([confirmed, dismissed, pending])
        s.flush()
        s.add(Review(flag_id=confirmed.id, reviewer_id=user.id, stage="first", decision="confirm",
                     category="SOLICITATION", behaviour="ajakan_berpihak", reason="mengajak memilih"))
        job = TrainJob(started_by="analis", status="queued")
        s.add(job)
        s.commit()
        examples = {e.text: e for e in decided_examples(s)}
        job_id = job.id
    assert len(examples) == 2
    assert examples[posts[1].text].partisan and examples[posts[1].text].categories == ["SOLICITATION"]
    assert not examples[posts[0].text].partisan
    job_settings = Settings(data_dir=settings.data_dir, database_url=url)
    run_retrain_job(job_id, settings=job_settings, config=TrainConfig(max_steps=2, batch_size=8, epochs=1),
                    limit_train=16, limit_eval=48)
    with factory() as s:
        job = s.get(TrainJob, job_id)
        assert job is not None and job.status == "done" and job.progress == 1.0
        assert "Gerbang" in job.message
        new = get_version(settings.registry_dir, job.model_version)
        assert s.scalars(select(AuditRecord).where(AuditRecord.action == "model.train")).one().entity_id == new.version
    old = get_version(settings.registry_dir, version)
    assert new.meta["n_decisions"] == 2
    assert new.meta["test_split_hash"] == old.meta["test_split_hash"]
    assert new.meta["data_hash"] != old.meta["data_hash"]
    shutil.rmtree(new.path)


def test_demo_runs_every_step_to_the_flags_without_serving(trained, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The README's first command, end to end on a registered model (the scan step once broke when the demo
    called the Typer command function from Python)."""
    settings, version = trained
    from netral.cli import app
    from netral.settings import get_settings

    data_dir = tmp_path / "var"
    data_dir.mkdir()
    shutil.copytree(settings.registry_dir, data_dir / "models", copy_function=os.link)
    set_active(data_dir / "models", version)
    os.symlink(settings.base_cache_dir.resolve(), data_dir / "base")
    monkeypatch.setenv("NETRAL_DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    try:
        res = CliRunner().invoke(app, ["demo", "--no-serve"])
    finally:
        get_settings.cache_clear()
    assert res.exit_code == 0, res.output
    assert f"Model aktif: {version}" in res.output
    assert "unggahan dipindai" in res.output
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{data_dir / 'netral.db'}")
    with engine.connect() as conn:
        scored = conn.execute(select(func.count()).select_from(Score.__table__)).scalar_one()
        posts = conn.execute(select(func.count()).select_from(Post.__table__)).scalar_one()
    engine.dispose()
    assert posts > 0 and scored == posts
