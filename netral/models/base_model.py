"""Moved: the base-model conversion is the package :mod:`netral.models.base`, split by job.

Kept as a re-export only while branches in flight still import this path; new code imports
:mod:`netral.models.base`.
"""

from netral.models.base import (
    BASE_ALIAS,
    BASE_DIRNAME,
    E5_FILENAME,
    E5_SHA256,
    MARKER_NAME,
    BaseModelError,
    locate_e5_file,
    prepare_base,
    resolve_base,
)

__all__ = [
    "BASE_ALIAS",
    "BASE_DIRNAME",
    "E5_FILENAME",
    "E5_SHA256",
    "MARKER_NAME",
    "BaseModelError",
    "locate_e5_file",
    "prepare_base",
    "resolve_base",
]
