"""Dependency rules of HOUSE_STYLE, checked by reading every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[2] / "mailsage_gql"
MODULES = sorted(PACKAGE.rglob("*.py"))


def relative(path: Path) -> str:
    return path.relative_to(PACKAGE.parent).as_posix()


def imports_of(path: Path) -> set[str]:
    """Every module name `path` imports (absolute, dotted), including `from x import y` as x.y."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def uses(names: set[str], top: str) -> list[str]:
    return sorted(n for n in names if n == top or n.startswith(top + "."))


def modules_outside(folder: str) -> list[Path]:
    return [p for p in MODULES if not relative(p).startswith(f"mailsage_gql/{folder}/")]


def face_modules() -> list[Path]:
    return [
        p
        for p in MODULES
        if relative(p).startswith(("mailsage_gql/graphql/", "mailsage_gql/rest/"))
        or relative(p) == "mailsage_gql/cli.py"
    ]


@pytest.mark.parametrize("path", modules_outside("smtp"), ids=relative)
def test_only_smtp_imports_aiosmtplib(path: Path) -> None:
    assert uses(imports_of(path), "aiosmtplib") == []


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
