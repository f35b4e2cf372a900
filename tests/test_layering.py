"""DESIGN.md's layering, computed from the source: thin pages, SQL only in the store, no streamlit
in domain code, no cycle between files and no import from a lower floor to a higher one.

The import graph is read from every file's syntax tree, with every import style a Python module
can use: `import a.b`, `from a import b` (resolved to the module a.b when there is one, so
`from triops.store import practice` is an import of triops.store.practice), relative imports,
imports inside functions and under `if TYPE_CHECKING:`, `importlib.import_module(...)` and
`__import__(...)` (with a constant name, or an f-string whose prefix names a package: the
modules named by the file's string constants under it, else all of them), and a module started
by name (`[sys.executable, "-m", "triops.x"]`)."""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import REPO

SRC = REPO / "src"
PACKAGE = SRC / "triops"

# DESIGN.md's package map (Layout, Layering), ground floor first: a module may import modules of
# its own floor (as long as no files import each other in a circle) and of the floors below it,
# never of a floor above it. `app_pages`, `app` and the labs' check.py files are the top floor.
FLOORS: list[set[str]] = [
    {"triops", "triops.errors", "triops.config", "triops.terminal", "triops.testing"},
    {"triops.content", "triops.drift"},
    {"triops.market"},
    {"triops.store"},
    {
        "triops.quiz",
        "triops.learner",
        "triops.profiles",
        "triops.accounts",
        "triops.cohorts",
        "triops.jobs",
    },
    {"triops.search"},
    {"triops.evals"},
    {"triops.labs"},
    {"triops.tasks"},
    {"triops.ui", "triops.validate"},
    {"triops.cli", "app_pages", "app", "labs"},
]

# Known circles, while one is being cut: a circle is known by two of its files, the import to
# cut running from the first to the second, with why it is there. A listed circle that is gone
# fails the circle test until its entry comes out. None is left.
KNOWN_CYCLES: dict[tuple[str, str], str] = {}
# The one module outside the store that may import duckdb: it hands out the app's connection.
DUCKDB_OUTSIDE_THE_STORE = {"triops.ui.resources"}

# A string that is an SQL statement (not prose that uses a keyword): the keyword in capitals,
# then what makes it a statement.
SQL = re.compile(
    r"\b(SELECT\b[\s\S]*\bFROM\b|INSERT\s+(OR\s+\w+\s+)?INTO\b|UPDATE\s+[\w.\"]+\s+SET\b|"
    r"DELETE\s+FROM\b|CREATE\s+(OR\s+REPLACE\s+)?(TEMP\w*\s+)?(TABLE|INDEX|VIEW|SEQUENCE|"
    r"MACRO|TYPE|SCHEMA|UNIQUE\s+INDEX)\b|ALTER\s+TABLE\b|DROP\s+(TABLE|INDEX|VIEW)\b)"
)


# -- the graph ---------------------------------------------------------------------------------


