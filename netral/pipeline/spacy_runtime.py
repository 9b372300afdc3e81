"""spaCy, imported so that thinc does not load torch into processes that never use it.

spaCy imports thinc, and thinc imports torch whenever torch is installed (to offer torch-backed layers).
Netral's spaCy pipeline is ``spacy.blank("id")`` with a span ruler: no neural layer, no torch. Loading torch
anyway costs about 275 MB of RSS, half of what an int8 scan process needs in all (the int8 scorer itself
runs on ONNX Runtime). So spaCy is imported here with ``torch`` hidden from the import system; thinc then
records that torch is unavailable and carries on. The name is only hidden during this import: a later
``import torch`` (training, fp32 scoring, drivers) loads it as usual, and a process that already has torch
keeps it visible to thinc.
"""

from __future__ import annotations

import sys


def _import_spacy_hiding_torch() -> None:
    hide = "torch" not in sys.modules
    if hide:
        sys.modules["torch"] = None  # type: ignore[assignment]  # `import torch` raises ImportError
    try:
        import spacy  # noqa: F401
        import spacy.lang.id  # noqa: F401
    finally:
        if hide and sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]


_import_spacy_hiding_torch()

import spacy  # noqa: E402
from spacy.lang.id import Indonesian  # noqa: E402
from spacy.language import Language  # noqa: E402
from spacy.tokens import Doc, Span  # noqa: E402
from spacy.util import filter_spans  # noqa: E402

__all__ = ["Doc", "Indonesian", "Language", "Span", "filter_spans", "spacy"]
