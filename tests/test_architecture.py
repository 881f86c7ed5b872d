"""The import graph of themis_desktop has no cycle: no two modules import each other, directly
or through other modules.

grimp (installed with import-linter) reads every import statement of the package, those in
functions and under `if TYPE_CHECKING:` included, so moving an import into a function to dodge
a cycle does not hide it. For each module, the modules it imports (even indirectly) that also
import it (even indirectly) are its partners in a cycle; a failure shows the chain each way.
Imports by name at run time (importlib, __import__) are not in the graph: a second test keeps
them out of the package.

The layers (core without Qt, ui, cli, demo; core's feature packages, rollout down to util)
and the cycles between the modules of one package are import-linter contracts in
pyproject.toml, checked by `lint-imports` in CI; this test adds the module-by-module view.
"""

from __future__ import annotations

import re
from pathlib import Path

import grimp
import pytest

PACKAGE = "themis_desktop"


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(PACKAGE, cache_dir=None)


def test_no_two_modules_import_each_other(graph: grimp.ImportGraph) -> None:
    cycles: dict[frozenset[str], str] = {}
    for module in sorted(graph.modules):
        imports = graph.find_upstream_modules(module)  # what it imports, even indirectly
        imported_by = graph.find_downstream_modules(module)  # what imports it, same
        for other in sorted(imports & imported_by):
            pair = frozenset((module, other))
            if pair not in cycles:
                there = graph.find_shortest_chain(importer=module, imported=other)
                back = graph.find_shortest_chain(importer=other, imported=module)
                cycles[pair] = f"{' -> '.join(there or ())}\n  and {' -> '.join(back or ())}"
    assert not cycles, (
        f"{len(cycles)} module pairs import each other; move what both need into a module "
        "that imports neither:\n" + "\n".join(sorted(cycles.values()))
    )


def test_the_package_imports_nothing_by_name_at_run_time() -> None:
    """The graph above only sees import statements."""
    dynamic = re.compile(r"\bimport_module\(|\b__import__\(")
    root = Path(__file__).parents[1] / PACKAGE
    found = [
        f"{path.relative_to(root.parent)}:{number}"
        for path in sorted(root.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if dynamic.search(line)
    ]
    assert not found, f"imports by name that no contract sees: {found}"
