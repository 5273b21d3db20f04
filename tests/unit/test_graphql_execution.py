"""The leaf-object executor answers exactly what graphql-core's own executor answers."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import strawberry
from strawberry.extensions import SchemaExtension

from mailsage_gql.graphql.execution import LeafObjectExecutor, executor_class


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Item:
    id: strawberry.ID
    name: str
    size: int
    note: str | None
    colour: Colour
    at: datetime

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()


@strawberry.type
class Box:
    label: str
    items: list[Item]


AT = datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC)


def item(i: int, **overrides: Any) -> Item:
    values: dict[str, Any] = {
        "id": strawberry.ID(f"id-{i}"),
        "name": f"item {i}",
        "size": i,
        "note": None if i % 2 else f"note {i}",
        "colour": Colour.RED if i % 2 else Colour.BLUE,
        "at": datetime(2026, 1, 2, 3, 4, i, tzinfo=UTC),
    }
    values.update(overrides)
    return Item(**values)


ROWS: dict[str, list[Any]] = {
    "plain": [item(i) for i in range(5)],
    # A null on a non-null field, in the middle of the list.
    "null_name": [item(0), item(1, name=None), item(2)],
    # An Int the scalar refuses (beyond 32 bits).
    "huge_size": [item(0), item(1, size=2**40)],
    # A string where an enum value belongs.
    "bad_colour": [item(0, colour="green")],
    # Values the scalars coerce rather than pass through: a bool and a float as Int, an int
    # as String, the largest Int.
    "coerced": [item(0, size=True, name=7), item(1, size=3.0), item(2, size=2**31 - 1)],
    # A missing item: allowed in a list of nullable items, an error otherwise.
    "with_none": [item(0), None, item(2)],
    # Timestamps (printed once per value object): one object twice, the same instant in
    # another zone and as a naive datetime, each printed as itself.
    "zones": [
        item(0, at=AT),
        item(1, at=AT.astimezone(timezone(timedelta(hours=2)))),
        item(2, at=AT),
        item(3, at=AT.replace(tzinfo=None)),
    ],
}


@strawberry.type
class Query:
    @strawberry.field
    def items(self, case: str = "plain") -> list[Item]:
        return ROWS[case]

    @strawberry.field
    def optional_items(self, case: str = "plain") -> list[Item | None] | None:
        return list(ROWS[case])

    @strawberry.field
    def tuple_items(self) -> list[Item]:
        return tuple(ROWS["plain"])  # type: ignore[return-value]

    @strawberry.field
    def empty_items(self) -> list[Item]:
        return []

    @strawberry.field
    async def box(self) -> Box:
        return Box(label="b", items=ROWS["plain"])


def schemas(*extensions: Any) -> tuple[strawberry.Schema, strawberry.Schema]:
    """The same schema with graphql-core's executor and with ours."""
    plain = strawberry.Schema(query=Query, extensions=list(extensions))
    fast = strawberry.Schema(
        query=Query, extensions=list(extensions), execution_context_class=executor_class()
    )
    return plain, fast


FIELDS = "id name size note colour at"

QUERIES = [
    "{ items { " + FIELDS + " } }",
    "{ items { name } }",
    # Aliases, repeated fields and __typename.
    "{ items { key: id n: name name name size __typename } }",
    # A resolver among the plain fields.
    "{ items { name shout size } }",
    # Skip and include, literal and by variable.
    "query($yes: Boolean!) { items { id name @skip(if: $yes) size @include(if: $yes) } }",
    # Fragments, named and inline.
    "fragment F on Item { id colour } { items { ...F ... on Item { at } note } }",
    # Nested under an async resolver.
    "{ box { label items { " + FIELDS + " } } }",
    # Errors: non-null violation, refused Int, refused enum; nullable and non-null lists.
    '{ items(case: "null_name") { id name } }',
    '{ optionalItems(case: "null_name") { id name } }',
    '{ items(case: "huge_size") { id size } }',
    '{ optionalItems(case: "huge_size") { id size } }',
    '{ items(case: "bad_colour") { id colour } }',
    '{ items(case: "with_none") { id } }',
    '{ items(case: "coerced") { name size } }',
    '{ items(case: "zones") { id at } }',
    '{ optionalItems(case: "with_none") { id name } }',
    "{ tupleItems { id name } }",
    "{ emptyItems { id name } }",
]


