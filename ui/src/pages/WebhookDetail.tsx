import { useState } from "preact/hooks";
import type { Api } from "../api";
import { ErrorBox } from "../components/ErrorBox";
import { StatusBadge } from "../components/StatusBadge";
import { ms, utc } from "../format";
import type {
  WebhookDeliveriesQuery,
  WebhookDeliveriesQueryVariables,
  WebhooksQuery,
} from "../generated/graphql";
import { useLoad } from "../hooks";
import { WEBHOOK_DELIVERIES, WEBHOOKS } from "../operations";
import { href } from "../router";

const PAGE = 50;

export function WebhookDetail({ api, id }: { api: Api; id: string }) {
  const [pages, setPages] = useState(1);
  const hooks = useLoad(() => api.request<WebhooksQuery>(WEBHOOKS), [api]);
  const { data, error, reload } = useLoad(
    () =>
      api.request<WebhookDeliveriesQuery, WebhookDeliveriesQueryVariables>(WEBHOOK_DELIVERIES, {
        webhookId: id,
        first: PAGE * pages,
      }),
    [api, id, pages],
  );
  const hook = hooks.data?.webhooks.find((w) => w.id === id);
  const rows = data?.webhookDeliveries.edges.map((e) => e.node) ?? [];
  return (
    <>
      <p>
        <a href={href({ page: "webhooks" })}>All webhooks</a>
        {hook && (
          <>
            {" "}
            · <span class="url">{hook.url}</span>
          </>
        )}
      </p>
      <ErrorBox error={error} />
      <p>
        <button type="button" onClick={reload}>
          Refresh
        </button>
      </p>
      {data && rows.length === 0 && <p>No deliveries yet.</p>}
      <ol class="timeline">
        {rows.map((d) => (
          <li key={d.id}>
            <StatusBadge status={d.status} /> event {d.eventId}, {utc(d.createdAt)},{" "}
            {d.attemptCount} attempt{d.attemptCount === 1 ? "" : "s"}
            {d.lastStatusCode != null && <span>, last HTTP {d.lastStatusCode}</span>}
            {d.nextAttemptAt && <span>, next {utc(d.nextAttemptAt)}</span>}
            {d.lastError && <p class="reply">{d.lastError}</p>}
            {d.attempts.length > 0 && (
              <ol class="attempts">
                {d.attempts.map((a) => (
                  <li key={a.number}>
                    #{a.number} {utc(a.startedAt)}, {ms(a.durationMs)}:{" "}
                    {a.statusCode != null ? `HTTP ${a.statusCode}` : (a.error ?? "no answer")}
                    {a.responseSnippet && <pre class="reply">{a.responseSnippet}</pre>}
                  </li>
                ))}
              </ol>
            )}
          </li>
        ))}
      </ol>
      {data?.webhookDeliveries.pageInfo.hasNextPage && (
        <button type="button" onClick={() => setPages((p) => p + 1)}>
          Show {PAGE} more
        </button>
      )}
    </>
  );
}
