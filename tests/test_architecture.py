"""The architecture rules of CONTRIBUTING.md, checked on the source: layers, cycles, private names, light imports."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "evfleet"


def _modules() -> list[tuple[str, Path, ast.Module]]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        rel = path.relative_to(SRC.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out.append((".".join(parts), path, ast.parse(path.read_text(encoding="utf-8"))))
    return out


def _evfleet_imports(node: ast.AST) -> list[ast.ImportFrom | ast.Import]:
    found: list[ast.ImportFrom | ast.Import] = []
    for sub in ast.walk(node):
        if (isinstance(sub, ast.ImportFrom) and (sub.level or (sub.module or "").split(".")[0] == "evfleet")) or (
            isinstance(sub, ast.Import) and any(a.name.split(".")[0] == "evfleet" for a in sub.names)
        ):
            found.append(sub)
    return found


def test_no_function_level_imports_of_evfleet_outside_the_cli():
    """Imports of evfleet modules sit at module level (the CLI may defer them to keep ``--help`` fast)."""
    bad = []
    for name, path, tree in _modules():
        if name.startswith("evfleet.cli"):
            continue
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                bad += [f"{path.relative_to(SRC)}:{imp.lineno}" for imp in _evfleet_imports(fn)]
    assert not bad, f"function-level imports of evfleet modules: {sorted(set(bad))}"


def test_no_imports_of_other_modules_private_names():
    bad = []
    for _name, path, tree in _modules():
        for imp in _evfleet_imports(tree):
            if isinstance(imp, ast.ImportFrom):
                bad += [
                    f"{path.relative_to(SRC)}:{imp.lineno} {a.name}"
                    for a in imp.names
                    if a.name.startswith("_") and not (a.name.startswith("__") and a.name.endswith("__"))
                ]
    assert not bad, f"imports of private names: {bad}"


def test_no_relative_imports():
    bad = [f"{p.relative_to(SRC)}:{i.lineno}" for _n, p, t in _modules() for i in _evfleet_imports(t) if i.level]
    assert not bad, bad


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.find_modules_directly_imported_by(w)))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def test_no_import_cycles():
    graph = grimp.build_graph("evfleet")
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_cycle():
    """The check above can fail: a graph with a cycle is reported."""
    graph = grimp.ImportGraph()
    for m in ("p", "p.a", "p.b", "p.c"):
        graph.add_module(m)
    graph.add_import(importer="p.a", imported="p.b")
    graph.add_import(importer="p.b", imported="p.a")
    graph.add_import(importer="p.c", imported="p.a")
    assert _cycles(graph) == [["p.a", "p.b"]]


def test_import_linter_contracts_are_kept():
    exe = Path(sys.executable).with_name("lint-imports")
    if not exe.exists():
        pytest.skip("lint-imports is not installed (pip install -e '.[dev]')")
    res = subprocess.run([str(exe)], cwd=SRC.parents[1], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "0 broken" in res.stdout


def _imported_after(code: str) -> set[str]:
    res = subprocess.run(
        [sys.executable, "-c", f"import sys; {code}; print('\\n'.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return set(res.stdout.split())


def test_import_evfleet_is_light():
    mods = _imported_after("import evfleet")
    heavy = {"numpy", "pandas", "scipy", "highspy", "streamlit", "plotly", "sqlalchemy", "dask", "pvlib"}
    assert not (heavy & {m.split(".")[0] for m in mods})


def test_public_api_names_resolve():
    import evfleet

    for name in evfleet.__all__:
        assert getattr(evfleet, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'simulat'"):
        _ = evfleet.simulat


def test_import_simulate_does_not_load_the_solver():
    """The simulator (and the registry's names) load no solver and no optimising strategy until one is asked for."""
    mods = _imported_after(
        "import evfleet.simulation.simulate; from evfleet.strategies import REGISTRY; list(REGISTRY)"
    )
    assert "highspy" not in mods
    assert "scipy.signal" not in mods  # the synthetic frequency signal imports it when a run needs it
    light = {"evfleet.strategies.base", "evfleet.strategies.params", "evfleet.strategies.report"}
    assert not {m for m in mods if m.startswith("evfleet.strategies.") and m not in light}
    solver = _imported_after("from evfleet.strategies import get_strategy; get_strategy('price_optimization')")
    assert "highspy" in solver  # the registry does load a strategy on lookup


def test_registry_is_a_lazy_mapping_of_the_strategy_classes():
    from evfleet.strategies import REGISTRY, Strategy, strategy_names

    names = ["uncontrolled", "timer", "load_balancing", "peak_shaving", "valley_filling", "price_optimization",
             "grid_support", "renewable_integration"]  # fmt: skip
    assert list(REGISTRY) == names == strategy_names() and len(REGISTRY) == 8
    for name, cls in REGISTRY.items():
        assert issubclass(cls, Strategy) and cls.name == name
    assert "nope" not in REGISTRY
    with pytest.raises(KeyError):
        REGISTRY["nope"]
