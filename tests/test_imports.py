"""The ``seglab`` package has no import cycles, and its imports only go down the pipeline.

Both checks read every import, function-level ones included; the layer check also reads imports
under ``if TYPE_CHECKING:`` (a type-only import upwards still couples a low stage to a high one).

A cycle is what made ``config`` ↔ ``presets`` and ``engine`` ↔ ``store`` fragile: each needed a
lazy import to work at all. The check reads the sources (AST), so it is fast and needs no torch.
Imports under ``if TYPE_CHECKING:`` are ignored (they never run).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "seglab"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node except those inside ``if TYPE_CHECKING:`` blocks."""
    out: list[ast.AST] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        out.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return out


def import_graph() -> dict[str, set[str]]:
    """seglab module → the seglab modules it imports (``from a import b`` → ``a.b`` if a module)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None (depth-first search with colours)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_seglab_has_no_import_cycles():
    graph = import_graph()
    assert {
        "seglab.settings.config",
        "seglab.settings.presets",
        "seglab.training.engine",
        "seglab.store.run_store",
    } <= set(graph)
    assert "seglab.settings.config" in graph["seglab.settings.presets"]  # presets build on the config ...
    assert (
        "seglab.settings.build" in graph["seglab.store.run_store"]
    )  # ... the store builds models via models/
    cycle = find_cycle(graph)
    assert cycle is None, " → ".join(cycle)


def test_light_modules_import_alone_in_a_fresh_interpreter():
    # config, presets, status and study must be importable first, on their own, without torch
    code = (
        "import sys\n"
        "import seglab.settings.presets, seglab.settings.config, seglab.status, seglab.settings.study\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120)


# The pipeline, bottom to top. A module may import its own stage and any stage below it; two
# stages on one row are siblings and do not import each other. The root row is what every stage
# uses (errors, registries, run status, colours, paths, devices).
LAYERS: list[tuple[str, ...]] = [
    ("", "errors", "registry", "status", "palette", "filelock", "paths", "device", "units"),
    ("metrics",),
    ("data", "losses", "models"),
    ("settings",),
    ("store",),
    ("training",),
    ("jobs",),
    ("analysis",),
    # `seglab.inspect`: looking inside a trained model; a root module because users' scripts
    # import it by that name (`from seglab.inspect import image_from_bytes`)
    ("inspect",),
    ("viz",),
    ("teach",),
    ("ui",),
    ("cli",),
    ("__main__",),
]


def stage_of(module: str) -> str:
    """``seglab.training.engine`` → ``training``; ``seglab.errors`` → ``errors``; ``seglab`` → ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer_of(module: str) -> int:
    stage = stage_of(module)
    for index, row in enumerate(LAYERS):
        if stage in row:
            return index
    raise AssertionError(f"{module}: stage {stage!r} is in no layer of LAYERS; add it there")


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Every import that goes up a layer or sideways to a sibling stage, as "a → b" lines."""
    bad = []
    for source, targets in sorted(graph.items()):
        for target in sorted(targets):
            src, dst = layer_of(source), layer_of(target)
            sideways = src == dst and stage_of(source) != stage_of(target) and src != 0
            if dst > src or sideways:
                bad.append(f"{source} (layer {src}) → {target} (layer {dst})")
    return bad


def test_the_layer_check_sees_an_upward_import():
    graph = {"seglab.data.cache": {"seglab.store.run_store"}, "seglab.ui.common": {"seglab.errors"}}
    assert upward_imports(graph) == ["seglab.data.cache (layer 2) → seglab.store.run_store (layer 4)"]
    assert upward_imports({"seglab.models.unet": {"seglab.losses.registry"}})  # siblings


def test_imports_only_go_down_the_pipeline(monkeypatch):
    # read type-only imports too: monkeypatch the node walker to keep TYPE_CHECKING blocks
    monkeypatch.setattr(sys.modules[__name__], "_runtime_nodes", lambda tree: list(ast.walk(tree)))
    graph = import_graph()
    assert len(graph) > 90
    bad = upward_imports(graph)
    assert not bad, "imports that go up the pipeline:\n" + "\n".join(bad)
