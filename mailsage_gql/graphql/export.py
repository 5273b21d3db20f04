"""Print the schema's SDL (`make schema` writes it to schema/schema.graphql)."""

from __future__ import annotations

from mailsage_gql.graphql.schema import build_schema
from mailsage_gql.settings import Settings


def export_sdl() -> str:
    """The SDL of the schema as served in development (limits do not change the SDL)."""
    return build_schema(Settings()).as_str() + "\n"


if __name__ == "__main__":
    print(export_sdl(), end="")