def module_files(repo: Path = REPO) -> dict[str, Path]:
    """Every module of the house by dotted name: the package, the pages, app.py, lab checks."""
    found: dict[str, Path] = {}
    for path in sorted((repo / "src" / "triops").rglob("*.py")):
        parts = list(path.relative_to(repo / "src").with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    for path in sorted((repo / "app_pages").glob("*.py")):
        found[f"app_pages.{path.stem}"] = path
    found["app"] = repo / "app.py"
    for path in sorted((repo / "labs").glob("*/check.py")):
        found[f"labs.{path.parent.name}.check"] = path
    return found


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int

    def __str__(self) -> str:
        return f"{self.source}:{self.line} -> {self.target}"


def _resolve(name: str, known: dict[str, Path] | set[str]) -> str | None:
    """The module `name` is, or the package it lies in; None outside the house."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def parsed(path: Path) -> ast.Module:
    """A file's syntax tree, parsed once per test process for the text it has: the graph, each
    file's imports and its string constants all read the same tree."""
    return _parse(path.read_text(encoding="utf-8"), str(path))


@functools.cache
def _parse(text: str, filename: str) -> ast.Module:
    return ast.parse(text, filename=filename)


def _strings(tree: ast.AST) -> list[str]:
    return [
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]


def imported_names(module: str, tree: ast.AST, known: dict[str, Path] | set[str], is_package: bool):
    """(dotted name, line) of everything `tree` imports, every style (see the module docstring)."""
    package = module if is_package else module.rpartition(".")[0]
    constants = _strings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                yield (full if full in known else base), node.lineno
        elif isinstance(node, ast.Call):
            called = getattr(node.func, "attr", getattr(node.func, "id", None))
            if called not in ("import_module", "__import__") or not node.args:
                continue
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                yield arg.value, node.lineno
            elif isinstance(arg, ast.JoinedStr):
                head = arg.values[0] if arg.values else None
                prefix = head.value if isinstance(head, ast.Constant) else ""
                named = [prefix + c for c in constants if prefix + c in known]
                for name in named or [m for m in known if m.startswith(prefix)]:
                    yield name, node.lineno
            else:  # a name computed some other way: the modules the file names, else any
                named = [c for c in constants if c in known]
                for name in named or list(known):
                    yield name, node.lineno
        elif isinstance(node, ast.List | ast.Tuple):
            items = node.elts
            for first, second in zip(items, items[1:], strict=False):
                if (
                    isinstance(first, ast.Constant)
                    and first.value == "-m"
                    and isinstance(second, ast.Constant)
                    and isinstance(second.value, str)
                    and _resolve(second.value, known)  # a module of the house, run by name
                ):
                    yield second.value, node.lineno


def edges_of(module: str, path: Path, known: dict[str, Path]) -> list[Edge]:
    tree = parsed(path)
    out = []
    for name, line in imported_names(module, tree, known, path.name == "__init__.py"):
        target = _resolve(name, known)
        if target is not None and target != module:
            out.append(Edge(module, target, line))
    return out


def import_graph(repo: Path = REPO) -> dict[str, list[Edge]]:
    files = module_files(repo)
    return {module: edges_of(module, path, files) for module, path in files.items()}


def cycles(graph: dict[str, list[Edge]]) -> list[set[str]]:
    """The strongly connected groups of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work: list[tuple[str, Iterator[Edge]]] = [(root, iter(graph[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            step = next(edges, None)
            if step is not None:
                target = step.target
                if target not in index:
                    index[target] = low[target] = counter
                    counter += 1
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(graph.get(target, []))))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(group)
    return found


def floor_of(module: str) -> int:
    """The floor of the package map a module stands on (its most specific entry)."""
    best, floor = "", -1
    for number, names in enumerate(FLOORS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > len(best):
                best, floor = name, number
    return floor


FILES = module_files()


@functools.cache
def graph() -> dict[str, list[Edge]]:
    """The house's import graph, built by the first test that asks (not at collection, when
    every pytest-xdist worker would parse every file for it)."""
    return import_graph()


def imports(path: Path) -> set[str]:
    """The modules (or outside packages) a file imports, resolved as the graph resolves them."""
    module = next((m for m, p in FILES.items() if p == path), path.stem)
    tree = parsed(path)
    return {
        _resolve(name, FILES) or name
        for name, _ in imported_names(module, tree, FILES, path.name == "__init__.py")
    }


def string_constants(path: Path) -> list[str]:
    return _strings(parsed(path))


PAGES = sorted((REPO / "app_pages").glob("*.py")) + [REPO / "app.py"]
DOMAIN = [p for p in PACKAGE.rglob("*.py") if "ui" not in p.relative_to(PACKAGE).parts]
NOT_STORE = [p for p in PACKAGE.rglob("*.py") if "store" not in p.relative_to(PACKAGE).parts]


# -- the rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_pages_hold_no_sql_duckdb_subprocess_or_file_parsing(page):
    bad = {m for m in imports(page) if m.split(".")[0] in {"duckdb", "subprocess", "yaml", "csv"}}
    assert not bad, f"{page.name} imports {bad}"
    assert not [s for s in string_constants(page) if SQL.search(s)], f"SQL in {page.name}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_pages_call_services_not_the_store(page):
    store = {m for m in imports(page) if m == "triops.store" or m.startswith("triops.store.")}
    assert not store, f"{page.name} imports {sorted(store)}"


@pytest.mark.parametrize("module", DOMAIN, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_domain_code_never_imports_streamlit(module):
    assert not {m for m in imports(module) if m.split(".")[0] == "streamlit"}


@pytest.mark.parametrize("module", NOT_STORE, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_sql_lives_only_in_the_store(module):
    name = next(m for m, p in FILES.items() if p == module)
    if name not in DUCKDB_OUTSIDE_THE_STORE:
        assert "duckdb" not in {m.split(".")[0] for m in imports(module)}
    statements = [s for s in string_constants(module) if SQL.search(s)]
    assert not statements, f"SQL outside the store: {statements[:2]}"


def test_every_module_stands_on_a_floor_of_the_package_map():
    unplaced = sorted(m for m in graph() if floor_of(m) < 0)
    assert not unplaced, f"not in the package map (FLOORS): {unplaced}"


def test_no_module_imports_from_a_floor_above_its_own():
    upward = [
        str(edge)
        for edges in graph().values()
        for edge in edges
        if floor_of(edge.target) > floor_of(edge.source)
    ]
    assert not upward, "imports that run back up a floor:\n" + "\n".join(upward)


def known(group: set[str]) -> bool:
    return any(set(pair) <= group for pair in KNOWN_CYCLES)


def test_no_files_import_each_other_in_a_circle():
    groups = cycles(graph())
    found = [group for group in groups if not known(group)]
    assert not found, "circles of imports:\n" + "\n".join(
        " <-> ".join(sorted(group)) for group in found
    )
    gone = [pair for pair in KNOWN_CYCLES if not any(set(pair) <= group for group in groups)]
    assert not gone, f"these circles are cut: take them out of KNOWN_CYCLES: {gone}"


def test_evals_knows_nothing_of_labs():
    wrong = [
        str(edge)
        for module, edges in graph().items()
        if module.startswith("triops.evals")
        for edge in edges
        if edge.target.startswith("triops.labs")
    ]
    assert not wrong


def test_the_layering_test_sees_the_files():
    assert len(PAGES) >= 9 and len(DOMAIN) >= 15
    assert "triops.labs.ci.engine" in graph() and "labs.ci-build.check" in graph()


# -- the reader cannot be fooled -------------------------------------------------------------

KNOWN = {
    "triops",
    "triops.store",
    "triops.store.practice",
    "triops.labs",
    "triops.labs.ci",
    "triops.labs.ci.model",
    "triops.labs.ci.engine",
    "triops.evals",
    "triops.evals.runner",
    "triops.evals.gate",
}


def read(source: str, module: str = "triops.labs.ci.engine", package: bool = False) -> set[str]:
    tree = ast.parse(source)
    return {
        _resolve(name, KNOWN) or name for name, _ in imported_names(module, tree, KNOWN, package)
    }


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from triops.store import practice", {"triops.store.practice"}),
        ("from triops.store import connect", {"triops.store"}),
        ("import triops.store.practice as p", {"triops.store.practice"}),
        ("from . import model", {"triops.labs.ci.model"}),
        ("from .model import Step", {"triops.labs.ci.model"}),
        ("from .. import ci", {"triops.labs.ci"}),
        ("def f():\n    from triops.evals import runner", {"triops.evals.runner"}),
        ("if TYPE_CHECKING:\n    from triops.evals.gate import GateResult", {"triops.evals.gate"}),
        (
            "import importlib\nimportlib.import_module('triops.store.practice')",
            {"importlib", "triops.store.practice"},
        ),
        ("__import__('triops.evals.runner')", {"triops.evals.runner"}),
        ("cmd = [python, '-I', '-m', 'triops.evals.gate', 'x']", {"triops.evals.gate"}),
    ],
)
def test_every_import_style_is_read(source, expected):
    assert read(source) == expected


def test_a_lazy_facade_imports_the_modules_its_names_come_from():
    source = (
        "import importlib\n"
        "_HOME = {'EvalRun': 'runner'}\n"
        "def __getattr__(name):\n"
        "    return importlib.import_module(f'triops.evals.{_HOME[name]}')\n"
    )
    assert read(source, "triops.evals", package=True) == {"importlib", "triops.evals.runner"}
    by_value = (
        "import importlib\n_AT = {'x': 'triops.evals.gate'}\nimportlib.import_module(_AT[n])\n"
    )
    assert read(by_value) == {"importlib", "triops.evals.gate"}


def test_a_circle_and_an_upward_import_are_found():
    graph = {
        "a": [Edge("a", "b", 1)],
        "b": [Edge("b", "c", 1)],
        "c": [Edge("c", "a", 9)],
        "d": [Edge("d", "a", 1)],
    }
    assert cycles(graph) == [{"a", "b", "c"}]
    assert floor_of("triops.store.practice") < floor_of("triops.quiz.exam")
    assert floor_of("triops.labs.ci.engine") > floor_of("triops.evals.runner")


@pytest.mark.parametrize(
    ("text", "sql"),
    [
        ("SELECT id FROM attempts WHERE token = ?", True),
        ("INSERT INTO responses VALUES (?, ?)", True),
        ("CREATE TABLE IF NOT EXISTS jobs (id TEXT)", True),
        ("UPDATE jobs SET state = ?", True),
        ("DELETE FROM jobs", True),
        ("Select a lab from the list", False),
        ("UPDATE the README when you change a command", False),
        ("Created the table of contents", False),
    ],
)
def test_sql_statements_are_told_from_prose(text, sql):
    assert bool(SQL.search(text)) is sql
