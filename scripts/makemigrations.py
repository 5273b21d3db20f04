"""Generate the next aerich migration for both dialects from the current models.

Usage: python scripts/makemigrations.py NAME [--empty]
`--empty` writes migrations with no statements, to fill in by hand with what Tortoise's models
cannot describe (partial indexes, say).
Needs PostgreSQL at MAILSAGE_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres):
it creates and drops a scratch database. Review the generated files before committing.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import uuid
from pathlib import Path

import asyncpg

from mailsage_gql.database import aerich_command, migrate, migrations_location
from mailsage_gql.settings import Settings

SCRATCH_KEY = "unused"
ADMIN_URL = os.environ.get("MAILSAGE_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")


# Tortoise's schema generator does not emit partial unique indexes: added to the initial one.
DEFAULT_INDEX = (
    "\n-- One default config per account, enforced by the database (added by hand: Tortoise's"
    "\n-- schema generator does not emit partial unique indexes)."
    '\nCREATE UNIQUE INDEX IF NOT EXISTS "uniq_smtp_config_default" ON "smtp_config" '
    '("account_id") WHERE {condition};'
)


def add_default_index(path: Path, dialect: str) -> None:
    text = path.read_text()
    end = text.index('"""\n\n\nasync def downgrade')
    condition = "is_default" if dialect == "postgres" else "is_default = 1"
    path.write_text(text[:end] + DEFAULT_INDEX.format(condition=condition) + text[end:])


async def generate(settings: Settings, name: str, empty: bool) -> None:
    models_dir = migrations_location(settings) / "models"
    if not models_dir.exists():
        async with aerich_command(settings, init=False) as command:
            await command.init_db(safe=True)
        (initial,) = models_dir.glob("0_*.py")
        add_default_index(initial, settings.dialect)
        print(f"{settings.dialect}: initial migration written")
        return
    await migrate(settings)
    # A fresh Command reads the applied state: migrate() diffs against the last applied version.
    async with aerich_command(settings) as command:
        written = await command.migrate(name, empty=empty, no_input=True)
    print(f"{settings.dialect}: {written or 'no changes'}")


async def main(name: str, empty: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        await generate(
            Settings(database_url=f"sqlite://{tmp}/make.db", secret_key=SCRATCH_KEY), name, empty
        )
    db = f"mailsage_make_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{db}"')
    try:
        base = ADMIN_URL.rsplit("/", 1)[0]
        url = f"{base}/{db}"
        await generate(Settings(database_url=url, secret_key=SCRATCH_KEY), name, empty)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    words = [a for a in sys.argv[1:] if a != "--empty"]
    asyncio.run(main(words[0] if words else "update", "--empty" in sys.argv[1:]))
