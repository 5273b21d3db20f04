"""The GraphQL schema: queries, mutations and the limits every operation runs under."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Iterator
from datetime import datetime
from typing import Annotated, Any

import strawberry
from graphql import (
    ASTValidationRule,
    GraphQLError,
    MaxIntrospectionDepthRule,
)
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.disable_introspection import DisableIntrospection
from strawberry.types import ExecutionContext, Info

from mailsage_gql.errors import ValidationError
from mailsage_gql.graphql.context import Context
from mailsage_gql.graphql.errors import translate_error, translate_result_errors
from mailsage_gql.graphql.event_types import DeliveryEvent, DeliveryEventType, DeliveryStats
from mailsage_gql.graphql.execution import executor_class
from mailsage_gql.graphql.identity_cache import IdentityCache
from mailsage_gql.graphql.message_types import (
    BatchItemError,
    BatchItemResult,
    BatchResult,
    Message,
    MessageConnection,
    MessageEdge,
    MessageStatus,
    PageInfo,
    SendEmailInput,
    SmtpTestResult,
    decode_cursor,
    encode_cursor,
    send_input_values,
)
from mailsage_gql.graphql.types import (
    SmtpConfig,
    SmtpConfigInput,
    SmtpConfigUpdateInput,
    input_values,
)
from mailsage_gql.graphql.webhook_types import (
    Webhook,
    WebhookDelivery,
    WebhookDeliveryConnection,
    WebhookDeliveryEdge,
    WebhookWithSecret,
)
from mailsage_gql.services import (
    config_checks,
    sending,
    smtp_configs,
    stats,
    tracking,
    webhooks,
)
from mailsage_gql.services.smtp_configs import SmtpConfigRecord
from mailsage_gql.settings import Settings

GraphQLInfo = Info[Context, None]


@strawberry.type
class Query:
    @strawberry.field(description="The account's SMTP configs, by priority then creation.")
    async def smtp_configs(self, info: GraphQLInfo) -> list[SmtpConfig]:
        ctx = info.context
        records = await smtp_configs.list_configs(
            ctx.principal.account_id, cache=ctx.resources.config_records
        )
        return [config_object(info, r) for r in records]

    @strawberry.field(description="One config; null when unknown or not yours.")
    async def smtp_config(self, info: GraphQLInfo, id: strawberry.ID) -> SmtpConfig | None:
        ctx = info.context
        record = await smtp_configs.get_config(
            ctx.principal.account_id, id, cache=ctx.resources.config_records
        )
        return None if record is None else config_object(info, record)

    @strawberry.field(description="One message; null when unknown or not yours.")
    async def message(self, info: GraphQLInfo, id: strawberry.ID) -> Message | None:
        row = await sending.get_message(info.context.principal.account_id, id)
        if row is None:
            return None
        (record,) = await sending.message_records([row])
        return Message.from_record(record)

    @strawberry.field(description="The stored delivery history of one message, oldest first.")
    async def message_events(
        self, info: GraphQLInfo, message_id: strawberry.ID
    ) -> list[DeliveryEvent]:
        events = await tracking.message_events(info.context.principal.account_id, message_id)
        return [DeliveryEvent.from_record(e) for e in events]

    @strawberry.field(description="Delivery statistics over [from, to), by provider and day.")
    async def delivery_stats(
        self,
        info: GraphQLInfo,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime,
        smtp_config_id: strawberry.ID | None = None,
    ) -> DeliveryStats:
        ctx = info.context
        record = await stats.delivery_stats(
            ctx.principal.account_id,
            start=from_,
            end=to,
            smtp_config_id=smtp_config_id,
            settings=ctx.resources.settings,
        )
        return DeliveryStats.from_record(record)

    @strawberry.field(description="The account's webhooks.")
    async def webhooks(self, info: GraphQLInfo) -> list[Webhook]:
        records = await webhooks.list_webhooks(info.context.principal.account_id)
        return [Webhook.from_record(r) for r in records]

    @strawberry.field(description="A webhook's deliveries, newest first, with every attempt.")
    async def webhook_deliveries(
        self,
        info: GraphQLInfo,
        webhook_id: strawberry.ID,
        first: int = 50,
        after: str | None = None,
    ) -> WebhookDeliveryConnection:
        position = None
        if after is not None:
            # ASCII digits only (str.isdigit() also accepts "¹" or "٣", which int() refuses),
            # and within the id column's range.
            if not (after.isascii() and after.isdigit() and len(after) <= 19):
                raise ValidationError("after is not a cursor from this API", field="after")
            position = int(after)
            if position >= 2**63:
                raise ValidationError("after is not a cursor from this API", field="after")
        records, more = await webhooks.list_deliveries(
            info.context.principal.account_id, webhook_id, first=first, after=position
        )
        edges = [
            WebhookDeliveryEdge(cursor=str(r.id), node=WebhookDelivery.from_record(r))
            for r in records
        ]
        return WebhookDeliveryConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=more, end_cursor=edges[-1].cursor if edges else None),
        )

    @strawberry.field(description="The account's messages, newest first.")
    async def messages(
        self,
        info: GraphQLInfo,
        status: MessageStatus | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> MessageConnection:
        position = None
        if after is not None:
            position = decode_cursor(after)
            if position is None:
                raise ValidationError("after is not a cursor from this API", field="after")
        rows, more = await sending.list_messages(
            info.context.principal.account_id,
            status=status.value if status else None,
            first=first,
            after=position,
        )
        records = await sending.message_records(rows)
        edges = [
            MessageEdge(cursor=encode_cursor(r.created_at, r.id), node=Message.from_record(r))
            for r in records
        ]
        return MessageConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=more, end_cursor=edges[-1].cursor if edges else None),
        )


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Delivery events of your account (or one message), live. With after: every "
        "stored event after that id first, then live ones: reconnect with the last id you saw."
    )
    async def delivery_events(
        self,
        info: GraphQLInfo,
        message_id: strawberry.ID | None = None,
        after: strawberry.ID | None = None,
    ) -> AsyncGenerator[DeliveryEvent, None]:
        ctx = info.context
        async for event in tracking.follow(
            ctx.resources.hub,
            ctx.principal.account_id,
            message_id=message_id,
            after=after,
        ):
            yield DeliveryEvent.from_record(event)


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_smtp_config(self, info: GraphQLInfo, input: SmtpConfigInput) -> SmtpConfig:
        ctx = info.context
        record = await smtp_configs.create_config(
            ctx.principal.account_id,
            input_values(input),
            keyring=ctx.resources.keyring,
            allow_private_hosts=ctx.resources.settings.private_smtp_hosts_allowed,
        )
        return config_object(info, record)

    @strawberry.mutation
    async def update_smtp_config(
        self, info: GraphQLInfo, id: strawberry.ID, input: SmtpConfigUpdateInput
    ) -> SmtpConfig:
        ctx = info.context
        record = await smtp_configs.update_config(
            ctx.principal.account_id,
            id,
            input_values(input),
            keyring=ctx.resources.keyring,
            allow_private_hosts=ctx.resources.settings.private_smtp_hosts_allowed,
        )
        return config_object(info, record)

    @strawberry.mutation
    async def delete_smtp_config(self, info: GraphQLInfo, id: strawberry.ID) -> bool:
        await smtp_configs.delete_config(info.context.principal.account_id, id)
        return True

    @strawberry.mutation
    async def set_default_smtp_config(self, info: GraphQLInfo, id: strawberry.ID) -> SmtpConfig:
        record = await smtp_configs.set_default(info.context.principal.account_id, id)
        return config_object(info, record)

    @strawberry.mutation(
        description="Connect, TLS and AUTH, then a real short test message to recipient. "
        "Counts against the config's daily limit."
    )
    async def test_smtp_config(
        self, info: GraphQLInfo, id: strawberry.ID, recipient: str
    ) -> SmtpTestResult:
        ctx = info.context
        result = await config_checks.test_config(
            ctx.principal.account_id,
            id,
            recipient,
            keyring=ctx.resources.keyring,
            options=ctx.resources.transport,
        )
        return SmtpTestResult.from_record(result)

    @strawberry.mutation(description="Connect, TLS and AUTH with settings not saved yet.")
    async def verify_smtp_config(self, info: GraphQLInfo, input: SmtpConfigInput) -> SmtpTestResult:
        info.context.principal  # noqa: B018 (authentication required)
        result = await config_checks.verify_config(
            input_values(input), options=info.context.resources.transport
        )
        return SmtpTestResult.from_record(result)

    @strawberry.mutation(description="A webhook for these event types; the secret is shown once.")
    async def create_webhook(
        self, info: GraphQLInfo, url: str, events: list[DeliveryEventType]
    ) -> WebhookWithSecret:
        ctx = info.context
        issued = await webhooks.create_webhook(
            ctx.principal.account_id,
            url=url,
            events=[e.value for e in events],
            keyring=ctx.resources.keyring,
            allow_private=ctx.resources.settings.private_smtp_hosts_allowed,
        )
        return WebhookWithSecret.from_issued(issued)

    @strawberry.mutation(description="Change url, events or enabled; enabling resets failures.")
    async def update_webhook(
        self,
        info: GraphQLInfo,
        id: strawberry.ID,
        url: str | None = None,
        events: list[DeliveryEventType] | None = None,
        enabled: bool | None = None,
    ) -> Webhook:
        ctx = info.context
        record = await webhooks.update_webhook(
            ctx.principal.account_id,
            id,
            url=url,
            events=[e.value for e in events] if events is not None else None,
            enabled=enabled,
            allow_private=ctx.resources.settings.private_smtp_hosts_allowed,
        )
        return Webhook.from_record(record)

    @strawberry.mutation
    async def delete_webhook(self, info: GraphQLInfo, id: strawberry.ID) -> bool:
        await webhooks.delete_webhook(info.context.principal.account_id, id)
        return True

    @strawberry.mutation(
        description="A new secret, shown once; the old one also signs during a grace period."
    )
    async def rotate_webhook_secret(
        self, info: GraphQLInfo, id: strawberry.ID
    ) -> WebhookWithSecret:
        ctx = info.context
        issued = await webhooks.rotate_secret(
            ctx.principal.account_id,
            id,
            keyring=ctx.resources.keyring,
            grace=ctx.resources.settings.webhook_secret_grace,
        )
        return WebhookWithSecret.from_issued(issued)

    @strawberry.mutation(description="Queue one message; answers once it is stored durably.")
    async def send_email(self, info: GraphQLInfo, input: SendEmailInput) -> Message:
        ctx = info.context
        record = await sending.send_email(
            ctx.principal.account_id,
            send_input_values(input),
            settings=ctx.resources.settings,
            notify=ctx.resources.wakeups.messages_queued,
        )
        return Message.from_record(record)

    @strawberry.mutation(description="Queue up to 1,000 messages; a result per item.")
    async def send_batch(self, info: GraphQLInfo, messages: list[SendEmailInput]) -> BatchResult:
        ctx = info.context
        results = await sending.send_batch(
            ctx.principal.account_id,
            [send_input_values(m) for m in messages],
            settings=ctx.resources.settings,
            notify=ctx.resources.wakeups.messages_queued,
        )
        items = [
            BatchItemResult(
                index=i,
                message=Message.from_record(r.record) if r.record else None,
                error=BatchItemError.from_error(r.error) if r.error else None,
            )
            for i, r in enumerate(results)
        ]
        queued = sum(1 for r in results if r.record is not None)
        return BatchResult(queued=queued, failed=len(results) - queued, items=items)


class ErrorCodes(SchemaExtension):
    """Translates every error of an operation's result (see `translate_error`)."""

    def on_operation(self) -> Iterator[None]:
        yield
        translate_result_errors(self.execution_context.result)


