"""The one exception type the review services raise when a rule refuses an action."""

from __future__ import annotations

from typing import Literal

ErrorKind = Literal["forbidden", "not_found", "conflict", "invalid"]


class ReviewError(Exception):
    """A refused action with a message meant for the person who tried it (in Indonesian).

    ``kind`` lets the web layer choose an HTTP status and the CLI an exit code without parsing text.
    """

    def __init__(self, message: str, kind: ErrorKind = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.kind: ErrorKind = kind

    def __str__(self) -> str:
        return self.message
