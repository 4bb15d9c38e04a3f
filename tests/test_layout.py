"""The package's shape: stages without import cycles, small modules, declared dependencies, named public surfaces."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from conftest import REPO

PACKAGE = REPO / "src" / "listhygiene"
LONGEST_MODULE = 520  # lines; a longer module says why at its top ("Why this module is long: ...")
# import name -> distribution name, where they differ
DISTRIBUTION_OF = {"yaml": "pyyaml"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def top_level_imports(path: Path) -> set[str]:
    """Modules imported when the module is imported (not those imported inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES}
    return found


def internal_graph() -> dict[str, set[str]]:
    graph = {}
    for name, path in MODULES.items():
        targets = set()
        for imported in top_level_imports(path):
            # importing a.b.c runs a/__init__ and a/b/__init__ first
            parts = imported.split(".")
            targets |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & MODULES.keys()
        graph[name] = targets - {name, "listhygiene"}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
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


def test_no_module_imports_itself_through_others():
    # a package importing its own submodules (its public surface) is not a cycle; anything else is
    graph = internal_graph()
    for name in graph:
        if MODULES[name].name == "__init__.py":
            graph[name] = {t for t in graph[name] if not t.startswith(name + ".")}
    assert find_cycle(graph) is None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_stages_depend_downstream_only():
    """ingest knows nothing of the store, rules, outputs or cli; the store nothing of rules or outputs."""
    forbidden = {
        "listhygiene.ingest": (
            "listhygiene.store",
            "listhygiene.rules",
            "listhygiene.outputs",
            "listhygiene.cli",
        ),
        "listhygiene.store": ("listhygiene.rules", "listhygiene.outputs", "listhygiene.cli"),
        "listhygiene.rules": ("listhygiene.cli",),
        "listhygiene.outputs": ("listhygiene.cli", "listhygiene.pipeline"),
    }
    # bounces are classified as they load: the store's inserts apply the classifier's rules (store.reply_classes)
    allowed = {
        ("listhygiene.store.reply_classes", "listhygiene.rules"),
        ("listhygiene.store.reply_classes", "listhygiene.rules.bounces"),
    }
    graph = internal_graph()
    wrong = [
        (name, target)
        for name, targets in graph.items()
        for stage, banned in forbidden.items()
        if name == stage or name.startswith(stage + ".")
        for target in targets
        if target.startswith(banned) and (name, target) not in allowed
    ]
    assert wrong == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_are_small_or_say_why(name):
    path = MODULES[name]
    text = path.read_text(encoding="utf-8")
    docstring = ast.get_docstring(ast.parse(text)) or ""
    assert docstring, f"{name} has no module docstring"
    lines = text.count("\n")
    assert lines <= LONGEST_MODULE or "Why this module is long:" in docstring, f"{name}: {lines} lines"


def declared_distributions() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = set()
    for requirement in project["dependencies"]:
        names.add(re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower())
    return names


def test_every_third_party_import_is_a_declared_dependency():
    """What a plain `pip install listhygiene` brings must be enough for every module (issue: numpy)."""
    stdlib = set(sys.stdlib_module_names)
    declared = declared_distributions()
    optional = {
        extra: {re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0].lower() for r in requirements}
        for extra, requirements in tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))[
            "project"
        ]["optional-dependencies"].items()
    }
    missing = set()
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):  # imports inside functions count: they run when the command does
            roots = []
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                roots = [node.module.split(".")[0]]
            for root in roots:
                if root in stdlib or root == "listhygiene":
                    continue
                distribution = DISTRIBUTION_OF.get(root, root).lower()
                if distribution not in declared and not _guarded_extra(name, distribution, optional):
                    missing.add((name, root))
    assert missing == set()


def _guarded_extra(module: str, distribution: str, optional: dict[str, set[str]]) -> bool:
    """An extra's library may be imported only by modules that explain the extra when it is absent."""
    in_extra = any(distribution in names for names in optional.values())
    return in_extra and "pip install 'listhygiene[" in MODULES[module].read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(n for n, p in MODULES.items() if p.name == "__init__.py"))
def test_each_subpackage_names_its_public_entry_points(name):
    if name in ("listhygiene", "listhygiene.cli"):
        return  # the root holds the version; cli's entry point is main(), named in pyproject
    module = __import__(name, fromlist=["__all__"])
    assert getattr(module, "__all__", None), f"{name} has no __all__"
    assert all(hasattr(module, entry) for entry in module.__all__)


@pytest.mark.parametrize("module", ["listhygiene.outputs.explain", "listhygiene.outputs.clean"])
def test_commands_that_read_a_run_do_not_import_the_readers(module):
    """explain and clean start quickly: the readers' validation (pandera, pandas) is the night's."""
    code = (
        f"import sys, listhygiene.cli, {module}, listhygiene.rules.evaluation; "
        "print(sorted({'pandera', 'pandas'} & sys.modules.keys()))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
