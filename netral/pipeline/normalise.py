"""Moved to :mod:`netral.normalise` (bottom layer, so the models can use it without importing the pipeline).

Kept as a re-export only while the training rewrite on another branch still imports this path; new code
imports :mod:`netral.normalise`.
"""

from netral.normalise import HASHTAG, NORMALISER_VERSION, load_lexicon, normalise, split_hashtag

__all__ = ["HASHTAG", "NORMALISER_VERSION", "load_lexicon", "normalise", "split_hashtag"]
