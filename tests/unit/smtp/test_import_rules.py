"""Only mailsage_gql.smtp may import aiosmtplib (house style: dependency direction)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[3] / "mailsage_gql"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_smtp_package_imports_aiosmtplib() -> None:
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "aiosmtplib" in _imports(path) and path.relative_to(PACKAGE).parts[0] != "smtp"
    ]

    assert offenders == []


def test_the_smtp_package_does_no_database_work() -> None:
    forbidden = {"tortoise", "aerich", "asyncpg", "nacl", "strawberry", "starlette"}
    for path in (PACKAGE / "smtp").rglob("*.py"):
        assert not _imports(path) & forbidden, path.name
