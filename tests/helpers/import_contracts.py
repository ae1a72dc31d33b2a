"""An import-linter contract type for submodules of an external package.

import-linter sees an external package as one node: ``from PySide6.QtWidgets import QDialog``
and ``from PySide6.QtCore import QTimer`` are both "imports PySide6", so its own contracts
cannot say "only the window imports QtWidgets" while letting services use QtCore. This contract
reads the import statements behind each such edge (the graph keeps their line numbers) and
names the full module each one imports.

Configured in pyproject.toml under ``[tool.importlinter]``::

    contract_types = ["protected_external: tests.helpers.import_contracts.ProtectedExternal"]
"""

from __future__ import annotations

import ast
import fnmatch
import importlib.util
from functools import cache
from pathlib import Path

from grimp import ImportGraph
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck
from importlinter.domain.helpers import module_expressions_to_modules


@cache
def _source_path(module: str) -> Path | None:
    """The file of an internal *module*, found from its root package without importing it
    (importing ``desktop.gui.x`` to locate it would import Qt)."""
    root, _, rest = module.partition(".")
    spec = importlib.util.find_spec(root)
    if spec is None or not spec.submodule_search_locations:
        return None
    base = Path(next(iter(spec.submodule_search_locations)))
    if not rest:
        return base / "__init__.py"
    relative = Path(*rest.split("."))
    for candidate in (base / relative.with_suffix(".py"), base / relative / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@cache
def _imported_names(path: Path) -> dict[int, list[str]]:
    """Line number -> the full names each import statement starting there brings in:
    ``from a.b import c`` names ``a.b.c`` (c may be a submodule), ``import a.b`` names ``a.b``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: dict[int, list[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.setdefault(node.lineno, []).extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.setdefault(node.lineno, []).extend(
                f"{node.module}.{alias.name}" for alias in node.names
            )
    return names


class ProtectedExternal(Contract):
    """Only *allowed_importers* (and their descendants) may directly import an external module
    matching one of *external_modules* (fnmatch patterns of full dotted names, e.g.
    ``PySide6.*``) unless it also matches one of *except_modules*.

    Indirect imports are the layers contract's business: a module that may not import the
    window cannot reach QtWidgets through it.
    """

    type_name = "protected_external"

    external_modules = fields.ListField(subfield=fields.StringField())
    except_modules = fields.ListField(subfield=fields.StringField(), required=False, default=[])
    allowed_importers = fields.ListField(subfield=fields.ModuleExpressionField())
    # import-linter fills these in on each instance as plain lists, but types the attributes as
    # the field descriptors declared above: reading them needs the ignores below.

    def _restricted(self, name: str) -> bool:
        """Whether *name* or a package it lies in matches a pattern, and none matches an
        exception (``PySide6.QtCore.QTimer`` lies in the excepted ``PySide6.QtCore``)."""
        external: list[str] = self.external_modules  # type: ignore[assignment]
        excepted: list[str] = self.except_modules  # type: ignore[assignment]
        parts = name.split(".")
        prefixes = [".".join(parts[:end]) for end in range(1, len(parts) + 1)]

        def matches(patterns: list[str]) -> bool:
            return any(fnmatch.fnmatchcase(p, pattern) for p in prefixes for pattern in patterns)

        return matches(external) and not matches(excepted)

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        allowed = {
            module.name
            for module in module_expressions_to_modules(
                graph,
                self.allowed_importers,  # type: ignore[arg-type]
            )
        }
        external: list[str] = self.external_modules  # type: ignore[assignment]
        violations: list[dict[str, object]] = []
        for root in sorted({pattern.split(".")[0] for pattern in external}):
            if root not in graph.modules:
                continue  # nothing imports it at all
            for importer in sorted(graph.find_modules_that_directly_import(root)):
                if importer in allowed or any(importer.startswith(f"{a}.") for a in allowed):
                    continue
                for line, name in self._restricted_imports(graph, importer, root):
                    output.verbose_print(verbose, f"{importer}:{line} imports {name}")
                    violations.append({"importer": importer, "imported": name, "line": line})
        return ContractCheck(kept=not violations, metadata={"violations": violations})

    def _restricted_imports(
        self, graph: ImportGraph, importer: str, root: str
    ) -> list[tuple[int, str]]:
        """(line, full name) of each restricted module *importer* imports from *root*."""
        path = _source_path(importer)
        if path is None:
            return []
        by_line = _imported_names(path)
        found = []
        for detail in graph.get_import_details(importer=importer, imported=root):
            line = int(detail["line_number"])
            for name in by_line.get(line, []):
                if name.split(".")[0] == root and self._restricted(name):
                    found.append((line, name))
        return found

    def render_broken_contract(self, check: ContractCheck) -> None:
        for violation in check.metadata["violations"]:
            output.print_error(
                f"{violation['importer']} -> {violation['imported']} (l.{violation['line']})",
                bold=False,
            )
        output.new_line()
