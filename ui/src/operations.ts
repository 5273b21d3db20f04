// Every operation the console sends. graphql-codegen checks each against
// schema/schema.graphql and types it (src/generated/graphql.ts).

const CONFIG_FIELDS = /* GraphQL */ `
  fragment ConfigFields on SmtpConfig {
    id
    name
    host
    port
    username
    useTls
    fromEmail
    isDefault
    dailyLimit
    maxPerMinute
    sentToday
    remainingToday
    resetsAt
    hasPassword
    priority
    maxConnections
  }
`;

export const CHECK_KEY = /* GraphQL */ `
  query CheckKey {
    smtpConfigs {
      id
    }
  }
`;

export const OVERVIEW = /* GraphQL */ `
  query Overview($from: DateTime!, $to: DateTime!) {
    smtpConfigs {
      ...ConfigFields
    }
    deliveryStats(from: $from, to: $to) {
      sent
      failed
      deferred
      failovers
      perDay {
        day
        sent
        failed
        deferred
        failovers
      }
    }
  }
  ${CONFIG_FIELDS}
`;

export const CONFIGS = /* GraphQL */ `
  query Configs {
    smtpConfigs {
      ...ConfigFields
    }
  }
  ${CONFIG_FIELDS}
`;

export const CREATE_CONFIG = /* GraphQL */ `
  mutation CreateConfig($input: SmtpConfigInput!) {
    createSmtpConfig(input: $input) {
      ...ConfigFields
    }
  }
  ${CONFIG_FIELDS}
`;

export const UPDATE_CONFIG = /* GraphQL */ `
  mutation UpdateConfig($id: ID!, $input: SmtpConfigUpdateInput!) {
    updateSmtpConfig(id: $id, input: $input) {
      ...ConfigFields
    }
  }
  ${CONFIG_FIELDS}
`;

export const DELETE_CONFIG = /* GraphQL */ `
  mutation DeleteConfig($id: ID!) {
    deleteSmtpConfig(id: $id)
  }
`;

export const SET_DEFAULT_CONFIG = /* GraphQL */ `
  mutation SetDefaultConfig($id: ID!) {
    setDefaultSmtpConfig(id: $id) {
      id
    }
  }
`;

export const TEST_CONFIG = /* GraphQL */ `
  mutation TestConfig($id: ID!, $recipient: String!) {
    testSmtpConfig(id: $id, recipient: $recipient) {
      ok
      durationMs
      smtpResponse
    }
  }
`;

const MESSAGE_SUMMARY = /* GraphQL */ `
  fragment MessageSummary on Message {
    id
    status
    from
    to
    subject
    smtpConfigId
    createdAt
    sentAt
    nextAttemptAt
  }
`;

export const MESSAGES = /* GraphQL */ `
  query Messages($status: MessageStatus, $first: Int!, $after: String) {
    messages(status: $status, first: $first, after: $after) {
      edges {
        node {
          ...MessageSummary
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
  ${MESSAGE_SUMMARY}
`;

export const MESSAGE = /* GraphQL */ `
  query MessageDetail($id: ID!) {
    message(id: $id) {
      ...MessageSummary
      cc
      bcc
      rfcMessageId
      idempotencyKey
      lastError {
        code
        message
      }
      attempts {
        number
        smtpConfigId
        startedAt
        endedAt
        outcome
        smtpCode
        enhancedCode
        reply
        errorCode
        durationMs
      }
    }
    messageEvents(messageId: $id) {
      ...EventFields
    }
  }
  ${MESSAGE_SUMMARY}
  fragment EventFields on DeliveryEvent {
    id
    type
    messageId
    smtpConfigId
    attempt
    code
    smtpCode
    enhancedCode
    detail
    at
  }
`;

export const SEND_EMAIL = /* GraphQL */ `
  mutation SendEmail($input: SendEmailInput!) {
    sendEmail(input: $input) {
      id
      status
    }
  }
`;

export const DELIVERY_EVENTS = /* GraphQL */ `
  subscription DeliveryEvents($messageId: ID, $after: ID) {
    deliveryEvents(messageId: $messageId, after: $after) {
      id
      type
      messageId
      smtpConfigId
      attempt
      code
      smtpCode
      enhancedCode
      detail
      at
    }
  }
`;

const WEBHOOK_FIELDS = /* GraphQL */ `
  fragment WebhookFields on Webhook {
    id
    url
    events
    enabled
    disabledReason
    consecutiveFailures
    createdAt
  }
`;

export const WEBHOOKS = /* GraphQL */ `
  query Webhooks {
    webhooks {
      ...WebhookFields
    }
  }
  ${WEBHOOK_FIELDS}
`;

export const CREATE_WEBHOOK = /* GraphQL */ `
  mutation CreateWebhook($url: String!, $events: [DeliveryEventType!]!) {
    createWebhook(url: $url, events: $events) {
      webhook {
        ...WebhookFields
      }
      secret
    }
  }
  ${WEBHOOK_FIELDS}
`;

export const UPDATE_WEBHOOK = /* GraphQL */ `
  mutation UpdateWebhook($id: ID!, $enabled: Boolean) {
    updateWebhook(id: $id, enabled: $enabled) {
      ...WebhookFields
    }
  }
  ${WEBHOOK_FIELDS}
`;

export const DELETE_WEBHOOK = /* GraphQL */ `
  mutation DeleteWebhook($id: ID!) {
    deleteWebhook(id: $id)
  }
`;

export const ROTATE_WEBHOOK_SECRET = /* GraphQL */ `
  mutation RotateWebhookSecret($id: ID!) {
    rotateWebhookSecret(id: $id) {
      secret
    }
  }
`;

export const WEBHOOK_DELIVERIES = /* GraphQL */ `
  query WebhookDeliveries($webhookId: ID!, $first: Int!, $after: String) {
    webhookDeliveries(webhookId: $webhookId, first: $first, after: $after) {
      edges {
        node {
          id
          eventId
          status
          attemptCount
          nextAttemptAt
          lastStatusCode
          lastError
          createdAt
          completedAt
          attempts {
            number
            startedAt
            durationMs
            statusCode
            error
            responseSnippet
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;
