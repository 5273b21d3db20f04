"""Dependency rules of HOUSE_STYLE, checked by reading every module's source: the one place."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import graphql
import pytest

PACKAGE = Path(__file__).parents[2] / "mailsage_gql"
MODULES = sorted(PACKAGE.rglob("*.py"))

#: Modules that do no I/O: the delivery policy (time comes in as an argument) and crypto.
PURE = ("mailsage_gql/delivery/policy.py", "mailsage_gql/delivery/clock.py", "mailsage_gql/crypto/")
#: What a pure module may not use: modules (with everything under them) and names in them.
#: Network, TLS, processes, files, the environment, databases and HTTP/SMTP clients.
IO_NAMES = (
    "socket",
    "ssl",
    "select",
    "selectors",
    "asyncio.streams",
    "asyncio.subprocess",
    "asyncio.open_connection",
    "asyncio.start_server",
    "asyncio.open_unix_connection",
    "asyncio.start_unix_server",
    "asyncio.StreamReader",
    "asyncio.StreamWriter",
    "asyncio.create_subprocess_exec",
    "asyncio.create_subprocess_shell",
    "os",
    "io.open",
    "io.open_code",
    "io.FileIO",
    "pathlib",
    "shutil",
    "tempfile",
    "glob",
    "fileinput",
    "subprocess",
    "sqlite3",
    "aiosqlite",
    "asyncpg",
    "tortoise",
    "aerich",
    "http",
    "urllib.request",
    "httpx",
    "smtplib",
    "aiosmtplib",
    "websockets",
)
#: Builtins that do I/O.
IO_BUILTINS = frozenset({"open", "input", "print"})
#: Methods that do I/O whatever object carries them (an event loop, a connection, a path
#: passed in as an argument).
IO_METHODS = frozenset(
    {
        "sock_connect",
        "sock_recv",
        "sock_sendall",
        "create_connection",
        "create_server",
        "create_datagram_endpoint",
        "create_unix_connection",
        "create_unix_server",
        "connect_read_pipe",
        "connect_write_pipe",
        "subprocess_exec",
        "subprocess_shell",
        "getaddrinfo",
        "run_in_executor",
        "execute_query",
        "execute_query_dict",
        "execute_script",
        "execute_insert",
        "execute_many",
        "executemany",
        "fetchrow",
        "fetchval",
        "read_text",
        "write_text",
        "read_bytes",
        "write_bytes",
    }
)

DATABASE_LAYER = ("mailsage_gql/database.py", "mailsage_gql/database/")
GRAPHQL_EXECUTION = "mailsage_gql/graphql/execution.py"
SMTP_ADAPTER = "mailsage_gql/smtp/aiosmtplib_adapter.py"
#: aiosmtplib modules whose `__all__` is its public API, as far as we use it.
AIOSMTPLIB_PUBLIC = ("aiosmtplib", "aiosmtplib.email", "aiosmtplib.errors", "aiosmtplib.response")


def relative(path: Path) -> str:
    return path.relative_to(PACKAGE.parent).as_posix()


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def import_statements(path: Path) -> Iterator[tuple[str, list[str]]]:
    """(module, imported names) per import: `import a.b` is ("a.b", []), `from a import b`
    is ("a", ["b"]); relative imports are made absolute."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            yield base, [alias.name for alias in node.names]


def imports_of(path: Path) -> set[str]:
    """Every module name `path` imports (absolute, dotted), including `from x import y` as x.y."""
    names: set[str] = set()
    for module, imported in import_statements(path):
        names.add(module)
        names.update(f"{module}.{name}" for name in imported)
    return names


