#!/usr/bin/env python3
"""Structure check for the ``curation`` package (issue 11, points 2 and 4); stdlib only.

Walks the package's ``.py`` files (``migrations/`` skipped), parses each with :mod:`ast` and
enforces the architecture's never-arrows:

1. No module-level import cycles among package modules. Imports inside ``if TYPE_CHECKING:``
   blocks do not run, so they are left out of the cycle graph (every other rule still sees them).
2. No function-level imports (inside a ``def``) of package modules, the standard library or any
   third-party module, except the optional heavy dependencies in ``LAZY_ALLOWED`` below, which
   are imported lazily so that the app starts without them.
3. The selection engine (``curation/selection/``) imports only the standard library, numpy,
   threadpoolctl and its own modules: it is a library, tested without Django.
4. Pages (``views*.py``, ``forms.py``, ``urls.py``) and the JSON API (``curation/api/``,
   ``api*.py``, ``serializers*.py``) never import each other; neither imports the engine
   directly (they reach it through services). ``curation/urls.py`` (the root URLconf, which
   mounts both) is neither.
5. Only pages, ``curation/web/``, ``curation/realtime/`` (websocket progress fragments) and
   ``curation/admin.py`` render templates (``django.shortcuts.render``,
   ``django.template.loader``, ``render_to_string``); services, selectors and the API do not.

Usage: ``python scripts/check_structure.py [PACKAGE_DIR]`` (default: ``curation`` next to this
script's folder). Exit status 1 with one ``file:line: sentence`` per finding, else 0 with a
one-line summary. Run by ``make lint`` and ``make test`` (so CI runs it too).
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from fnmatch import fnmatch
from itertools import pairwise
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling helper module
from import_graph import one_cycle, strongly_connected

# Optional heavy dependencies that may be imported inside a function (and only there): embedders
# (torch, torchvision, open_clip, onnxruntime), video frames (av), the reference solver used by
# the benchmarks (lightly_mundig), approximate-neighbour back-ends (faiss, pynndescent) and the
# browser driver of the page benchmarks (playwright). Installing the app never requires them.
LAZY_ALLOWED = frozenset(
    {"torch", "torchvision", "open_clip", "onnxruntime", "av", "lightly_mundig", "faiss"}
    | {"pynndescent", "playwright"}
    # scikit-learn: ~2 s to import, needed only by the demo data, the descriptor embedder's
    # reduction and benchmarks; daphne: importing it installs Twisted's reactor as a side
    # effect, so only ``serve`` and ``daphne_patches.install()`` (when Daphne runs) touch it.
    | {"sklearn", "daphne"}
    # tokenizers: the text encoder's tokenizer.json for text search (the optional onnx extra).
    | {"tokenizers", "onnx"}  # onnx: builds the ingest benchmark's CNN (dev extra)
    # umap (umap-learn): optional UMAP maps, imported (numba: seconds) only to compute one.
    | {"umap"}
)

# What the engine may import besides the standard library and itself.
ENGINE_ALLOWED = frozenset({"numpy", "threadpoolctl"})

# Imported names that render a template (module, name); name None = the module itself.
RENDERING = (
    ("django.shortcuts", "render"),
    ("django.template.loader", None),
    ("django.template", "loader"),
)
RENDER_NAMES = frozenset({"render_to_string"})


@dataclass(frozen=True)
class Import:
    """One imported module, as written (absolute) and resolved to a package module if any."""

    target: str  # absolute dotted name of the imported module (or the module a name came from)
    names: tuple[str, ...]  # names taken with ``from X import a, b`` (empty for ``import X``)
    line: int
    in_function: bool
    type_checking: bool


@dataclass
class Module:
    name: str
    path: Path  # relative to the package's parent, e.g. curation/runs/services.py
    is_package: bool
    imports: list[Import] = field(default_factory=list)

    @property
    def rel(self) -> str:
        return self.path.as_posix()


class _Collector(ast.NodeVisitor):
    def __init__(self, module: Module) -> None:
        self.module = module
        self.depth = 0  # function nesting
        self.type_checking = 0

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._function(node)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._function(node)

    def _function(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            self.type_checking += 1
            for child in node.body:
                self.visit(child)
            self.type_checking -= 1
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, (), node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = _resolve_relative(self.module, node.module, node.level)
        if base is None or base == "__future__":
            return
        self._add(base, tuple(a.name for a in node.names), node.lineno)

    def _add(self, target: str, names: tuple[str, ...], line: int) -> None:
        self.module.imports.append(
            Import(target, names, line, self.depth > 0, self.type_checking > 0)
        )


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _resolve_relative(module: Module, name: str | None, level: int) -> str | None:
    if level == 0:
        return name
    parts = module.name.split(".")
    if not module.is_package:
        parts = parts[:-1]
    if level > 1:
        parts = parts[: -(level - 1)] if level - 1 < len(parts) else []
    if not parts:
        return None
    return ".".join(parts + ([name] if name else []))


def load_package(package_dir: Path) -> dict[str, Module]:
    """Parse every module of the package (``migrations/`` and ``__pycache__`` skipped)."""
    root = package_dir.parent
    modules: dict[str, Module] = {}
    for path in sorted(package_dir.rglob("*.py")):
        rel = path.relative_to(root)
        if "migrations" in rel.parts or "__pycache__" in rel.parts:
            continue
        parts = list(rel.with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        module = Module(".".join(parts), rel, is_package)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        _Collector(module).visit(tree)
        modules[module.name] = module
    return modules


def _internal_targets(imp: Import, modules: dict[str, Module]) -> list[str]:
    """Package modules one import statement loads: ``from a import b`` may name submodule a.b."""
    targets = []
    for name in imp.names:
        if f"{imp.target}.{name}" in modules:
            targets.append(f"{imp.target}.{name}")
    if not targets or any(f"{imp.target}.{n}" not in modules for n in imp.names):
        target = imp.target
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target:
            targets.append(target)
    return targets


# -- module kinds ---------------------------------------------------------------------------


def is_api(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    parts = rel.split("/")
    return (
        (len(parts) > 2 and parts[1] == "api")
        or fnmatch(name, "api*.py")
        or (fnmatch(name, "serializers*.py"))
    )


def is_page(rel: str) -> bool:
    if is_api(rel):
        return False
    parts = rel.split("/")
    name = parts[-1]
    if name == "urls.py" and len(parts) == 2:  # the root URLconf mounts pages and the API
        return False
    return fnmatch(name, "views*.py") or name in ("forms.py", "urls.py")


def may_render(rel: str) -> bool:
    parts = rel.split("/")
    return (
        is_page(rel)
        or (len(parts) > 2 and parts[1] in ("realtime", "web"))
        or rel.endswith("/admin.py")
    )


def is_engine(name: str, package: str) -> bool:
    return name == f"{package}.selection" or name.startswith(f"{package}.selection.")


# -- rules ------------------------------------------------------------------------------------


def _top(name: str) -> str:
    return name.split(".", 1)[0]


def _is_stdlib(name: str) -> bool:
    return _top(name) in sys.stdlib_module_names


def check_function_imports(modules: dict[str, Module], package: str) -> list[str]:
    out = []
    for mod in modules.values():
        for imp in mod.imports:
            if not imp.in_function:
                continue
            top = _top(imp.target)
            if top == package:
                out.append(
                    f"{mod.rel}:{imp.line}: function-level import of {imp.target}; import it at "
                    "module level (if that makes a cycle, move the shared code so it does not)."
                )
            elif top not in LAZY_ALLOWED:
                out.append(
                    f"{mod.rel}:{imp.line}: function-level import of {imp.target}; import it at "
                    "module level (only the optional heavy dependencies in LAZY_ALLOWED are "
                    "imported lazily)."
                )
    return out


def check_cycles(modules: dict[str, Module]) -> list[str]:
    graph: dict[str, dict[str, int]] = {name: {} for name in modules}
    for mod in modules.values():
        for imp in mod.imports:
            if imp.in_function or imp.type_checking:
                continue
            for target in _internal_targets(imp, modules):
                if target != mod.name:
                    graph[mod.name].setdefault(target, imp.line)
    out = []
    for component in strongly_connected(graph):
        if len(component) < 2:
            continue
        cycle = one_cycle(graph, component)
        steps = " -> ".join(f"{a} ({modules[a].rel}:{graph[a][b]})" for a, b in pairwise(cycle))
        out.append(
            f"{modules[cycle[0]].rel}:{graph[cycle[0]][cycle[1]]}: module-level import cycle "
            f"{steps} -> {cycle[-1]}; one of these modules must stop importing the next."
        )
    return out


def check_engine(modules: dict[str, Module], package: str) -> list[str]:
    out = []
    for mod in modules.values():
        if not is_engine(mod.name, package):
            continue
        for imp in mod.imports:
            if is_engine(imp.target, package) or _is_stdlib(imp.target):
                continue
            if _top(imp.target) in ENGINE_ALLOWED:
                continue
            out.append(
                f"{mod.rel}:{imp.line}: the selection engine imports {imp.target}; it may import "
                "only the standard library, numpy and threadpoolctl."
            )
    return out


def check_arrows(modules: dict[str, Module], package: str) -> list[str]:
    out = []
    for mod in modules.values():
        page, api = is_page(mod.rel), is_api(mod.rel)
        for imp in mod.imports:
            if _top(imp.target) == package:
                for target in _internal_targets(imp, modules):
                    out.extend(_arrow(mod, imp, modules[target], page, api, package))
            if not may_render(mod.rel) and _renders(imp):
                out.append(
                    f"{mod.rel}:{imp.line}: {mod.rel} imports a template renderer "
                    f"({imp.target}); only pages, curation/web/, curation/realtime/ and the "
                    "admin render templates: return data and let the caller render it."
                )
    return out


def _arrow(
    mod: Module, imp: Import, target: Module, page: bool, api: bool, package: str
) -> list[str]:
    where = f"{mod.rel}:{imp.line}"
    if page and is_api(target.rel):
        return [
            f"{where}: page module imports API module {target.name}; pages never import "
            "the API (share the code through a service or selector)."
        ]
    if api and is_page(target.rel):
        return [
            f"{where}: API module imports page module {target.name}; the API never imports "
            "pages (share the code through a service or selector)."
        ]
    if (page or api) and is_engine(target.name, package):
        kind = "page" if page else "API"
        return [
            f"{where}: {kind} module imports the engine ({target.name}) directly; pages and "
            "the API reach the engine only through services."
        ]
    return []


def _renders(imp: Import) -> bool:
    if RENDER_NAMES.intersection(imp.names):
        return True
    for module, name in RENDERING:
        if name is None and (imp.target == module or imp.target.startswith(module + ".")):
            return True
        if name is not None and imp.target == module and name in imp.names:
            return True
    return False


def check(package_dir: Path) -> tuple[list[str], dict[str, Module]]:
    package = package_dir.name
    modules = load_package(package_dir)
    findings = (
        check_cycles(modules)
        + check_function_imports(modules, package)
        + check_engine(modules, package)
        + check_arrows(modules, package)
    )
    return sorted(set(findings), key=_sort_key), modules


def _sort_key(finding: str) -> tuple[str, int, str]:
    path, line, rest = finding.split(":", 2)
    return path, int(line), rest


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    default = Path(__file__).resolve().parent.parent / "curation"
    package_dir = Path(args[0]) if args else default
    findings, modules = check(package_dir)
    if findings:
        print(f"Structure check: {len(findings)} problem(s) in {package_dir.name}/:")
        for finding in findings:
            print(finding)
        return 1
    n_imports = sum(len(m.imports) for m in modules.values())
    print(
        f"Structure check: {len(modules)} modules, {n_imports} imports: no import cycles, no "
        "function-level imports, the engine and the page/API/service arrows hold."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
