"""Rerun triggers derived from imports: a job's code hash covers exactly the modules its step imports.

Every rule passes ``code=`` as a param, so Snakemake reruns a job whose code changed.  Which modules a
step's job runs is not listed by hand (a list goes stale: a module added to a step and forgotten in its
list reruns nothing when it is edited); it is read from the source itself: :func:`import_graph` parses every
module of the package (``ast``: every ``import`` statement, those inside functions included) and
:func:`code_hash` hashes the modules reachable from a step's roots.  A package's ``__init__`` importing
its own submodules to register them (``repgeom.analyses``) does not make every analysis part of every
analysis job: that edge is not followed, the job's own kind is a root of its own.

Extra files (a user's plug-in modules of kinds) are hashed into every job.  Parsing is cached per file
(by modification time and size), so one Snakemake invocation parses each module once.
"""

from __future__ import annotations

import ast
import hashlib
import os
from functools import lru_cache
from typing import Iterable, Sequence

PACKAGE = "repgeom"
SRC = os.path.dirname(os.path.abspath(__file__))  # the package folder: src/repgeom


def module_file(module: str, root: str = SRC) -> str:
    """The source file of a ``repgeom...`` module name (a package: its ``__init__.py``)."""
    parts = module.split(".")[1:]
    base = os.path.join(root, *parts)
    return os.path.join(base, "__init__.py") if os.path.isdir(base) else base + ".py"


def _exists(module: str, root: str) -> bool:
    return os.path.isfile(module_file(module, root))


def _targets(node, package: str, root: str) -> set:
    """The existing ``repgeom`` modules one import statement names (``from x import f``: the module x)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base = package.split(".")
            base = base[:len(base) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module or ""
        names = [target] + [f"{target}.{a.name}" for a in node.names]
    else:
        return set()
    out = set()
    for name in names:
        if name == PACKAGE or name.startswith(PACKAGE + "."):
            while name and not _exists(name, root):
                name = name.rpartition(".")[0]
            if name:
                out.add(name)
    return out


@lru_cache(maxsize=None)
def _imports(path: str, mtime_ns: int, size: int, module: str, root: str, top_level: bool) -> tuple:
    """The ``repgeom`` modules a source file imports (anywhere, or with ``top_level`` at import time only)."""
    with open(path, "rb") as f:
        tree = ast.parse(f.read(), path)
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    nodes = tree.body if top_level else ast.walk(tree)
    out = set()
    for node in nodes:
        out |= _targets(node, package, root)
    return tuple(sorted(out - {module}))


def imports_of(module: str, root: str = SRC, top_level: bool = False) -> tuple:
    """The ``repgeom`` modules ``module`` imports: anywhere in it, or with ``top_level`` when it is imported."""
    path = module_file(module, root)
    st = os.stat(path)
    return _imports(path, st.st_mtime_ns, st.st_size, module, root, top_level)


def closure(roots: Iterable[str], root: str = SRC) -> list:
    """Every module reachable from ``roots`` (sorted), the packages of each module included, without
    following a package ``__init__``'s imports of its own submodules."""
    seen, todo = set(), list(roots)
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        parts = m.split(".")
        todo += [".".join(parts[:k]) for k in range(1, len(parts))]  # importing a.b.c runs a and a.b first
        own_package = module_file(m, root).endswith("__init__.py")
        for target in imports_of(m, root):
            if own_package and target.startswith(m + "."):
                continue  # registration imports: the package does not use them
            todo.append(target)
    return sorted(seen)


def code_hash(roots: Sequence[str], extra_files: Sequence[str] = (), root: str = SRC) -> str:
    """16 hex digits of the sha256 over the sources of every module reachable from ``roots`` and of
    ``extra_files`` (each with its name, so a module moving between files changes it too)."""
    h = hashlib.sha256()
    for m in closure(roots, root):
        h.update(m.encode() + b"\0")
        with open(module_file(m, root), "rb") as f:
            h.update(f.read())
    for path in extra_files:
        h.update(os.path.abspath(path).encode() + b"\0")
        with open(path, "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


def step_hash(step: str, kinds: Sequence[object] = (), extra_files: Sequence[str] = (), root: str = SRC) -> str:
    """The code hash of a workflow step's jobs: ``repgeom.steps.<step>``, the modules of the registered ``kinds``
    it runs (an analysis kind, say: the class's module is a root) and ``extra_files``."""
    roots = [f"{PACKAGE}.steps.{step}"] + [type(k).__module__ for k in kinds
                                          if type(k).__module__.split(".")[0] == PACKAGE]
    return code_hash(roots, extra_files, root)


def import_graph(root: str = SRC, top_level: bool = False) -> dict:
    """{module: its repgeom imports} of every module of the package (``top_level``: at import time only)."""
    graph = {}
    for folder, _, files in os.walk(root):
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            rel = os.path.relpath(os.path.join(folder, name), root)[:-3].split(os.sep)
            if rel[-1] == "__init__":
                rel = rel[:-1]
            module = ".".join([PACKAGE] + rel)
            graph[module] = imports_of(module, root, top_level)
    return graph
