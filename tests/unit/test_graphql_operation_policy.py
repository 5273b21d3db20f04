"""Given the schema's operation extensions, when operations repeat, then each still gets
exactly its own validation verdict from the caches."""

from __future__ import annotations

import strawberry

from mailsage_gql.graphql.schema import operation_extensions


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "hi"


def schema(cache_size: int = 256) -> strawberry.Schema:
    return strawberry.Schema(
        query=Query, extensions=operation_extensions([], max_tokens=1000, cache_size=cache_size)
    )


async def test_a_repeated_invalid_operation_is_refused_every_time() -> None:
    s = schema()
    for _ in range(3):
        bad = await s.execute("{ nope }")
        assert bad.data is None
        assert bad.errors and "Cannot query field 'nope'" in bad.errors[0].message
        good = await s.execute("{ hello }")
        assert good.errors is None and good.data == {"hello": "hi"}


async def test_verdicts_stay_right_when_the_caches_overflow() -> None:
    s = schema(cache_size=2)
    queries = [f"{{ hello a{i}: hello }}" for i in range(5)] + ["{ nope }", "{ hello }"]
    for _ in range(2):
        for query in queries:
            result = await s.execute(query)
            if "nope" in query:
                assert result.errors and result.data is None
            else:
                assert result.errors is None and result.data is not None
                assert result.data["hello"] == "hi"
