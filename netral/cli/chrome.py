"""Typer's own help text (panel titles, "[default: ...]", the ``--help`` line) in Indonesian.

Our commands' help is written in Indonesian, but Typer frames it with English words it hard-codes:
"Options", "Arguments", "Commands", "[required]", "Show this message and exit.". Typer 0.29 has no
setting for them, so this module replaces them once, when the CLI package is imported: the panel
titles are module constants of ``typer.rich_utils`` read at render time, and the help option is built
by ``typer._click.decorators.help_option`` (looked up at call time), which is wrapped to relabel it.
Both are internals of the pinned Typer version; ``tests/test_indonesian_ui.py`` renders every
command's help and fails if an upgrade brings the English back. The usage line ("Usage: netral
[OPTIONS] COMMAND") is command syntax and stays as Typer writes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from typer import rich_utils
from typer._click import decorators

HELP_OPTION_TEXT = "Tampilkan bantuan ini lalu keluar."

RICH_TEXTS = {
    "ARGUMENTS_PANEL_TITLE": "Argumen",
    "OPTIONS_PANEL_TITLE": "Opsi",
    "COMMANDS_PANEL_TITLE": "Perintah",
    "ERRORS_PANEL_TITLE": "Galat",
    "ABORTED_TEXT": "Dibatalkan.",
    "DEFAULT_STRING": "[bawaan: {}]",
    "ENVVAR_STRING": "[variabel lingkungan: {}]",
    "REQUIRED_LONG_STRING": "[wajib]",
    "DEPRECATED_STRING": "(usang) ",
    "RICH_HELP": "Coba [blue]'{command_path} {help_option}'[/] untuk bantuan.",
}

_original_help_option = decorators.help_option


def _indonesian_help_option(param_decls: list[str]) -> Callable[[Any], Any]:
    """Typer's help option with an Indonesian help line (it appends the option to ``cmd.params``)."""
    decorate = _original_help_option(param_decls)

    def apply(cmd: Any) -> Any:
        cmd = decorate(cmd)
        cmd.params[-1].help = HELP_OPTION_TEXT
        return cmd

    return apply


def install() -> None:
    """Idempotent: importing the CLI twice (tests do) must not wrap the wrapper."""
    for name, text in RICH_TEXTS.items():
        setattr(rich_utils, name, text)
    decorators.help_option = _indonesian_help_option  # type: ignore[assignment]
