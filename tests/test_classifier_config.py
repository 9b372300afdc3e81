"""A registered version is loaded through the Auto classes like any checkpoint: its outputs are named by
its saved config (id2label), and loading it emits no warning (none is silenced either)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from transformers import BertConfig, BertModel, BertTokenizerFast

from netral.models.architecture import NetralMeanPoolClassifier
from netral.models.classifier import Classifier
from netral.models.registry import ModelVersion


def _tiny_version(tmp_path: Path, labels: list[str]) -> ModelVersion:
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "coblos", "nomor", "dua", "halo"]))
    tokenizer = BertTokenizerFast(vocab_file=str(vocab))
    encoder = BertModel(BertConfig(vocab_size=9, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                                   intermediate_size=8), add_pooling_layer=False)
    base = tmp_path / "base"
    encoder.save_pretrained(base)
    tokenizer.save_pretrained(base)
    model = NetralMeanPoolClassifier.from_base(base, labels=labels, text_prefix="")
    out = tmp_path / "v1"
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return ModelVersion("v1", out, {"thresholds": {"partisan": 0.5}})


def test_outputs_are_named_by_the_saved_config(tmp_path: Path) -> None:
    # A version trained with an older, shorter category list keeps reporting exactly those categories.
    clf = Classifier(_tiny_version(tmp_path, ["partisan", "SUPPORT", "CAMPAIGN"]))
    assert clf.labels == ("partisan", "SUPPORT", "CAMPAIGN")
    assert clf.probabilities(["coblos nomor dua", "halo"]).shape == (2, 3)
    [pred] = clf.predict(["coblos nomor dua"])
    assert set(pred.categories) == {"SUPPORT", "CAMPAIGN"}


def test_a_config_without_the_partisan_head_first_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="partisan"):
        Classifier(_tiny_version(tmp_path, ["SUPPORT", "partisan"]))


def test_loading_a_version_warns_about_nothing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    version = _tiny_version(tmp_path, ["partisan", "SUPPORT"])
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="transformers"):
        Classifier(version)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_the_slang_lexicon_is_the_callers(tmp_path: Path) -> None:
    version = _tiny_version(tmp_path, ["partisan", "SUPPORT"])
    assert Classifier(version, lexicon={"gk": "tidak"}).prepare("gk coblos") == "tidak coblos"
    assert Classifier(version, lexicon={}).prepare("gk coblos") == "gk coblos"
