// The newest delivery events of the account, live over the websocket.
import { useState } from "preact/hooks";
import type { Api } from "../api";
import { utc } from "../format";
import { useDeliveryEvents, type DeliveryEvent } from "../hooks";
import { href } from "../router";
import { ErrorBox } from "./ErrorBox";
import { StatusBadge } from "./StatusBadge";

const KEEP = 20;

export function Ticker({ api }: { api: Api }) {
  const [events, setEvents] = useState<DeliveryEvent[]>([]);
  const error = useDeliveryEvents(api, {}, (event) =>
    setEvents((list) => [event, ...list.filter((e) => e.id !== event.id)].slice(0, KEEP)),
  );
  return (
    <section aria-labelledby="ticker-title">
      <h2 id="ticker-title">Live events</h2>
      <ErrorBox error={error} title="Live updates stopped:" />
      {events.length === 0 ? (
        <p class="muted">Waiting for delivery events…</p>
      ) : null}
      <ol class="ticker" aria-live="polite" aria-label="Latest delivery events, newest first">
        {events.map((e) => (
          <li key={e.id}>
            <time dateTime={e.at}>{utc(e.at).slice(11)}</time> <StatusBadge status={e.type} />{" "}
            <a href={href({ page: "message", id: e.messageId })}>message {e.messageId.slice(0, 8)}</a>
            {e.code && <code class="code"> {e.code}</code>}
            {e.detail && <span class="muted"> {e.detail}</span>}
          </li>
        ))}
      </ol>
    </section>
  );
}
