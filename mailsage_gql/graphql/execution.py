"""The GraphQL executor: objects selecting only plain leaf attributes complete in one loop."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from operator import attrgetter
from typing import Any, NamedTuple, cast

from cachetools import LRUCache
from graphql import (
    GRAPHQL_MAX_INT,
    GRAPHQL_MIN_INT,
    GraphQLBoolean,
    GraphQLID,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLString,
    Undefined,
    get_nullable_type,
    is_leaf_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import AwaitableOrValue, Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from mailsage_gql.graphql.identity_cache import IdentityCache


class _Leaf(NamedTuple):
    """How to produce one response key of a leaf-only object without graphql-core's
    per-field machinery: read the attribute, coerce it like the scalar would."""

    response_name: str
    attribute: str
    read: Callable[[Any, str], Any]
    coerce: Callable[[Any], Any]
    non_null: bool
    #: A value of exactly this type is its own output (what the built-in scalar's coercion
    #: returns for it); None: always coerce.
    passthrough: type | None


#: graphql-core's built-in scalars, and the runtime type each answers unchanged. Int also
#: needs the value within 32 bits (checked in the loop).
_PASSTHROUGH: dict[GraphQLNamedType, type] = {
    GraphQLString: str,
    GraphQLID: str,
    GraphQLBoolean: bool,
    GraphQLInt: int,
}


#: Strawberry's scalars over immutable Python values, printed by a pure function of them.
_IMMUTABLE_SCALARS = frozenset({"DateTime", "Date", "Time"})


class _Plan(NamedTuple):
    """How to complete a leaf-only object: read all its field values in one call (an
    `operator.attrgetter` of every attribute when each is read with `getattr`, as Strawberry's
    default resolver does)."""

    values: Callable[[Any], tuple[Any, ...]]
    #: Per leaf, what the loop needs, unpacked faster than the leaf's own attributes.
    checks: tuple[tuple[str, Callable[[Any], Any], bool, type | None], ...]

    @classmethod
    def of(cls, leaves: tuple[_Leaf, ...]) -> _Plan:
        if len(leaves) > 1 and all(leaf.read is getattr for leaf in leaves):
            values = cast(
                Callable[[Any], tuple[Any, ...]],
                attrgetter(*(leaf.attribute for leaf in leaves)),
            )
        else:

            def values(source: Any) -> tuple[Any, ...]:
                return tuple(leaf.read(source, leaf.attribute) for leaf in leaves)

        checks = tuple((x.response_name, x.coerce, x.non_null, x.passthrough) for x in leaves)
        return cls(values, checks)


def _complete_plainly(plan: _Plan, source: Any) -> dict[str, Any] | None:
    """The object's response, or None when one value needs the regular path (a null on a
    non-null field, a value the scalar refuses, an exception)."""
    results: dict[str, Any] = {}
    try:
        for (name, coerce, non_null, passthrough), value in zip(
            plan.checks, plan.values(source), strict=True
        ):
            if value is None:
                if non_null:
                    return None
                results[name] = None
            elif type(value) is passthrough and (
                passthrough is not int or GRAPHQL_MIN_INT <= value <= GRAPHQL_MAX_INT  # type: ignore[operator]
            ):
                results[name] = value
            elif isinstance(value, Exception):
                return None
            else:
                coerced = coerce(value)
                if coerced is None or coerced is Undefined:
                    return None
                results[name] = coerced
    except Exception:  # the regular path reports it, located on its field
        return None
    return results


class LeafObjectExecutor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, except for objects whose selected fields are all plain leaf
    attributes (Strawberry "basic" fields: no resolver, arguments, field extensions or
    sub-selection) while no resolve middleware runs: those complete in one loop over a plan
    built once per query document and type, instead of one resolve info, path and completion
    per field.

    Same results by construction: a value the fast loop cannot complete plainly (null on a
    non-null field, a scalar refusing the value, any exception) sends the whole object back
    through the regular path, which produces the located error exactly as before. Reading a
    plain attribute twice has no side effect.
    """

    #: Plans by parent type and the exact field nodes selected (the parser cache hands out the
    #: same document for the same query, so its nodes recur across operations). An entry keeps
    #: its nodes alive, so their ids cannot be reused while it exists; the least recently used
    #: entry goes when it is full. Each schema gets its own class, hence its own cache (see
    #: `executor_class`).
    _plan_cache: LRUCache[tuple[object, ...], tuple[tuple[object, ...], _Plan | None]]
    #: Remembering coercions by scalar name (see `_coercion`); one per schema, like the plans.
    _coercions: dict[str, Callable[[Any], Any]]
    _COERCION_CACHE_SIZE = 4096

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        plan = self._leaf_plan(parent_type, grouped_field_set)
        if plan:
            results = _complete_plainly(plan, source_value)
            if results is not None:
                return results
        return super().execute_fields(
            parent_type, source_value, path, grouped_field_set, position_context
        )

    def complete_list_value(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> AwaitableOrValue[list[Any]]:
        completed = self._complete_list_plainly(return_type, field_details_list, path, result)
        if completed is not None:
            return completed
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _complete_list_plainly(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_details_list: FieldDetailsList,
        path: Path,
        result: Any,
    ) -> list[Any] | None:
        """A list of leaf-only objects in one loop; None when it needs the regular path (not
        a plain list, an item type with `is_type_of`, a streamed or deferred selection, or
        any item the fast loop cannot complete)."""
        if type(result) is not list and type(result) is not tuple:
            return None
        item_type = return_type.of_type
        non_null = is_non_null_type(item_type)
        object_type = get_nullable_type(item_type)
        if not is_object_type(object_type) or object_type.is_type_of is not None:
            return None
        if self.get_stream_usage(field_details_list, path) is not None:
            return None
        grouped_field_set, new_defer_usages, _forbidden = self.collect_subfields(
            object_type, field_details_list
        )
        if new_defer_usages:
            return None
        plan = self._leaf_plan(object_type, grouped_field_set)
        if not plan:
            return None
        completed: list[Any] = []
        for item in result:
            if item is None:
                if non_null:
                    return None
                completed.append(None)
                continue
            if isinstance(item, Exception) or self.is_awaitable(item):
                return None
            values = _complete_plainly(plan, item)
            if values is None:
                return None
            completed.append(values)
        return completed

    def _leaf_plan(
        self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> _Plan | None:
        # graphql-core hands every item of a list the same field set: look it up once.
        memo = self.__dict__.setdefault("_leaf_plan_memo", {})
        known = memo.get(id(grouped_field_set))
        if known is not None:
            return known[1]
        plan = self._shared_leaf_plan(parent_type, grouped_field_set)
        memo[id(grouped_field_set)] = (grouped_field_set, plan)  # keeps the id from reuse
        return plan

    def _shared_leaf_plan(
        self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> _Plan | None:
        middleware = self.middleware_manager
        if middleware is not None and middleware.middlewares:
            return None  # resolve hooks must see every field
        nodes = []
        for details_list in grouped_field_set.values():
            for details in details_list:
                if details.defer_usage is not None:
                    return None
                nodes.append(details.node)
        key = (parent_type, *map(id, nodes))
        cached = self._plan_cache.get(key)
        if cached is None:
            cached = (tuple(nodes), self._build_leaf_plan(parent_type, grouped_field_set))
            self._plan_cache[key] = cached
        return cached[1]

    def _build_leaf_plan(
        self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> _Plan | None:
        plan = []
        for response_name, field_details_list in grouped_field_set.items():
            node = field_details_list[0].node
            if node.selection_set is not None or node.arguments:
                return None
            field_def = self.schema.get_field(parent_type, node.name.value)
            if field_def is None or field_def.args:
                return None
            # Strawberry marks the resolver of a basic field (no resolver, no permission
            # classes, no field extensions: a plain attribute read).
            if not getattr(field_def.resolve, "_is_default", False):
                return None
            definition = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            if not isinstance(definition, StrawberryField) or not definition.is_basic_field:
                return None
            named = get_nullable_type(field_def.type)
            if not is_leaf_type(named) or definition.python_name is None:
                return None
            plan.append(
                _Leaf(
                    response_name=response_name,
                    attribute=definition.python_name,
                    read=definition.default_resolver,
                    coerce=self._coercion(named),
                    non_null=is_non_null_type(field_def.type),
                    passthrough=_PASSTHROUGH.get(named),
                )
            )
        return _Plan.of(tuple(plan)) if plan else None

    def _coercion(self, scalar: GraphQLLeafType) -> Callable[[Any], Any]:
        """The scalar's output coercion; for immutable values remembered per value object (the
        objects behind an unchanged page are the same from one request to the next), in one
        cache per scalar and schema, so every plan shares it and memory stays bounded however
        many plans there are."""
        coerce: Callable[[Any], Any] = scalar.coerce_output_value
        if scalar.name not in _IMMUTABLE_SCALARS:
            return coerce
        remembering = self._coercions.get(scalar.name)
        if remembering is None:
            remembering = self._coercions[scalar.name] = partial(
                IdentityCache[Any, Any](self._COERCION_CACHE_SIZE).get, make=coerce
            )
        return remembering


def executor_class(*, plan_cache_size: int = 1024) -> type[LeafObjectExecutor]:
    """A `LeafObjectExecutor` class with a plan cache of its own, for one schema."""

    class SchemaExecutor(LeafObjectExecutor):
        _plan_cache = LRUCache(maxsize=plan_cache_size)
        _coercions = {}

    return SchemaExecutor
