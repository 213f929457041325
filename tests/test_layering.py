"""The package reads in one direction (issue 12): no two modules import each other, and the
JOSE layer (``_jose/``) imports nothing of jwtwarden but ``errors``.

Imports under ``if TYPE_CHECKING:`` are annotations only and do not count.
"""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import jwtwarden

SRC = Path(jwtwarden.__file__).resolve().parent
# Pairs other engineers of issue 12 are untangling in parallel; remove each line once its
# branch has landed.
IN_PROGRESS: set[tuple[str, str]] = set()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in SRC.rglob("*.py")}


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            inside.update(id(n) for n in ast.walk(node))
    return inside


def _imports(module: str) -> set[str]:
    path = MODULES[module]
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    skipped = _type_checking_nodes(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            for candidate in (target, *(f"{target}.{a.name}" for a in node.names)):
                if candidate in MODULES:
                    found.add(candidate)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in MODULES)
    found.discard(module)
    return found


def test_should_have_no_two_modules_that_import_each_other() -> None:
    graph = {name: _imports(name) for name in MODULES}
    mutual = {
        (a, b)
        for a, b in itertools.combinations(sorted(graph), 2)
        if b in graph[a] and a in graph[b]
    }
    assert mutual - IN_PROGRESS == set()


def test_should_keep_the_jose_layer_free_of_imports_from_above_but_errors() -> None:
    upward = {
        (name, target)
        for name in MODULES
        if name.startswith("jwtwarden._jose")
        for target in _imports(name)
        if not target.startswith("jwtwarden._jose") and target != "jwtwarden.errors"
    }
    assert upward == set()


DRIVERS = ("sqlalchemy", "asyncpg", "aiosqlite", "redis", "alembic")
# Where a driver may be imported: the adapters, and the schema migrations (SQL by nature).
DRIVER_HOMES = ("jwtwarden.stores", "jwtwarden.server.migrate", "jwtwarden.server.migrations")


def _driver_imports(module: str) -> set[str]:
    path = MODULES[module]
    tree = ast.parse(path.read_text(), filename=str(path))
    skipped = _type_checking_nodes(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
    return found & set(DRIVERS)


def test_should_import_database_and_redis_drivers_only_in_the_adapters() -> None:
    # Issue 12 item 6: each adapter translates its driver's errors (StoreUnavailableError);
    # the HTTP edge and the services never judge a driver's exception.
    outside = {
        (name, driver)
        for name in MODULES
        if not any(name == home or name.startswith(home + ".") for home in DRIVER_HOMES)
        for driver in _driver_imports(name)
    }
    assert outside == set()


# The two data paths of docs/architecture.md ("Two data paths"), each read in one direction:
# a module of the left-hand prefix imports nothing under the prefixes on the right (imports
# inside functions count too; TYPE_CHECKING imports do not).
_EDGES = ("jwtwarden.server", "jwtwarden.cli", "jwtwarden.integrations", "jwtwarden.webapp")
ONE_WAY: dict[str, tuple[str, ...]] = {
    # A token through the verifier: the key sources and the hooks are injected (KeySource,
    # policy.checks), so the verifier imports neither the remote key set nor the denylist.
    "jwtwarden.verify": (
        "jwtwarden.jwks",
        "jwtwarden.revocation",
        "jwtwarden.stores",
        "jwtwarden.sessions",
        "jwtwarden.cache",
        "jwtwarden.explain",
        "jwtwarden.unsafe",
        "jwtwarden.issue",
        *_EDGES,
    ),
    "jwtwarden._claims": ("jwtwarden.verify", "jwtwarden.policy", "jwtwarden.keys", *_EDGES),
    "jwtwarden._key_sources": ("jwtwarden.verify", "jwtwarden.jwks", *_EDGES),
    "jwtwarden.policy": ("jwtwarden.verify", "jwtwarden.jwks", "jwtwarden.issue", *_EDGES),
    "jwtwarden.keys": (
        "jwtwarden.verify",
        "jwtwarden.jwks",
        "jwtwarden.stores",
        "jwtwarden.issue",
        *_EDGES,
    ),
    "jwtwarden.jwks": ("jwtwarden.verify", "jwtwarden.stores", "jwtwarden.sessions", *_EDGES),
    # A refresh through the server: route -> grant -> SessionService -> Rotator -> store.
    # The service knows the ports only; the store never calls back into the service.
    "jwtwarden.oauth": ("jwtwarden.stores", *_EDGES),
    "jwtwarden.sessions": ("jwtwarden.stores", "jwtwarden.oauth", *_EDGES),
    "jwtwarden.stores": (
        "jwtwarden.sessions.service",
        "jwtwarden.sessions.rotation",
        "jwtwarden.oauth.grants",
        "jwtwarden.issue",
        "jwtwarden.verify",
        *_EDGES,
    ),
    "jwtwarden.server": ("jwtwarden.cli",),
}


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_should_read_each_data_path_in_one_direction() -> None:
    assert all(any(_under(m, p) for m in MODULES) for p in ONE_WAY)  # no stale prefix
    backwards = sorted(
        (name, target)
        for source, forbidden in ONE_WAY.items()
        for name in MODULES
        if _under(name, source)
        for target in _imports(name)
        if any(_under(target, prefix) for prefix in forbidden)
    )
    assert backwards == []
