"""The GraphQL schema: queries, mutations and the limits every operation runs under."""

from __future__ import annotations

import strawberry
from graphql.error import GraphQLError
from graphql.validation import ASTValidationRule
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.extensions.disable_introspection import DisableIntrospection
from strawberry.types import ExecutionContext, Info

from mailsage_gql.graphql.context import Context
from mailsage_gql.graphql.errors import ErrorCodes
from mailsage_gql.graphql.types import (
    SmtpConfig,
    SmtpConfigInput,
    SmtpConfigUpdateInput,
    input_values,
)
from mailsage_gql.services import smtp_configs
from mailsage_gql.settings import Settings

GraphQLInfo = Info[Context, None]


@strawberry.type
class Query:
    @strawberry.field(description="The account's SMTP configs, by priority then creation.")
    async def smtp_configs(self, info: GraphQLInfo) -> list[SmtpConfig]:
        records = await smtp_configs.list_configs(info.context.principal.account_id)
        return [SmtpConfig.from_record(r) for r in records]

    @strawberry.field(description="One config; null when unknown or not yours.")
    async def smtp_config(self, info: GraphQLInfo, id: strawberry.ID) -> SmtpConfig | None:
        record = await smtp_configs.get_config(info.context.principal.account_id, id)
        return None if record is None else SmtpConfig.from_record(record)


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_smtp_config(self, info: GraphQLInfo, input: SmtpConfigInput) -> SmtpConfig:
        ctx = info.context
        record = await smtp_configs.create_config(
            ctx.principal.account_id, input_values(input), keyring=ctx.resources.keyring
        )
        return SmtpConfig.from_record(record)

    @strawberry.mutation
    async def update_smtp_config(
        self, info: GraphQLInfo, id: strawberry.ID, input: SmtpConfigUpdateInput
    ) -> SmtpConfig:
        ctx = info.context
        record = await smtp_configs.update_config(
            ctx.principal.account_id, id, input_values(input), keyring=ctx.resources.keyring
        )
        return SmtpConfig.from_record(record)

    @strawberry.mutation
    async def delete_smtp_config(self, info: GraphQLInfo, id: strawberry.ID) -> bool:
        await smtp_configs.delete_config(info.context.principal.account_id, id)
        return True

    @strawberry.mutation
    async def set_default_smtp_config(self, info: GraphQLInfo, id: strawberry.ID) -> SmtpConfig:
        record = await smtp_configs.set_default(info.context.principal.account_id, id)
        return SmtpConfig.from_record(record)


class MailsageSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Logging happens once, in `translate_error`: unexpected errors with a request id;
        expected ones (bad input, auth) are the client's business, not the operator's."""


def build_schema(settings: Settings) -> strawberry.Schema:
    """The schema with its limits. Validation rules are built once here, not per request: the
    validation cache keys on the rule classes, and new classes per request defeat it."""
    rules: list[type[ASTValidationRule]] = [
        *QueryDepthLimiter(max_depth=settings.graphql_max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases).validation_rules,
    ]
    if not settings.introspection_enabled:
        rules.extend(DisableIntrospection().validation_rules)

    class Limits(AddValidationRules):
        def __init__(self) -> None:
            super().__init__(rules)

    max_tokens = settings.graphql_max_tokens
    return MailsageSchema(
        query=Query,
        mutation=Mutation,
        extensions=[
            ErrorCodes,
            lambda: MaxTokensLimiter(max_token_count=max_tokens),
            Limits,
            lambda: ParserCache(maxsize=256),
            lambda: ValidationCache(maxsize=256),
        ],
    )
