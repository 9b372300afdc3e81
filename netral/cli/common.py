"""Small helpers shared by the CLI sub-apps: console output, the session factory, rejections."""

from __future__ import annotations

from collections.abc import Sequence

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.orm import Session, sessionmaker

from netral.db.engine import session_factory
from netral.pipeline.textio import Rejection

# Markup is off: post texts, names and error messages are hostile or arbitrary input, and "[x]" in
# them must print as written (rich would otherwise style it, drop it or raise MarkupError).
console = Console(highlight=False, soft_wrap=True, markup=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)


def factory() -> sessionmaker[Session]:
    return session_factory()


def print_rejections(rejections: Sequence[Rejection], limit: int = 50) -> None:
    """Every rejected record with file, line and field, on stderr so stdout stays machine-readable."""
    for rej in rejections[:limit]:
        err_console.print(f"[red]DITOLAK[/red] {escape(str(rej))}", markup=True)
    if len(rejections) > limit:
        err_console.print(f"... dan {len(rejections) - limit} penolakan lain")


def fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"[red]Galat:[/red] {escape(message)}", markup=True)
    return typer.Exit(code)
