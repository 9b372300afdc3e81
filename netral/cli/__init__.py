"""The ``netral`` command: one Typer app assembled from one sub-app per concern.

Each sub-module only parses arguments, calls service functions and prints; business rules live in
the services so the HTTP API and the CLI behave the same.
"""

from __future__ import annotations

import importlib

import typer

from netral.cli import chrome

chrome.install()

# No shell-completion options: Typer writes their help in English and cannot be told otherwise.
app = typer.Typer(help="Netral: pemantauan netralitas ASN di media sosial.", no_args_is_help=True,
                  add_completion=False)

# (module, command name): a sub-app per concern; ``None`` means the module adds top-level commands.
_SUBAPPS = [
    ("netral.cli.db", "db"),
    ("netral.cli.roster", "roster"),
    ("netral.cli.elections", "elections"),
    ("netral.cli.ingest", None),
    ("netral.cli.fetch", None),
    ("netral.cli.model", "model"),
    ("netral.cli.training", None),
    ("netral.cli.scan", None),
    ("netral.cli.serve", None),
    ("netral.cli.users", "user"),
    ("netral.cli.audit", "audit"),
    ("netral.cli.report", "report"),
    ("netral.cli.privacy", "privacy"),
    ("netral.cli.export", "export"),
    ("netral.cli.cases", "case"),
    ("netral.cli.complaint", "complaint"),
    ("netral.cli.demo", None),
]

for module_name, name in _SUBAPPS:
    module = importlib.import_module(module_name)
    if name is None:
        module.register(app)
    else:
        app.add_typer(module.app, name=name)
