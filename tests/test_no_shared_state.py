"""Nothing one session does can reach another through process-wide state.

A Streamlit server runs every session's script in one process: ``attnviz`` and its module globals are imported
once and shared by all sessions, while a page script (``pages/*.py``, ``app.py``) is executed afresh on every run,
so the names it binds at its top level are per run. The rules, checked on the source with ``ast``:

1. The library binds no module-level (or class-level) mutable container under a lower-case name: that is state.
   Containers are constants with ALL-CAPS names, and rule 2 makes sure they stay constant.
2. No statement that runs while a session is served (library functions, page scripts) mutates a library global:
   no item or attribute assignment, no ``del``, no in-place operator, no mutating method, no ``global``.
3. No mutable default argument (one list shared by every call, in every session).
4. Process-wide caches are bounded and hand out values a caller cannot change for the next one:
   ``st.cache_data`` / ``st.cache_resource`` need ``max_entries`` (or ``ttl``); ``st.cache_resource`` and
   ``functools`` caches do not return lists, dicts, sets, arrays or tensors; a ``functools`` cache takes no
   arguments (one entry) or has an integer ``maxsize``.

Then the same at run time: after every page has run in AppTest sessions (with edits), every library global is
equal to what it was before, and every numpy array reachable from one is read-only.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import pkgutil
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import attnviz
from tests.pages.conftest import edit, open_page

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = sorted((ROOT / "attnviz").rglob("*.py"))
SCRIPTS = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]

CONSTANT_NAME = re.compile(r"^_?[A-Z][A-Z0-9_]*$")
MUTABLE_CALLS = {
    "list",
    "dict",
    "set",
    "bytearray",
    "defaultdict",
    "OrderedDict",
    "Counter",
    "deque",
    "ChainMap",
    "SimpleNamespace",
    "WeakValueDictionary",
    "WeakKeyDictionary",
    "WeakSet",
}
ARRAY_MODULES = {"np", "numpy", "torch", "pd", "pandas"}
MUTATING_METHODS = {
    # list, dict, set, deque, bytearray
    "append",
    "appendleft",
    "extend",
    "extendleft",
    "insert",
    "pop",
    "popleft",
    "popitem",
    "clear",
    "update",
    "setdefault",
    "add",
    "discard",
    "remove",
    "sort",
    "reverse",
    "rotate",
    "difference_update",
    "intersection_update",
    "symmetric_difference_update",
    # numpy / pandas in place
    "fill",
    "itemset",
    "put",
    "resize",
    "setfield",
    "setflags",
    "__setitem__",
    "__delitem__",
    "__setattr__",
    "__iadd__",
}
MUTATING_FUNCTIONS = {"setattr", "delattr", "copyto", "put", "place", "putmask", "shuffle"}
MUTABLE_RETURN = re.compile(r"\b(list|dict|set|List|Dict|Set|ndarray|Tensor|DataFrame|Series|bytearray)\b")


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def is_mutable_value(node: ast.expr | None) -> bool:
    """A literal, comprehension or constructor call that builds a mutable container or array."""
    if isinstance(node, (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)):
        return True
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name):
            return func.id in MUTABLE_CALLS
        if isinstance(func, ast.Attribute):
            root = func.value.id if isinstance(func.value, ast.Name) else None
            return func.attr in MUTABLE_CALLS or root in ARRAY_MODULES
    return False


def bound_names(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [name for element in target.elts for name in bound_names(element)]
    if isinstance(target, ast.Starred):
        return bound_names(target.value)
    return []


def top_level_statements(body: list[ast.stmt]):
    """Statements of a module or class body, descending into if/try/with/for but not into defs."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, (ast.If, ast.For, ast.While, ast.With, ast.Try)):
            for field in ("body", "orelse", "finalbody"):
                yield from top_level_statements(getattr(stmt, field, []))
            for handler in getattr(stmt, "handlers", []):
                yield from top_level_statements(handler.body)


def assignments(body: list[ast.stmt]):
    """``(name, value, line)`` for every name bound by an assignment in a module or class body."""
    for stmt in top_level_statements(body):
        if isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                for name in bound_names(target):
                    yield name, stmt.value, stmt.lineno
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            for name in bound_names(stmt.target):
                yield name, stmt.value, stmt.lineno