class MailsageSchema(strawberry.Schema):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: SmtpConfig objects by the record they were built from: the service hands out the
        #: same immutable record while a row is unchanged, and nothing writes to an output
        #: object once built, so a page read again reuses its objects.
        self.config_objects: IdentityCache[SmtpConfigRecord, SmtpConfig] = IdentityCache(4096)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Translate (and, for unexpected ones, log once with a request id) every error;
        expected ones (bad input, auth) are the client's business, not the operator's."""
        for error in errors:
            translate_error(error)


def config_object(info: GraphQLInfo, record: SmtpConfigRecord) -> SmtpConfig:
    """The SmtpConfig for `record`, reused from the schema's cache while the record is."""
    schema = info.schema
    if isinstance(schema, MailsageSchema):
        return schema.config_objects.get(record, SmtpConfig.from_record)
    return SmtpConfig.from_record(record)


def build_schema(settings: Settings) -> strawberry.Schema:
    """The schema with its limits. Validation rules are built once here, not per request: the
    validation cache keys on the rule classes, and new classes per request defeat it."""
    rules: list[type[ASTValidationRule]] = [
        # The depth limiter skips introspection (GraphiQL's own query is deep); this rule
        # bounds the nested-list introspection queries that are the real cost.
        MaxIntrospectionDepthRule,
        *QueryDepthLimiter(max_depth=settings.graphql_max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases).validation_rules,
    ]
    if not settings.introspection_enabled:
        rules.extend(DisableIntrospection().validation_rules)

    return MailsageSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        execution_context_class=executor_class(),
        extensions=operation_extensions(rules, max_tokens=settings.graphql_max_tokens),
    )


def operation_extensions(
    rules: list[type[ASTValidationRule]], *, max_tokens: int, cache_size: int = 256
) -> list[Callable[[], SchemaExtension]]:
    """The limits, the parse and validation caches and the error codes, as extension factories.

    Strawberry keeps each cache per `maxsize`, shared by every request; parse options (the
    token limit) are part of the parse cache key, and the rules of the validation one.
    """
    return [
        ErrorCodes,
        lambda: MaxTokensLimiter(max_token_count=max_tokens),
        lambda: AddValidationRules(rules),
        lambda: ParserCache(maxsize=cache_size),
        lambda: ValidationCache(maxsize=cache_size),
    ]
