"""The package's layout holds: data flows one way, modules stay small, the package has no fallbacks around itself."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "atlaskit"
NOTEBOOKS = PACKAGE.parent / "notebooks"

#: Layer of each top-level part of atlaskit: a module may import its own layer and those below, never above.
LAYERS = {
    "vocabulary": 0,
    "errors": 0,
    "config": 0,
    "sources": 1,
    "store": 2,
    "analysis": 3,
    "parameters": 3,
    "pipelines": 4,
    "figures": 5,
    "mapping": 5,
    "app": 6,
    "report": 6,
    "batch": 6,
    "cli": 7,
}
#: Longest module, lines (about 500, with a little room).
MAX_MODULE_LINES = 560


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _part(path: Path) -> str | None:
    relative = path.relative_to(PACKAGE)
    name = relative.parts[0].removesuffix(".py")
    return name if name not in ("__init__", "__main__") else None


def _imported_parts(tree: ast.AST) -> set[str]:
    parts = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] if node.module != "atlaskit" else [f"atlaskit.{a.name}" for a in node.names]
        for name in names:
            bits = name.split(".")
            if bits[0] == "atlaskit" and len(bits) > 1:
                parts.add(bits[1])
    return parts


def test_every_part_of_the_package_has_a_layer():
    parts = {_part(p) for p in _modules()} - {None}
    assert parts <= set(LAYERS), f"parts without a layer in LAYERS: {sorted(parts - set(LAYERS))}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_nothing_upstream_imports_anything_downstream(path):
    part = _part(path)
    if part is None:
        return
    imported = _imported_parts(ast.parse(path.read_text(), str(path)))
    upward = sorted(other for other in imported if other in LAYERS and LAYERS[other] > LAYERS[part])
    assert not upward, f"{path.relative_to(PACKAGE)} ({part}, layer {LAYERS[part]}) imports downstream: {upward}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_small(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(PACKAGE)} has {lines} lines (split it by concern)"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_import_fallbacks_around_the_package_itself(path):
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Try):
            continue
        catches_import_error = any(
            isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError") for h in node.handlers
        )
        if catches_import_error:
            own = _imported_parts(ast.Module(body=node.body, type_ignores=[]))
            assert not own, f"{path.relative_to(PACKAGE)} line {node.lineno}: try/except ImportError around atlaskit's own {sorted(own)}"


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_stay_thin(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert "parameters" in code[0].get("metadata", {}).get("tags", []), f"{path.name}: the first code cell is not tagged 'parameters'"
    for cell in code:
        source = "".join(cell["source"])
        tree = ast.parse("\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))))
        defs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda))]
        assert not defs, f"{path.name}: a cell defines {type(defs[0]).__name__} (move it into atlaskit)"
        assert not cell.get("outputs"), f"{path.name}: outputs committed (strip them with nbstripout)"
