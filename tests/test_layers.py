"""The dependency contract of the package: each layer imports only from the layers below it.

Layers, bottom to top (the README's "Layout" lists the same):

0. ``netral`` (package root), ``netral.vocabulary``, ``netral.localtime``, ``netral.settings``,
   ``netral.normalise``, ``netral.atomic`` - words, configuration, text normalisation, file helpers
1. ``netral.db``, ``netral.audit``, ``netral.elections`` - storage and election configs
2. ``netral.models`` - inference (classifier, registry, base-model conversion)
3. ``netral.pipeline`` - ingestion, evidence, scanning
4. ``netral.training`` - datasets, fine-tuning, evaluation
5. ``netral.review`` - the review services
6. ``netral.serve`` and ``netral.cli`` - the two front ends; the web app never imports the CLI (the CLI's
   ``netral serve`` command starts the app, nothing else)

An AST walk sees every import, including those inside functions, so a lazy import cannot hide a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "netral"

LAYERS: list[tuple[str, ...]] = [
    ("netral", "netral.vocabulary", "netral.localtime", "netral.settings", "netral.normalise", "netral.atomic"),
    ("netral.db", "netral.audit", "netral.elections"),
    ("netral.models",),
    ("netral.pipeline",),
    ("netral.training",),
    ("netral.review",),
    ("netral.serve", "netral.cli"),
]
# Front ends side by side on the top layer: both call the services; the web app never reaches into the CLI.
SIBLINGS_APART = {("netral.serve", "netral.cli")}


def _owner(module: str) -> tuple[int, str] | None:
    """(layer index, the prefix that placed it), longest prefix first; None for non-Netral modules."""
    best: tuple[int, str] | None = None
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            hit = module == prefix or (prefix != "netral" and module.startswith(prefix + "."))
            if hit and (best is None or len(prefix) > len(best[1])):
                best = (index, prefix)
    return best


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(path: Path) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return [(line, name) for line, name in found if name == "netral" or name.startswith("netral.")]


def test_every_module_belongs_to_a_layer() -> None:
    unplaced = [name for name in _modules() if _owner(name) is None]
    assert not unplaced, f"place these modules in a layer (tests/test_layers.py and the README): {unplaced}"


def test_imports_only_point_down() -> None:
    modules = _modules()
    violations = []
    for name, path in modules.items():
        here = _owner(name)
        assert here is not None
        for line, target in _imports(path):
            there = _owner(target)
            if there is None:
                continue
            if there[0] > here[0] or (here[1], there[1]) in SIBLINGS_APART:
                violations.append(f"{path.relative_to(PACKAGE.parent)}:{line} {name} -> {target}")
    assert not violations, "imports against the layer order:\n" + "\n".join(violations)


def test_the_walk_would_catch_an_upward_import(tmp_path: Path) -> None:
    # The contract is only as good as the walk: an upward import inside a function must be seen.
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from netral.pipeline.scan import scan\n    return scan\n")
    assert (2, "netral.pipeline.scan") in _imports(module)
    assert _owner("netral.pipeline.scan") == (3, "netral.pipeline")
    assert _owner("netral.models.classifier")[0] < _owner("netral.pipeline.scan")[0]  # type: ignore[index]


# Re-exports kept only for branches in flight; code in the package uses the new homes.
MOVED = {"netral.pipeline.normalise": "netral.normalise", "netral.models.base_model": "netral.models.base"}


def test_package_code_uses_the_new_homes_of_moved_modules() -> None:
    stale = [f"{path.relative_to(PACKAGE.parent)}:{line} imports {target} (use {MOVED[target]})"
             for name, path in _modules().items() if name not in MOVED
             for line, target in _imports(path) if target in MOVED]
    assert not stale, "\n".join(stale)
