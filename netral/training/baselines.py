"""Baselines measured beside the model on the same split, so its numbers mean something.

- TF-IDF (word and character n-grams) + logistic regression, trained on the same training split.
- A gazetteer rule from the election configs: a post is partisan when it names a contestant,
  party, ballot number, slogan, campaign hashtag or gesture. It is what a keyword filter would do.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from netral.normalise import normalise
from netral.pipeline.evidence import EvidenceExtractor
from netral.settings import DEFAULT_ELECTIONS_DIR
from netral.training.data import Example


class TfidfBaseline:
    def __init__(self, seed: int = 13) -> None:
        features = FeatureUnion([
            ("word", TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)),
            ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True)),
        ])
        self.pipeline = Pipeline([("tfidf", features),
                                  ("lr", LogisticRegression(C=4.0, max_iter=2000, class_weight="balanced",
                                                            random_state=seed))])

    def fit(self, examples: Sequence[Example]) -> TfidfBaseline:
        self.pipeline.fit([normalise(e.text) for e in examples], [int(e.partisan) for e in examples])
        return self

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        return self.pipeline.predict_proba([normalise(t) for t in texts])[:, 1]


class GazetteerBaseline:
    """Score = number of evidence spans; partisan at one or more."""

    threshold = 1.0

    def __init__(self, extractor: EvidenceExtractor | None = None) -> None:
        # Without one, the election files shipped with the code (the default of settings.elections_dir).
        self.extractor = extractor or EvidenceExtractor.for_directory(DEFAULT_ELECTIONS_DIR)

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([float(len(self.extractor.extract(t))) for t in texts])