def used_names(path: Path) -> set[str]:
    """Imports plus dotted attribute uses of imported names (`asyncio.open_connection`)."""
    bound: dict[str, str] = {}
    tree = parse(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bound[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    bound[top] = top
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    names = imports_of(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            chain: list[str] = []
            value: ast.expr = node
            while isinstance(value, ast.Attribute):
                chain.append(value.attr)
                value = value.value
            if isinstance(value, ast.Name) and value.id in bound:
                names.add(".".join([bound[value.id], *reversed(chain)]))
    return names


def uses(names: set[str], top: str) -> list[str]:
    return sorted(n for n in names if n == top or n.startswith(top + "."))


def modules_outside(folder: str) -> list[Path]:
    return [p for p in MODULES if not relative(p).startswith(f"mailsage_gql/{folder}/")]


def modules_under(*prefixes: str) -> list[Path]:
    return [p for p in MODULES if relative(p).startswith(prefixes)]


def face_modules() -> list[Path]:
    return [
        p
        for p in MODULES
        if relative(p).startswith(("mailsage_gql/graphql/", "mailsage_gql/rest/"))
        or relative(p) == "mailsage_gql/cli.py"
    ]


def dotted(path: str) -> str:
    return path.removesuffix(".py").removesuffix("/").replace("/", ".")


# -- who may import what -------------------------------------------------------------------


@pytest.mark.parametrize("path", modules_outside("smtp"), ids=relative)
def test_only_smtp_imports_aiosmtplib(path: Path) -> None:
    assert uses(imports_of(path), "aiosmtplib") == []


@pytest.mark.parametrize("path", modules_under("mailsage_gql/smtp/"), ids=relative)
@pytest.mark.parametrize(
    "forbidden", ["tortoise", "aerich", "asyncpg", "nacl", "strawberry", "starlette"]
)
def test_the_smtp_package_does_no_database_crypto_or_web_work(path: Path, forbidden: str) -> None:
    assert uses(imports_of(path), forbidden) == []


@pytest.mark.parametrize("path", modules_outside("crypto"), ids=relative)
def test_only_crypto_imports_nacl(path: Path) -> None:
    assert uses(imports_of(path), "nacl") == []


@pytest.mark.parametrize("path", face_modules(), ids=relative)
@pytest.mark.parametrize("forbidden", ["aiosmtplib", "nacl", "tortoise", "mailsage_gql.models"])
def test_faces_go_through_services(path: Path, forbidden: str) -> None:
    assert uses(imports_of(path), forbidden) == []


@pytest.mark.parametrize("module", ["errors.py", "settings.py"])
def test_errors_and_settings_import_nothing_of_ours_but_errors(module: str) -> None:
    ours = uses(imports_of(PACKAGE / module), "mailsage_gql")
    allowed = {"errors.py": (), "settings.py": ("mailsage_gql.errors",)}[module]

    # `from mailsage_gql import x` records both `mailsage_gql` and `mailsage_gql.x`.
    assert [n for n in ours if n != "mailsage_gql" and not n.startswith(allowed)] == []


def test_only_the_database_layer_imports_asyncpg() -> None:
    # mailsage_gql/database.py, or the mailsage_gql/database/ package if it becomes one.
    offenders = [
        relative(p)
        for p in MODULES
        if not relative(p).startswith(DATABASE_LAYER) and uses(imports_of(p), "asyncpg")
    ]

    assert offenders == []


# -- pure modules do no I/O ----------------------------------------------------------------


def io_uses(path: Path) -> list[str]:
    """What in `path` does I/O by IO_NAMES, IO_BUILTINS and IO_METHODS."""
    names = used_names(path)
    found = [n for top in IO_NAMES for n in uses(names, top)]
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            if node.id in IO_BUILTINS:
                found.append(f"{node.id}() (line {node.lineno})")
        elif isinstance(node, ast.Attribute) and node.attr in IO_METHODS:
            found.append(f"{ast.unparse(node)} (line {node.lineno})")
    return found


@pytest.mark.parametrize("path", modules_under(*PURE), ids=relative)
def test_pure_modules_use_nothing_that_does_io(path: Path) -> None:
    """No IO_NAMES imported or used as attributes of an import, no IO_BUILTINS, no
    IO_METHODS on any object. Logging and reading a clock are allowed."""
    assert io_uses(path) == []


@pytest.mark.parametrize("path", modules_under(*PURE), ids=relative)
def test_pure_modules_import_only_pure_modules_and_errors_of_ours(path: Path) -> None:
    allowed = [dotted(p) for p in PURE] + ["mailsage_gql.errors"]

    def fine(name: str) -> bool:
        # the name, something in it, or a package on its path (`from pkg.mod import x`)
        return any(
            name == a or name.startswith(a + ".") or a.startswith(name + ".") for a in allowed
        )

    assert [n for n in uses(imports_of(path), "mailsage_gql") if not fine(n)] == []


def test_the_io_check_sees_imports_attribute_uses_and_methods() -> None:
    found = io_uses(PACKAGE / "smtp" / "connection.py")

    # an import, an attribute use of an imported module, an I/O method on a local
    assert {"ssl", "socket.socket"} <= set(found)
    assert any(f.startswith("loop.sock_connect ") for f in found)


# -- graphql-core: its public API from the top level, internals in one module -------------


def graphql_statements(path: Path) -> list[tuple[str, list[str]]]:
    return [
        (module, names)
        for module, names in import_statements(path)
        if module == "graphql" or module.startswith("graphql.")
    ]


def test_graphql_core_public_names_are_imported_from_the_top_level() -> None:
    # `graphql.error.GraphQLError` is `graphql.GraphQLError`: the top level is the API.
    public = set(graphql.__all__)
    offenders = [
        f"{relative(p)}: from {module} import {name}"
        for p in MODULES
        for module, names in graphql_statements(p)
        if module != "graphql"
        for name in names
        if name in public
    ]

    assert offenders == []


def test_only_the_execution_module_imports_graphql_core_internals() -> None:
    # Internals: any graphql-core submodule (graphql.execution.*, graphql.pyutils, ...).
    importers = {
        relative(p)
        for p in MODULES
        for module, _ in graphql_statements(p)
        if module.startswith("graphql.")
    }

    assert importers <= {GRAPHQL_EXECUTION}


# -- aiosmtplib below its public API: only in the adapter ----------------------------------


def private_reaches(path: Path) -> list[str]:
    """`x._name` where x is not self or cls, and getattr/setattr/hasattr/delattr with a
    literal `_name`: reaches into another object's private state."""
    found: list[str] = []
    for node in ast.walk(parse(path)):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and not (isinstance(node.value, ast.Name) and node.value.id in {"self", "cls"})
        ) or (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in {"getattr", "setattr", "hasattr", "delattr"}
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and str(node.args[1].value).startswith("_")
        ):
            found.append(f"{ast.unparse(node)} (line {node.lineno})")
    return found


SMTP_OUTSIDE_ADAPTER = [
    p for p in modules_under("mailsage_gql/smtp/") if relative(p) != SMTP_ADAPTER
]


@pytest.mark.parametrize("path", SMTP_OUTSIDE_ADAPTER, ids=relative)
def test_outside_the_adapter_smtp_modules_touch_only_their_own_private_names(path: Path) -> None:
    """In mailsage_gql/smtp/ outside the adapter, a `_name` attribute is used only on `self`
    or `cls` (see private_reaches): aiosmtplib's private names, reached through an SMTP
    client, its protocol or its transport, are touched by the adapter module alone."""
    assert private_reaches(path) == []


@pytest.mark.parametrize("path", SMTP_OUTSIDE_ADAPTER, ids=relative)
def test_outside_the_adapter_smtp_modules_import_only_aiosmtplib_public_names(
    path: Path,
) -> None:
    """Outside the adapter, aiosmtplib names come from AIOSMTPLIB_PUBLIC modules and are in
    that module's `__all__` (so `aiosmtplib.protocol.SMTPProtocol` is the adapter's)."""
    offenders = []
    for module, names in import_statements(path):
        if module != "aiosmtplib" and not module.startswith("aiosmtplib."):
            continue
        if module not in AIOSMTPLIB_PUBLIC:
            offenders.append(module)
            continue
        public = set(importlib.import_module(module).__all__)
        offenders += [f"from {module} import {n}" for n in names if n not in public]

    assert offenders == []


def test_the_private_reach_check_sees_the_adapter_reaching() -> None:
    reaches = private_reaches(PACKAGE.parent / SMTP_ADAPTER)

    assert any("._response_pending" in r for r in reaches)
    assert any("._drain_helper" in r for r in reaches)


# -- the readers themselves ----------------------------------------------------------------


def test_import_reader_sees_from_and_plain_imports() -> None:
    sample = PACKAGE / "rest" / "smtp_configs.py"

    names = imports_of(sample)

    assert "mailsage_gql.services.smtp_configs" in names
    assert "json" in names


def test_face_modules_are_found() -> None:
    assert {relative(p) for p in face_modules()} >= {
        "mailsage_gql/cli.py",
        "mailsage_gql/graphql/schema.py",
        "mailsage_gql/rest/smtp_configs.py",
    }


def test_pure_modules_are_found() -> None:
    assert {relative(p) for p in modules_under(*PURE)} >= {
        "mailsage_gql/delivery/policy.py",
        "mailsage_gql/delivery/clock.py",
        "mailsage_gql/crypto/sealing.py",
    }
