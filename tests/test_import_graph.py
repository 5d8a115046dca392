"""The import graph of the first-party apps: no module imports itself back, and dependencies point one way.

Imports are read with ast at any depth, so an import deferred into a function to get round a
cycle still counts as one.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = ("accounts", "automation", "credentials", "groups", "portal")

# The apps each app must never import. accounts stands below groups and credentials, groups below
# credentials, and automation (personal access tokens, the management API) above them all. portal
# is wiring: only its root URLconf names the apps' views.
FORBIDDEN = {
    "accounts": {"groups", "credentials", "automation"},
    "groups": {"credentials", "automation"},
    "credentials": {"automation"},
    "portal": {"accounts", "groups", "credentials", "automation"},
}
WIRING = {"portal.urls", "portal.api_urls"}


def modules(root, apps):
    """Every module of the apps under root, by dotted name: (path, whether it is a package)."""
    found = {}
    for app in apps:
        for path in sorted((root / app).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            is_package = parts[-1] == "__init__"
            found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def imports(name, path, is_package, known):
    """The dotted names a module imports, each resolved to a module in known where it is one.

    `from X import Y` imports the module X.Y when there is one, else a name from X.
    """
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield _deepest_known(alias.name, known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's package, one level up per extra dot
                anchor = package.rsplit(".", node.level - 1)[0]
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield submodule if submodule in known else _deepest_known(base, known)


def _deepest_known(dotted, known):
    """The longest leading part of dotted that is a known module, else dotted itself."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in known:
            return ".".join(parts[:end])
    return dotted


def graph(root, app):
    """Each module of the app and the other modules of the same app it imports."""
    known = modules(root, [app])
    return {
        name: {target for target in imports(name, path, is_package, known) if target in known} - {name}
        for name, (path, is_package) in known.items()
    }


def cycles(edges):
    """One shortest cycle per strongly connected set of modules, as 'a -> b -> a'."""
    components = [component for component in _strongly_connected(edges) if len(component) > 1]
    return sorted(" -> ".join(_shortest_cycle(edges, min(component), component)) for component in components)


def _shortest_cycle(edges, start, component):
    """Breadth first from start, within the component, back to start."""
    paths, queue = {start: [start]}, [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(edges[node] & component):
            if target == start:
                return [*paths[node], start]
            if target not in paths:
                paths[target] = [*paths[node], target]
                queue.append(target)
    raise AssertionError(f"{start} is in a strongly connected set but on no cycle")


def _strongly_connected(edges):
    """Tarjan's algorithm."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while node not in component:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
            components.append(component)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return components


@pytest.mark.parametrize("app", APPS)
def test_no_module_imports_itself_back(app):
    found = cycles(graph(ROOT, app))
    assert not found, f"import cycles in {app}: " + "; ".join(found)


@pytest.mark.parametrize("app", sorted(FORBIDDEN))
def test_dependencies_point_one_way(app):
    known = modules(ROOT, APPS)
    wrong = sorted(
        f"{name} imports {target}"
        for name, (path, is_package) in modules(ROOT, [app]).items()
        if name not in WIRING
        for target in imports(name, path, is_package, known)
        if target.partition(".")[0] in FORBIDDEN[app]
    )
    assert not wrong, f"{app} must not import {', '.join(sorted(FORBIDDEN[app]))}: " + "; ".join(wrong)


def test_a_cycle_through_a_deferred_or_relative_import_is_found(tmp_path):
    package = tmp_path / "shop"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "models.py").write_text("from shop import queries\n")
    (package / "queries.py").write_text("def run():\n    from .models import Order\n")
    (package / "views.py").write_text("import shop.models\n")
    assert cycles(graph(tmp_path, "shop")) == ["shop.models -> shop.queries -> shop.models"]
