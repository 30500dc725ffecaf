"""The layout stays as docs/architecture.md draws it: wings in layers, no circles, no back doors."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "escalate"

#: Wings from the bottom up (docs/architecture.md): a module may import from its own wing and
#: from the wings below it, never from one above.
LAYERS = ["base", "data", "importers", "model", "forecasting", "inference", "checking", "reporting",
          "datasets", "cli", "root"]
BASE = {"errors", "version", "storage", "folders", "parallel"}

#: Deliberate late imports: (module, imported module) -> why.
LATE_IMPORTS = {
    ("escalate.cli", "escalate.cli.commands"): "the handlers are installed before PyMC loads",
}


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def wing(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "root"
    return "base" if parts[1] in BASE else parts[1]


def imports(path: Path):
    """(imported escalate module, names, at module level?) for every import statement."""
    tree = ast.parse(path.read_text())
    top = set(map(id, tree.body))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("escalate"):
            yield node.module, [a.name for a in node.names], id(node) in top
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("escalate"):
                    yield alias.name, [], id(node) in top


def test_every_wing_imports_only_from_itself_and_below():
    found = modules()
    assert {wing(m) for m in found} <= set(LAYERS), sorted({wing(m) for m in found} - set(LAYERS))
    wrong = []
    for module, path in found.items():
        for target, names, _ in imports(path):
            full = [f"{target}.{n}" for n in names if f"{target}.{n}" in found] or [target]
            for imported in full:
                if LAYERS.index(wing(imported)) > LAYERS.index(wing(module)):
                    wrong.append(f"{module} imports {imported} ({wing(module)} -> {wing(imported)})")
    assert not wrong, "\n".join(wrong)


def test_imports_are_at_module_level_and_use_no_private_names():
    late, private = [], []
    for module, path in modules().items():
        for target, names, top in imports(path):
            if not top and (module, target) not in LATE_IMPORTS:
                late.append(f"{module}: late import of {target}")
            private += [f"{module} imports {target}.{n}" for n in names if n.startswith("_") and n != "__version__"]
    assert not late, "\n".join(late)
    assert not private, "\n".join(private)


def test_no_import_circles():
    found = modules()
    graph = {m: set() for m in found}
    for module, path in found.items():
        for target, names, top in imports(path):
            if not top:
                continue
            for imported in [f"{target}.{n}" for n in names if f"{target}.{n}" in found] or [target]:
                if imported in found and imported != module and not module.startswith(imported + "."):
                    graph[module].add(imported)
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = "open"
        for nxt in graph[node]:
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, "\n".join(cycles)