def imported_library_names(tree: ast.Module) -> set[str]:
    """Names a module binds by importing from attnviz: shared objects, whatever their type."""
    names = set()
    for stmt in top_level_statements(tree.body):
        if isinstance(stmt, ast.ImportFrom) and (stmt.level > 0 or (stmt.module or "").split(".")[0] == "attnviz"):
            names |= {alias.asname or alias.name for alias in stmt.names if alias.name != "*"}
        elif isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.name.split(".")[0] == "attnviz":
                    names.add(alias.asname or alias.name.split(".")[0])
    return names


def is_decorated_dataclass(node: ast.ClassDef) -> bool:
    return any("dataclass" in ast.unparse(d) for d in node.decorator_list)


# ------------------------------------------------------------------------------------------- the scanner


class MutationFinder(ast.NodeVisitor):
    """Statements that mutate one of ``shared`` (module-level names), resolved through function scopes."""

    def __init__(self, shared: set[str], *, check_top_level: bool):
        self.shared = shared
        self.check_top_level = check_top_level
        self.scopes: list[set[str]] = []
        self.found: list[tuple[int, str]] = []

    # scopes
    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        args = node.args
        params = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
        params |= {a.arg for a in (args.vararg, args.kwarg) if a}
        local = set(params)
        declared_global: set[str] = set()
        body = node.body if isinstance(node.body, list) else [node.body]
        for child in body:
            for sub in ast.walk(child):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del)):
                    local.add(sub.id)
                elif isinstance(sub, (ast.Global, ast.Nonlocal)):
                    declared_global |= set(sub.names)
                elif isinstance(sub, (ast.Import, ast.ImportFrom)):
                    local |= {(a.asname or a.name).split(".")[0] for a in sub.names}
                elif isinstance(sub, ast.ExceptHandler) and sub.name:
                    local.add(sub.name)
        self.scopes.append(local - declared_global)
        for default in [*args.defaults, *args.kw_defaults]:
            if default is not None:
                self.visit(default)
        for child in body:
            self.visit(child)
        self.scopes.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def _active(self) -> bool:
        return self.check_top_level or bool(self.scopes)

    def _is_shared(self, node: ast.expr) -> bool:
        """``node`` is, or is part of, a shared module-level object (``NAME``, ``NAME.a[0].b``)."""
        while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
            node = node.value
        return (
            isinstance(node, ast.Name) and node.id in self.shared and not any(node.id in scope for scope in self.scopes)
        )

    def _flag(self, node: ast.AST, what: str) -> None:
        if self._active():
            self.found.append((node.lineno, f"{what}: {ast.unparse(node).splitlines()[0]}"))

    # mutations
    def visit_Global(self, node: ast.Global) -> None:
        self.found.append((node.lineno, f"global statement: {', '.join(node.names)}"))

    def _targets(self, node: ast.stmt, targets: list[ast.expr]) -> None:
        for target in targets:
            for element in target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]:
                if isinstance(element, (ast.Subscript, ast.Attribute)) and self._is_shared(element):
                    self._flag(node, "assigns into a shared object")

    def visit_Assign(self, node: ast.Assign) -> None:
        self._targets(node, node.targets)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._targets(node, [node.target])
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if self._is_shared(node.target):  # `NAME += x` on a list, `NAME |= x` on a dict or set: in place
            self._flag(node, "in-place operator on a shared object")
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        self._targets(node, node.targets)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and self._is_shared(func.value):
            in_place_torch = func.attr.endswith("_") and not func.attr.startswith("_")
            if func.attr in MUTATING_METHODS or in_place_torch:
                self._flag(node, f"calls .{func.attr}() on a shared object")
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name in MUTATING_FUNCTIONS and node.args and self._is_shared(node.args[0]):
            self._flag(node, f"{name}() on a shared object")
        self.generic_visit(node)


def library_shared_names(tree: ast.Module) -> set[str]:
    """Every name a library module binds at module level, except functions, classes and dunders."""
    names = {name for name, _, _ in assignments(tree.body)}
    return {n for n in names if not (n.startswith("__") and n.endswith("__"))} | imported_library_names(tree)


# ------------------------------------------------------------------------------------------- static tests


def test_the_scan_covers_the_library_and_every_page():
    assert {"attnviz/ui/worked.py", "attnviz/ui/matrix_editor.py", "attnviz/examples.py"} <= set(map(rel, LIBRARY))
    assert "pages/1_Worked_example.py" in set(map(rel, SCRIPTS))


