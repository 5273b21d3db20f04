"""The committed console assets are exactly what `make ui` builds from ui/ and the schema."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from mailsage_gql import console

UI = Path(__file__).parents[2] / "ui"


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_rebuilding_the_console_gives_the_committed_assets(tmp_path: Path) -> None:
    if shutil.which("npm") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("npm is required when CI=true: the console's assets must be checked")
        pytest.skip("npm is not installed: cannot rebuild the console to compare")
    out = tmp_path / "console_dist"

    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=UI, check=True)
    subprocess.run(
        ["npm", "run", "build", "--", "--outDir", str(out), "--emptyOutDir"], cwd=UI, check=True
    )

    built, committed = files(out), files(console.DIST)
    assert sorted(built) == sorted(committed), "run `make ui` and commit mailsage_gql/console_dist"
    changed = [name for name in built if built[name] != committed[name]]
    assert changed == [], "run `make ui` and commit mailsage_gql/console_dist"
