"""The layering is checked, not remembered: import-linter contracts, import circles, module length, mypy."""

from __future__ import annotations

import importlib
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    if not Path(exe).exists():
        pytest.fail("lint-imports is not installed; pip install -e '.[test]'")
    result = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_passes_over_core_and_workers() -> None:
    """``[tool.mypy]`` in pyproject.toml: strict, plus warn_unreachable; the README says why."""
    if importlib.util.find_spec("mypy") is None:
        pytest.fail("mypy is not installed; pip install -e '.[test]'")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "evalstudio/core", "evalstudio/workers"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Success"), result.stdout


def test_core_imports_without_qt() -> None:
    code = (
        "import sys, importlib, pkgutil, evalstudio.core as c\n"
        "for m in pkgutil.walk_packages(c.__path__, 'evalstudio.core.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph'))]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=120)


def test_workers_import_qtcore_only() -> None:
    import ast

    offenders = []
    for path in (ROOT / "evalstudio" / "workers").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                if name.startswith("PySide6.") and not name.startswith("PySide6.QtCore"):
                    offenders.append(f"{path.name}: {name}")
    assert not offenders, offenders


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e2"}, "e2": {"e"}, "f": set()}
    assert sorted(import_cycles(graph)) == [["a", "b", "c"], ["e", "e2"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles_anywhere_in_the_package() -> None:
    """Every import counts, including ones inside functions and under TYPE_CHECKING."""
    grimp = pytest.importorskip("grimp")
    g = grimp.build_graph("evalstudio", include_external_packages=False)
    graph = {m: set(g.find_modules_directly_imported_by(m)) for m in g.modules}
    assert import_cycles(graph) == []


#: Core modules allowed past MAX_CORE_LINES say why in their first lines ("Longer than ... because").
MAX_CORE_LINES = 450


def test_core_modules_are_short_or_say_why() -> None:
    long = []
    for path in sorted((ROOT / "evalstudio" / "core").rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        if len(lines) > MAX_CORE_LINES and "longer than" not in "\n".join(lines[:15]).lower():
            long.append(f"{path.relative_to(ROOT)}: {len(lines)} lines")
    assert not long, long


def test_each_core_subpackage_says_what_it_is_for() -> None:
    for pkg in ("data", "models", "evaluation", "training"):
        init = ROOT / "evalstudio" / "core" / pkg / "__init__.py"
        doc = init.read_text(encoding="utf-8").strip()
        assert doc.startswith('"""') and len(doc) > 60, pkg


#: A dotted name in a docstring, comment or document that names a part of the package.
_DOTTED = re.compile(r"(?<![\w/.])evalstudio(?:\.(?:core|workers|gui|commands|cli|app|selftest|resources)\b)(?:\.[A-Za-z_]\w*)*")


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


def test_every_module_path_named_in_the_code_and_docs_exists() -> None:
    """Docstrings, comments, the README and the docs name modules by their current paths
    (``evalstudio.core.evaluation.metrics``, ``evalstudio/core/data/csv_fast.py``)."""
    sources = [*(ROOT / "evalstudio").rglob("*.py"), *(ROOT / "bench").glob("*.py"), *(ROOT / "docs").glob("*.md"),
               ROOT / "README.md", ROOT / "BENCHMARKS.md", ROOT / "bench" / "commentary.md", ROOT / "pyproject.toml"]
    stale = []
    for path in sources:
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        for name in sorted(set(_DOTTED.findall(text))):
            if not _resolves(name):
                stale.append(f"{path.relative_to(ROOT)}: {name}")
        for file_path in sorted(set(re.findall(r"(?<![\w./])evalstudio/[\w/]+\.py\b", text))):
            if not (ROOT / file_path).exists():
                stale.append(f"{path.relative_to(ROOT)}: {file_path}")
    assert not stale, stale
