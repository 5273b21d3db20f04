import { useState } from "preact/hooks";
import type { Api } from "../api";
import { ErrorBox } from "../components/ErrorBox";
import { StatusBadge } from "../components/StatusBadge";
import { ms, utc } from "../format";
import type {
  ConfigsQuery,
  MessageDetailQuery,
  MessageDetailQueryVariables,
} from "../generated/graphql";
import { useDeliveryEvents, useLoad, type DeliveryEvent } from "../hooks";
import { CONFIGS, MESSAGE } from "../operations";
import { href } from "../router";

export function MessageDetail({ api, id }: { api: Api; id: string }) {
  const { data, error, reload } = useLoad(
    () => api.request<MessageDetailQuery, MessageDetailQueryVariables>(MESSAGE, { id }),
    [api, id],
  );
  const configs = useLoad(() => api.request<ConfigsQuery>(CONFIGS), [api]);
  const names = new Map(configs.data?.smtpConfigs.map((c) => [c.id, c.name]) ?? []);
  const configName = (cid: string | null | undefined) =>
    cid ? (names.get(cid) ?? `config ${cid.slice(0, 8)}`) : "—";

  // Live: every event of this message refetches it (status, attempts, last error).
  const [liveEvents, setLiveEvents] = useState<DeliveryEvent[]>([]);
  const liveError = useDeliveryEvents(api, { messageId: id }, (event) => {
    setLiveEvents((list) => (list.some((e) => e.id === event.id) ? list : [...list, event]));
    reload();
  });

  if (error) return <ErrorBox error={error} />;
  if (!data) return <p aria-busy="true">Loading…</p>;
  const m = data.message;
  if (!m)
    return (
      <p role="alert">
        No message with this id in your account. <a href={href({ page: "messages" })}>Back</a>
      </p>
    );
  const seen = new Set(data.messageEvents.map((e) => e.id));
  const events = [...data.messageEvents, ...liveEvents.filter((e) => !seen.has(e.id))];

  return (
    <>
      <ErrorBox error={liveError} title="Live updates stopped:" />
      <dl class="facts">
        <dt>Status</dt>
        <dd data-testid="message-status">
          <StatusBadge status={m.status} />
        </dd>
        <dt>Subject</dt>
        <dd>{m.subject}</dd>
        <dt>From</dt>
        <dd>{m.from ?? "the provider's from address"}</dd>
        <dt>To</dt>
        <dd>{m.to.join(", ")}</dd>
        {m.cc.length > 0 && (
          <>
            <dt>Cc</dt>
            <dd>{m.cc.join(", ")}</dd>
          </>
        )}
        {m.bcc.length > 0 && (
          <>
            <dt>Bcc</dt>
            <dd>{m.bcc.join(", ")}</dd>
          </>
        )}
        <dt>Provider</dt>
        <dd>{configName(m.smtpConfigId)}</dd>
        <dt>Message-ID</dt>
        <dd>
          <code>{m.rfcMessageId}</code>
        </dd>
        <dt>Created</dt>
        <dd>{utc(m.createdAt)}</dd>
        <dt>Sent</dt>
        <dd>{utc(m.sentAt)}</dd>
        {m.nextAttemptAt && (
          <>
            <dt>Next attempt</dt>
            <dd>{utc(m.nextAttemptAt)}</dd>
          </>
        )}
        {m.idempotencyKey && (
          <>
            <dt>Idempotency key</dt>
            <dd>
              <code>{m.idempotencyKey}</code>
            </dd>
          </>
        )}
      </dl>
      {m.lastError && (
        <div class="error" role="status">
          Last error: <code class="code">{m.lastError.code}</code>
          <p class="reply">{m.lastError.message}</p>
        </div>
      )}
      <section aria-labelledby="attempts-title">
        <h2 id="attempts-title">Attempts</h2>
        {m.attempts.length === 0 && <p class="muted">No attempt yet.</p>}
        <ol class="timeline">
          {m.attempts.map((a) => (
            <li key={a.number}>
              <strong>
                #{a.number} {a.outcome}
              </strong>{" "}
              via {configName(a.smtpConfigId)} at {utc(a.startedAt)}, {ms(a.durationMs)}
              {(a.smtpCode != null || a.errorCode) && (
                <div>
                  {a.smtpCode != null && <code class="code">{a.smtpCode}</code>}{" "}
                  {a.enhancedCode && <code class="code">{a.enhancedCode}</code>}{" "}
                  {a.errorCode && <code class="code">{a.errorCode}</code>}
                </div>
              )}
              {a.reply && <p class="reply">{a.reply}</p>}
            </li>
          ))}
        </ol>
      </section>
      <section aria-labelledby="events-title">
        <h2 id="events-title">Events</h2>
        <ol class="timeline" aria-live="polite">
          {events.map((e) => (
            <li key={e.id}>
              <StatusBadge status={e.type} /> {utc(e.at)}
              {e.attempt != null && <span> attempt {e.attempt}</span>}
              {e.code && <code class="code"> {e.code}</code>}
              {e.detail && <p class="reply">{e.detail}</p>}
            </li>
          ))}
        </ol>
      </section>
    </>
  );
}