def test_library_binds_no_lower_case_mutable_globals():
    found = []
    for path in LIBRARY:
        tree = parse(path)
        bodies = [("module", tree.body)] + [
            (f"class {node.name}", node.body)
            for node in ast.walk(tree)
            if isinstance(node, ast.ClassDef) and not is_decorated_dataclass(node)
        ]
        for where, body in bodies:
            for name, value, line in assignments(body):
                dunder = name.startswith("__") and name.endswith("__")
                if is_mutable_value(value) and not dunder and not CONSTANT_NAME.match(name):
                    found.append(f"{rel(path)}:{line} {where}-level mutable {name} = {ast.unparse(value)[:60]}")
    assert not found, "process-wide mutable state (shared by every session):\n" + "\n".join(found)


def mutations(path: Path, *, library: bool) -> list[str]:
    tree = parse(path)
    shared = library_shared_names(tree) if library else imported_library_names(tree)
    # Library modules run their top level once, at import; a page's top level runs on every rerun.
    finder = MutationFinder(shared, check_top_level=not library)
    finder.visit(tree)
    return [f"{rel(path)}:{line} {what}" for line, what in finder.found]


@pytest.mark.parametrize("path", LIBRARY + SCRIPTS, ids=rel)
def test_nothing_mutates_library_globals_at_run_time(path):
    found = mutations(path, library=path in LIBRARY)
    assert not found, "\n".join(found)


def test_no_mutable_default_arguments():
    found = []
    for path in LIBRARY + SCRIPTS:
        for node in ast.walk(parse(path)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                defaults = [*node.args.defaults, *node.args.kw_defaults]
                found += [f"{rel(path)}:{d.lineno} {ast.unparse(d)}" for d in defaults if is_mutable_value(d)]
    assert not found, "mutable default arguments (one object shared by every call):\n" + "\n".join(found)


def cache_decorators(path: Path):
    """``(function, decorator, decorator name)`` for every st.cache_* / functools cache in ``path``."""
    for node in ast.walk(parse(path)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                func = decorator.func if isinstance(decorator, ast.Call) else decorator
                name = ast.unparse(func)
                if name.split(".")[-1] in {"cache_data", "cache_resource", "cache", "lru_cache", "cached_property"}:
                    yield node, decorator, name


def test_caches_are_bounded_and_hand_out_values_nobody_can_change():
    found = []
    for path in LIBRARY + SCRIPTS:
        for node, decorator, name in cache_decorators(path):
            where = f"{rel(path)}:{node.lineno} {node.name}"
            keywords = {k.arg: k.value for k in decorator.keywords} if isinstance(decorator, ast.Call) else {}
            returns = ast.unparse(node.returns) if node.returns else ""
            kind = name.split(".")[-1]
            if kind in {"cache_data", "cache_resource"} and not ({"max_entries", "ttl"} & set(keywords)):
                found.append(f"{where}: @{name} without max_entries grows with every distinct input of every session")
            if kind in {"cache_resource", "cache", "lru_cache"}:
                if not returns:
                    found.append(f"{where}: @{name} shares its return value; annotate it (immutable type)")
                elif MUTABLE_RETURN.search(returns):
                    found.append(f"{where}: @{name} hands every session the same mutable {returns}")
            if kind in {"cache", "lru_cache"}:
                params = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
                maxsize = keywords.get("maxsize")
                bounded = isinstance(maxsize, ast.Constant) and isinstance(maxsize.value, int)
                if isinstance(decorator, ast.Call) and decorator.args and not keywords:
                    arg = decorator.args[0]
                    bounded = isinstance(arg, ast.Constant) and isinstance(arg.value, int)
                if params and not bounded:
                    found.append(f"{where}: @{name} with arguments and no integer maxsize is unbounded")
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("x = []\ndef f():\n    x.append(1)\n", "calls .append()"),
        ("X = {}\ndef f(k):\n    X[k] = 1\n", "assigns into a shared object"),
        ("from attnviz.examples import WORKED_EXAMPLE\ndef f():\n    WORKED_EXAMPLE.x[0, 0] = 1\n", "assigns into"),
        ("S = set()\ndef f():\n    global S\n    S |= {1}\n", "global statement"),
        ("T = None\ndef f(t):\n    T.add_(t)\n", "calls .add_()"),
        ("D = {}\ndef f():\n    del D['a']\n", "assigns into"),
        ("C = {}\ndef f():\n    setattr(C, 'a', 1)\n", "setattr() on a shared object"),
    ],
)
def test_the_scanner_finds_mutations(source, expected):
    tree = ast.parse(source)
    finder = MutationFinder(library_shared_names(tree), check_top_level=False)
    finder.visit(tree)
    assert any(expected in what for _, what in finder.found), finder.found


