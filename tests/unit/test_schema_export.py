"""schema/schema.graphql is the exported SDL of the schema as served."""

from __future__ import annotations

from pathlib import Path

from mailsage_gql.graphql.export import export_sdl

SCHEMA_FILE = Path(__file__).parents[2] / "schema" / "schema.graphql"


def test_committed_schema_matches_the_exported_sdl() -> None:
    committed = SCHEMA_FILE.read_text(encoding="utf-8")

    assert committed == export_sdl(), (
        "schema/schema.graphql differs from the schema: run `make schema` and commit the result"
    )
