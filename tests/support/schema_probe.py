"""Build a database in a child process: `migrate` (aerich) or `generate` (Tortoise models).

Run as `python -m tests.support.schema_probe migrate|generate DATABASE_URL`. A child process,
because Tortoise keeps its model registry in class state that the suite's open database uses.
"""

from __future__ import annotations

import asyncio
import sys

from tortoise import Tortoise

from mailsage_gql import database
from mailsage_gql.settings import Settings


async def build(how: str, url: str) -> None:
    settings = Settings(database_url=url)
    if how == "migrate":
        await database.migrate(settings)
        return
    if settings.sqlite_path is not None:
        settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    await Tortoise.init(config=database.tortoise_config(settings))
    try:
        await Tortoise.generate_schemas()
    finally:
        await Tortoise.close_connections()


if __name__ == "__main__":
    asyncio.run(build(sys.argv[1], sys.argv[2]))