@pytest.mark.parametrize(
    "source",
    [
        "X = {}\ndef f(X):\n    X['a'] = 1\n",  # a parameter shadows the global
        "X = []\ndef f():\n    X = []\n    X.append(1)\n",  # a local shadows the global
        "X = {'a': 1}\nX['b'] = 2\n",  # built at import, before any session exists
        "def f():\n    out = {}\n    out['a'] = 1\n    return out\n",
    ],
)
def test_the_scanner_leaves_locals_alone(source):
    tree = ast.parse(source)
    finder = MutationFinder(library_shared_names(tree), check_top_level=False)
    finder.visit(tree)
    assert not finder.found


def test_a_page_may_mutate_its_own_top_level_names_but_not_imported_ones():
    page = "import streamlit as st\nfrom attnviz.ui.tokens import PRESETS\nws = []\nws.append(1)\n"
    tree = ast.parse(page)
    finder = MutationFinder(imported_library_names(tree), check_top_level=True)
    finder.visit(tree)
    assert not finder.found
    tree = ast.parse(page + "PRESETS['mine'] = 'text'\nst.session_state.a = 1\n")
    finder = MutationFinder(imported_library_names(tree), check_top_level=True)
    finder.visit(tree)
    assert [what for _, what in finder.found] == ["assigns into a shared object: PRESETS['mine'] = 'text'"]


# ------------------------------------------------------------------------------------------- at run time


def library_modules() -> list:
    modules = [attnviz]
    for info in pkgutil.walk_packages(attnviz.__path__, "attnviz."):
        modules.append(importlib.import_module(info.name))
    return modules


def fingerprint(value, depth: int = 0):
    """A comparable, deep snapshot of a value (containers, arrays, tensors, dataclasses), else its identity."""
    if depth > 6:
        return ("deep", id(value))
    if isinstance(value, np.ndarray):
        return ("ndarray", value.dtype.str, value.shape, value.tobytes(), value.flags.writeable)
    if isinstance(value, torch.Tensor):
        return ("tensor", str(value.dtype), tuple(value.shape), value.detach().cpu().numpy().tobytes())
    if isinstance(value, dict):
        return ("dict", tuple((repr(k), fingerprint(v, depth + 1)) for k, v in value.items()))
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return (type(value).__name__, tuple(fingerprint(v, depth + 1) for v in items))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (
            "dataclass",
            tuple((f.name, fingerprint(getattr(value, f.name), depth + 1)) for f in dataclasses.fields(value)),
        )
    if isinstance(value, (str, bytes, int, float, complex, bool, type(None))):
        return value
    return ("object", type(value).__qualname__, id(value))


def library_globals() -> dict[str, object]:
    out = {}
    for module in library_modules():
        for name, value in vars(module).items():
            if name.startswith("__") or callable(value) or isinstance(value, type(attnviz)):
                continue
            out[f"{module.__name__}.{name}"] = value
    return out


def arrays_in(value, depth: int = 0):
    if depth > 6:
        return
    if isinstance(value, np.ndarray):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from arrays_in(v, depth + 1)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for v in value:
            yield from arrays_in(v, depth + 1)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from arrays_in(getattr(value, f.name), depth + 1)


def test_library_arrays_are_read_only():
    writable = [name for name, value in library_globals().items() if any(a.flags.writeable for a in arrays_in(value))]
    assert not writable, f"module-level arrays any session could write into: {writable}"


def test_serving_every_page_leaves_every_library_global_unchanged():
    before = {name: fingerprint(value) for name, value in library_globals().items()}
    assert "attnviz.examples.WORKED_EXAMPLE" in before and "attnviz.figures._SCALES" in before

    for script in SCRIPTS:
        open_page(rel(script))  # a page that fails to load is the smoke test's finding, not this one's
    worked = open_page("pages/1_Worked_example.py")
    edit(worked, "worked_x", {0: {"d2": 5.0}, 2: {"d1": -3.0}})
    edit(worked, "worked_wq", {1: {"d3": 7.0}})
    worked.radio(key="worked_scaling").set_value("1/√d_k (as in Transformers)").run()
    worked.checkbox(key="worked_causal").check().run()
    worked.radio(key="worked_variant").set_value("Learned (random nn.Linear with bias)").run()
    next(b for b in worked.button if b.label == "Reset").click().run()
    assert not worked.exception

    after = {name: fingerprint(value) for name, value in library_globals().items()}
    changed = sorted(name for name in before if name in after and before[name] != after[name])
    assert not changed, f"library globals changed by serving sessions: {changed}"
    appeared = sorted(set(after) - set(before))
    assert not appeared, f"library globals created while serving sessions: {appeared}"
