"""The trimmed vocabulary on the real tokenizer: identical token ids on every text of the shared pools
before and after trimming (the pieces kept are those the pools and labelled data use plus every single
character), and unseen words still tokenise without ``<unk>``. Marked ``model``: needs the converted base
(converted once, or reused from ``NETRAL_TEST_BASE_CACHE``)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from netral.models.optimised import kept_ids, trim_tokenizer
from netral.normalise import normalise
from netral.pipeline.export import corpus_files, corpus_texts
from netral.settings import Settings

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from netral.models.base import prepare_base

    shared = os.environ.get("NETRAL_TEST_BASE_CACHE")
    return prepare_base(Path(shared) if shared else tmp_path_factory.mktemp("base"), progress=False)


def test_pool_texts_get_identical_ids_from_the_trimmed_tokenizer(base: Path) -> None:
    from tokenizers import Tokenizer

    settings = Settings()
    if not settings.pools_dir.is_dir():
        pytest.skip(f"pools not found at {settings.pools_dir}")
    full = Tokenizer.from_file(str(base / "tokenizer.json"))
    full.enable_truncation(128)
    pool_files = [f for f in corpus_files(settings) if f.parent == settings.pools_dir]
    texts = [t for text in corpus_texts(pool_files) for t in (text, normalise(text))]
    assert len(texts) > 100_000
    before = [e.ids for e in full.encode_batch(texts)]
    spec = json.loads((base / "tokenizer.json").read_text(encoding="utf-8"))
    vocab = {p: n for n, (p, _) in enumerate(spec["model"]["vocab"])}
    specials = [int(t["id"]) for t in spec["added_tokens"]]
    keep = kept_ids(vocab, specials, before)
    assert len(keep) < len(vocab) // 4  # the point: most of the 250,002 pieces go
    trimmed = Tokenizer.from_str(json.dumps(trim_tokenizer(spec, keep)))
    trimmed.enable_truncation(128)
    old_of = keep.tolist()
    after = [[old_of[i] for i in e.ids] for e in trimmed.encode_batch(texts)]
    mismatched = [t for t, a, b in zip(texts, after, before, strict=True) if a != b]
    assert mismatched == []
    # A word made of pieces no pool used is segmented into kept pieces, never into <unk>.
    unk = trimmed.token_to_id("<unk>")
    rare = "pneumonoultramicroscopicsilicovolcanoconiosis xylofonografika zzyzxqj"
    enc = trimmed.encode(rare)
    assert unk not in enc.ids[1:-1] and trimmed.decode(enc.ids) == full.decode(full.encode(rare).ids)
