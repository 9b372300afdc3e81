"""Near-duplicate keys shared by candidate selection and split making.

Retweets, quote-tweets and copy-paste campaigns differ only in mentions, links, case, punctuation and
trailing hashtags; treating such copies as distinct would leak test items into training.
"""

from __future__ import annotations

import re

_MENTION = re.compile(r"@\w+")
_URL = re.compile(r"https?://\S+|www\.\S+")
_RT = re.compile(r"^\s*rt\b[:\s]*", re.IGNORECASE)
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
_DIGITS = re.compile(r"\d+")


def near_duplicate_key(text: str, n_words: int = 12) -> str:
    """Key equal for texts that are copies of each other up to mentions, links, case and punctuation.

    The first ``n_words`` words after cleaning are used, so a copy with an extra hashtag or a
    trailing comment still collides with its original.
    """
    t = _RT.sub("", text)
    t = _URL.sub(" ", _MENTION.sub(" ", t)).lower()
    t = _DIGITS.sub("0", t)
    words = [w for w in _NON_WORD.sub(" ", t).split() if w]
    return " ".join(words[:n_words])