def outcome(result: Any) -> tuple[Any, list[tuple[str, Any, Any]]]:
    errors = [(e.message, e.path, e.locations) for e in result.errors or []]
    return result.data, errors


@pytest.mark.parametrize("query", QUERIES)
async def test_fast_executor_answers_like_graphql_core(query: str) -> None:
    plain, fast = schemas()
    variables = {"yes": True}

    expected = outcome(await plain.execute(query, variable_values=variables))
    # Twice: the second run uses the cached plan.
    first = outcome(await fast.execute(query, variable_values=variables))
    second = outcome(await fast.execute(query, variable_values=variables))

    assert first == expected
    assert second == expected


async def test_plans_of_different_queries_do_not_mix() -> None:
    plain, fast = schemas()

    for query in QUERIES * 2:
        expected = outcome(await plain.execute(query, variable_values={"yes": False}))
        assert outcome(await fast.execute(query, variable_values={"yes": False})) == expected


async def test_each_timestamp_prints_as_itself() -> None:
    _, fast = schemas()

    for _ in range(2):
        result = await fast.execute('{ items(case: "zones") { at } }')

        assert result.data is not None
        assert [i["at"] for i in result.data["items"]] == [
            "2026-01-02T03:04:05.000678+00:00",
            "2026-01-02T05:04:05.000678+02:00",
            "2026-01-02T03:04:05.000678+00:00",
            "2026-01-02T03:04:05.000678",
        ]


async def test_every_plan_shares_one_bounded_timestamp_cache() -> None:
    # given one schema, queried in several shapes that each select a timestamp
    cls = executor_class()
    fast = strawberry.Schema(query=Query, execution_context_class=cls)
    shapes = ["{ items { at } }", "{ items { id at } }", "{ box { items { name at } } }"]

    # when each shape runs (each has a plan of its own)
    for query in shapes:
        assert (await fast.execute(query)).errors is None

    # then their timestamps go through one cache for the schema, not one per plan or field
    assert list(cls._coercions) == ["DateTime"]


async def test_error_cases_report_a_located_error() -> None:
    _, fast = schemas()

    result = await fast.execute('{ items(case: "null_name") { id name } }')

    assert result.data is None
    assert result.errors is not None
    assert result.errors[0].path == ["items", 1, "name"]
    assert "Cannot return null for non-nullable field Item.name" in result.errors[0].message


class CountResolves(SchemaExtension):
    seen: list[str] = []

    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        CountResolves.seen.append(info.field_name)
        return _next(root, info, *args, **kwargs)


@pytest.fixture
def resolves() -> Iterator[list[str]]:
    CountResolves.seen = []
    yield CountResolves.seen


async def test_resolve_hooks_still_see_every_field(resolves: list[str]) -> None:
    _, fast = schemas(CountResolves)

    result = await fast.execute("{ items { id name } }")

    assert result.errors is None
    assert resolves.count("name") == len(ROWS["plain"])
    assert resolves.count("id") == len(ROWS["plain"])


def test_each_schema_gets_its_own_plan_cache() -> None:
    first, second = executor_class(), executor_class()

    assert issubclass(first, LeafObjectExecutor)
    assert first._plan_cache is not second._plan_cache


async def test_plain_leaf_objects_take_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    from mailsage_gql.graphql import execution

    completed: list[Any] = []
    original = execution._complete_plainly

    def spy(plan: Any, source: Any) -> Any:
        result = original(plan, source)
        completed.append(result)
        return result

    monkeypatch.setattr(execution, "_complete_plainly", spy)
    _, fast = schemas()

    result = await fast.execute("{ items { " + FIELDS + " } }")

    assert result.errors is None
    assert len(completed) == len(ROWS["plain"])
    assert all(c is not None for c in completed)
