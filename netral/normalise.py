"""The one text normalisation used for training, prediction and scanning.

A classifier only sees what its training data looked like, so every path that feeds text to a model must call
:func:`normalise` and nothing else; model metadata records :data:`NORMALISER_VERSION` so a model is never scored
with a normaliser that behaves differently from the one it was trained with. The stored post snapshot is never
touched: the function returns a new string, and evidence offsets are computed on the original text.

Choices, in the order they are applied:

- Unicode NFKC, so full-width and styled letters ("𝗣𝗿𝗮𝗯𝗼𝘄𝗼", "seolah²") read as plain ones.
- Links become ``http`` and mentions ``@user`` (the IndoBERTweet convention): the tokenizer knows both pieces,
  and neither the address nor the handle says anything about partisanship that should be learnt.
- Hashtags keep their original (lower-cased) form and get their words appended: ``#PrabowoGibran2024`` →
  ``#prabowogibran2024 prabowo gibran 2024``. The appended words are literal, not slang-expanded.
- Words: laughter is shortened, elongations collapsed ("mantaaap" → "mantap"; runs of 3+ letters shrink to
  the one- or two-letter form that is a known word, so "tungguuu" → "tunggu" but "tunggu" is untouched),
  slang expanded from ``data/lexicon/slang_id.tsv`` and reduplication written out ("tmn2" → "teman-teman").
- Emoji stay (the tokenizer has them) but a run of the same emoji becomes one; runs of ! and ? become one.
- Everything is lower-cased and whitespace collapsed.

No PyPI package was used: the maintained Indonesian normalisers found either pull in pandas and fuzzy typo
correction (which rewrites candidate names and ballot numbers such as "02") or have a single release.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

NORMALISER_VERSION = "1"
URL_PLACEHOLDER = "http"
MENTION_PLACEHOLDER = "@user"

_URL = re.compile(
    r"(?:https?://|www\.)[^\s]+?(?=[.,;:!?)\]\"']*(?:\s|$))"
    r"|\b(?:t\.co|bit\.ly|s\.id|wa\.me|youtu\.be)/[^\s]+?(?=[.,;:!?)\]\"']*(?:\s|$))",
    re.IGNORECASE,
)
_MENTION = re.compile(r"(?<![\w@.])@\w+")
# A hashtag is '#' + word characters containing at least one letter; "&#39;" entities and "C#" are not.
HASHTAG = re.compile(r"(?<![\w#&])#(\w*[^\W\d_]\w*)")
_WORD = re.compile(r"(?<![@#\w])[^\W_]+")
_INVISIBLE = re.compile("[\u200b\u200c\u2060\ufeff]")
_EMOJI = "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff]"
_EMOJI_RUN = re.compile(f"({_EMOJI}[\ufe0f\U0001f3fb-\U0001f3ff]?)(?:\\s*\\1)+")
_BANG_RUN = re.compile(r"([!?])\1+")
_DOT_RUN = re.compile(r"\.{4,}")
_SPACE = re.compile(r"\s+")
_LAUGH = [
    (re.compile(r"^(?:wk)+w?k?$"), "wkwk", 4),
    (re.compile(r"^(?:ha)+h?$"), "haha", 6),
    (re.compile(r"^(?:he)+h?$"), "hehe", 6),
    (re.compile(r"^(?:hi)+h?$"), "hihi", 6),
]
_ELONGATED = re.compile(r"([^\W\d_])\1{2,}")
_REDUP = re.compile(r"^([^\W\d_]{2,})2(an|nya|kan|lah)?$")
_REDUP_EXCEPTIONS = {"ke2": "kedua", "seolah2": "seolah-olah"}

# Words known without the lexicon: they guide elongation repair and hashtag splitting. Names of the 2024
# contestants are here so "#ganjarpresidenku" splits; adding words changes behaviour, so bump the version.
def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_KNOWN_WORDS = _words(
    """
    ada adil agar air ajak akan aku ala alhamdulillah allah amanah amin aamiin anak andalan anies antri apa
    asli atas ayo baik baru bangga bangsa banget bangun bapak baru bela belum benar berani bersama bersatu
    besar betul bisa boleh bukan bulan buruh calon cepat cerdas cinta coblos daerah damai dan dari datang
    debat demi demokrasi demokrat depan desa dengan dia dinasti dua dukung dulu emas gak ganti garuda gas
    gelora gemoy gerak gerindra gibran golkar golput gratis guru hadir hanura harapan hari harus hati hebat
    hidup ibu imin indonesia ingat ini istimewa itu jadi jaga jangan jaya jokowi juara juga jujur kabinet
    kalah kami kampanye kamu kan kasih kawal keadilan keluarga kemenangan keren kerja kita kode koalisi kota
    kuat kuning lagi lanjut lanjutkan lawan lebih mahfud maju makan makmur malang mana mantap mari mas masa
    masyarakat memilih menang menangkan mendukung menuju merah merdeka milenial muda muhaimin nasdem negara
    negeri netral nomor nusantara optimis pak paslon partai pasti pemilu pemimpin perindo perubahan pilih
    pilihan pilkada pilpres prabowo presiden programnya putaran putih rakyat relawan restorasi sat satu saya
    sehat sekali selamat semangat semua siap siang solid suara subianto sudah sukses tahun takut tas teman
    terbaik terus tetap tiga tim total tunggu unggul untuk urut wakil wali warga yakin yang
    di ke ku mu nya ya lah
    ganjar pranowo baswedan iskandar rakabuming raka cak gus abah anton dimyati ganis heri cahyono hidayat
    wahyu ali pdi pdip perjuangan pkb pks psi ppp pan pbb pkn partai ummat timnas tkn tpn asn kpu bawaslu
    """
)
# Short pieces a hashtag may be split into; anything shorter than four letters must be listed here, so that
# "#pandemi" does not become "pan demi" (party abbreviations are deliberately absent).
_SHORT_PIECES = _words("aja ayo dan di gak ini itu ke ku mu ya yuk mas pak bu lah nya")


# The lexicon shipped with the code; ``Settings.slang_lexicon`` defaults to it and callers that hold a
# Settings pass ``load_lexicon(settings.slang_lexicon)``, so this module never reads configuration itself.
DEFAULT_LEXICON = Path(__file__).resolve().parents[1] / "data" / "lexicon" / "slang_id.tsv"


@lru_cache(maxsize=8)
def load_lexicon(path: Path = DEFAULT_LEXICON) -> dict[str, str]:
    """Slang → standard mapping, read once per path; malformed lines fail loudly rather than being skipped."""
    lexicon: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            raise ValueError(f"{path}:{number}: expected 'slang<TAB>standard', got {line!r}")
        slang, standard = parts[0].strip().lower(), parts[1].strip().lower()
        if slang in lexicon:
            raise ValueError(f"{path}:{number}: duplicate entry {slang!r}")
        lexicon[slang] = standard
    return lexicon


def _vocabulary(lexicon: dict[str, str]) -> frozenset[str]:
    words = set(_KNOWN_WORDS)
    for slang, standard in lexicon.items():
        words.add(slang)
        words.update(re.findall(r"[^\W\d_]+", standard))
    return frozenset(words)


@lru_cache(maxsize=1)
def _default_resources() -> tuple[dict[str, str], frozenset[str]]:
    lexicon = load_lexicon()
    return lexicon, _vocabulary(lexicon)


# Vocabularies of the lexicons callers pass in, by object identity. Each entry keeps its lexicon alive, so an
# id cannot be reused by another dict while it is cached; the size check catches a lexicon grown in place.
# Rebuilding the vocabulary on every call (hundreds of regex scans) once cost more than the rest of
# normalisation together: about 1 ms a post, a third of a cascaded timeline scan.
_VOCABULARIES: dict[int, tuple[dict[str, str], int, frozenset[str]]] = {}
_MAX_CACHED = 8


def _resources(lexicon: dict[str, str] | None) -> tuple[dict[str, str], frozenset[str]]:
    if lexicon is None:
        return _default_resources()
    cached = _VOCABULARIES.get(id(lexicon))
    if cached is not None and cached[0] is lexicon and cached[1] == len(lexicon):
        return lexicon, cached[2]
    vocabulary = _vocabulary(lexicon)
    if len(_VOCABULARIES) >= _MAX_CACHED:
        _VOCABULARIES.pop(next(iter(_VOCABULARIES)))
    _VOCABULARIES[id(lexicon)] = (lexicon, len(lexicon), vocabulary)
    return lexicon, vocabulary


def _case_chunks(body: str) -> list[str]:
    """Split at lower→Upper and letter↔digit boundaries and at '_' ("AMINajaDulu" → "AMINaja", "Dulu")."""
    chunks: list[str] = []
    current = ""
    for char in body:
        if char == "_":
            if current:
                chunks.append(current)
            current = ""
            continue
        if current:
            prev = current[-1]
            boundary = (prev.islower() and char.isupper()) or (prev.isdigit() != char.isdigit())
            if boundary:
                chunks.append(current)
                current = ""
        current += char
    if current:
        chunks.append(current)
    return chunks


def _segment(word: str, vocabulary: frozenset[str]) -> list[str] | None:
    """Fewest-pieces split of a lower-case run into known words, or None when it cannot be split safely."""
    best: list[list[str] | None] = [None] * (len(word) + 1)
    best[0] = []
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - 20), end):
            prefix = best[start]
            piece = word[start:end]
            if prefix is None or piece not in vocabulary:
                continue
            if len(piece) < 4 and piece not in _SHORT_PIECES:
                continue
            candidate = [*prefix, piece]
            current = best[end]
            if current is None or len(candidate) < len(current):
                best[end] = candidate
    return best[len(word)]


def split_hashtag(body: str, lexicon: dict[str, str] | None = None) -> list[str]:
    """Lower-case words of a hashtag body (without '#'): case and digit boundaries first, then known words.

    "PrabowoGibran2024" → prabowo gibran 2024, "AMINajaDulu" → amin aja dulu, "ganjarpresidenku" →
    ganjar presiden ku, "KIMPlus" → kim plus. A run that cannot be split into known words stays whole.
    """
    _, vocabulary = _resources(lexicon)
    words: list[str] = []
    for chunk in _case_chunks(body):
        lower = chunk.lower()
        if chunk.isdigit() or lower in vocabulary:
            words.append(lower)
            continue
        words.extend(_split_chunk(chunk, vocabulary))
    return words


def _known_count(head: str, tail: str, vocabulary: frozenset[str]) -> int:
    return int(head.lower() in vocabulary) + int(_segment(tail.lower(), vocabulary) is not None)


def _split_chunk(chunk: str, vocabulary: frozenset[str]) -> list[str]:
    lower = chunk.lower()
    pieces = _segment(lower, vocabulary)
    if pieces:
        return pieces
    # Capitals then lower case: either the capitals are one word ("DUAsejoli") or, the usual camel-case
    # convention, the last capital starts the next word ("KPUDukung", "ASNBer"). Take the reading with more
    # known words, the camel one on a tie.
    caps_then_lower = re.match(r"^([A-Z]{2,})([a-z].*)$", chunk)
    if caps_then_lower:
        caps, rest = caps_then_lower.groups()
        readings = [(caps[:-1], caps[-1] + rest), (caps, rest)]
        scored = [(_known_count(head, tail, vocabulary), index, head, tail)
                  for index, (head, tail) in enumerate(readings)]
        _, _, head, tail = max(scored, key=lambda item: (item[0], -item[1]))
        return [head.lower(), *(_segment(tail.lower(), vocabulary) or [tail.lower()])]
    camel = re.findall(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[^\W\d_]+", chunk)
    return [piece.lower() for piece in camel] if len(camel) > 1 else [lower]


def _expand_hashtag(match: re.Match[str], lexicon: dict[str, str]) -> str:
    body = match.group(1)
    words = split_hashtag(body, lexicon)
    original = f"#{body.lower()}"
    if words == [body.lower()]:
        return original
    return f"{original} {' '.join(words)}"


def _collapse_elongation(word: str, vocabulary: frozenset[str]) -> str:
    runs = list(_ELONGATED.finditer(word))
    if not runs:
        return word
    if len(runs) > 4:  # spam like "aaaaa bbbbb ..." in one token: no point searching
        return _ELONGATED.sub(r"\1", word)
    options: list[str] = []
    for widths in itertools.product((1, 2), repeat=len(runs)):
        pieces, last = [], 0
        for run, width in zip(runs, widths, strict=True):
            pieces.append(word[last:run.start()])
            pieces.append(run.group(1) * width)
            last = run.end()
        pieces.append(word[last:])
        options.append("".join(pieces))
    return next((option for option in options if option in vocabulary), options[0])


def _normalise_word(word: str, lexicon: dict[str, str], vocabulary: frozenset[str]) -> str:
    for pattern, short, min_length in _LAUGH:
        if len(word) >= min_length and pattern.match(word):
            return short
    if word in _REDUP_EXCEPTIONS:
        return _REDUP_EXCEPTIONS[word]
    redup = _REDUP.match(word)
    if redup:
        base = _normalise_word(redup.group(1), lexicon, vocabulary)
        return f"{base}-{base}{redup.group(2) or ''}"
    word = _collapse_elongation(word, vocabulary)
    return lexicon.get(word, word)


def _normalise_plain(segment: str, lexicon: dict[str, str], vocabulary: frozenset[str]) -> str:
    lowered = segment.lower()
    return _WORD.sub(lambda m: _normalise_word(m.group(0), lexicon, vocabulary), lowered)


def _url_placeholder(match: re.Match[str]) -> str:
    """Keep the placeholder a separate word ("lihat:https://…" → "lihat: http") without padding punctuation."""
    before = " " if match.start() > 0 and not match.string[match.start() - 1].isspace() else ""
    after = " " if match.end() < len(match.string) and match.string[match.end()].isalnum() else ""
    return f"{before}{URL_PLACEHOLDER}{after}"


def _pieces(text: str) -> Iterable[tuple[bool, str | re.Match[str]]]:
    """Alternate plain text and hashtag matches, so hashtags escape word-level rewriting."""
    last = 0
    for match in HASHTAG.finditer(text):
        yield False, text[last:match.start()]
        yield True, match
        last = match.end()
    yield False, text[last:]


def normalise(text: str, lexicon: dict[str, str] | None = None) -> str:
    """Model-ready form of a post; ``lexicon`` is ``load_lexicon(settings.slang_lexicon)``, default the shipped one."""
    lexicon, vocabulary = _resources(lexicon)
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))
    text = _URL.sub(_url_placeholder, text)
    text = _MENTION.sub(MENTION_PLACEHOLDER, text)
    out: list[str] = []
    for is_hashtag, piece in _pieces(text):
        if is_hashtag:
            assert isinstance(piece, re.Match)
            out.append(_expand_hashtag(piece, lexicon))
        else:
            assert isinstance(piece, str)
            out.append(_normalise_plain(piece, lexicon, vocabulary))
    text = "".join(out)
    text = _EMOJI_RUN.sub(r"\1", text)
    text = _BANG_RUN.sub(r"\1", text)
    text = _DOT_RUN.sub("...", text)
    return _SPACE.sub(" ", text).strip()
