import { useEffect, useRef, useState } from "preact/hooks";
import type { Api } from "../api";
import { ErrorBox } from "../components/ErrorBox";
import { StatusBadge } from "../components/StatusBadge";
import { utc } from "../format";
import type { MessageStatus, MessagesQuery, MessagesQueryVariables } from "../generated/graphql";
import { useDeliveryEvents, useLoad } from "../hooks";
import { MESSAGES } from "../operations";
import { href } from "../router";

type Summary = MessagesQuery["messages"]["edges"][number]["node"];

export const STATUSES: MessageStatus[] = [
  "QUEUED",
  "SENDING",
  "SENT",
  "DEFERRED",
  "FAILED",
  "UNCERTAIN",
];
const PAGE = 50;

export function Messages({ api }: { api: Api }) {
  const [status, setStatus] = useState<MessageStatus | "">("");
  const [pages, setPages] = useState(1);
  const { data, error, reload } = useLoad(
    () =>
      api.request<MessagesQuery, MessagesQueryVariables>(MESSAGES, {
        status: status || null,
        first: PAGE * pages,
      }),
    [api, status, pages],
  );
  const [live, setLive] = useState<Record<string, MessageStatus>>({});
  useEffect(() => setLive({}), [data]);

  // A status event updates its row at once; a message not listed yet reloads the list.
  const known = useRef(new Set<string>());
  known.current = new Set(data?.messages.edges.map((e) => e.node.id));
  const pending = useRef<number | null>(null);
  const liveError = useDeliveryEvents(api, {}, (event) => {
    if (event.type !== "FAILOVER" && known.current.has(event.messageId)) {
      setLive((l) => ({ ...l, [event.messageId]: event.type as MessageStatus }));
    }
    if (!known.current.has(event.messageId) || status) {
      if (pending.current == null)
        pending.current = window.setTimeout(() => {
          pending.current = null;
          reload();
        }, 300);
    }
  });
  useEffect(() => () => {
    if (pending.current != null) clearTimeout(pending.current);
  }, []);

  const rows: Summary[] = data?.messages.edges.map((e) => e.node) ?? [];
  return (
    <>
      <div class="toolbar">
        <div class="field">
          <label for="status-filter">Status</label>
          <select
            id="status-filter"
            value={status}
            onChange={(e) => {
              setStatus(e.currentTarget.value as MessageStatus | "");
              setPages(1);
            }}
          >
            <option value="">Any</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <a class="button" href={href({ page: "send" })}>
          Send a message
        </a>
      </div>
      <ErrorBox error={error} />
      <ErrorBox error={liveError} title="Live updates stopped:" />
      {data && rows.length === 0 && <p>No messages{status ? ` with status ${status}` : ""}.</p>}
      {rows.length > 0 && (
        <div class="table-wrap">
          <table class="messages">
            <caption class="visually-hidden">Messages, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Status</th>
                <th scope="col">Subject</th>
                <th scope="col" class="wide-only">To</th>
                <th scope="col" class="wide-only">Created</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((m) => (
                <tr key={m.id} data-message={m.id}>
                  <td>
                    <StatusBadge status={live[m.id] ?? m.status} />
                  </td>
                  <td>
                    <a href={href({ page: "message", id: m.id })}>{m.subject || "(no subject)"}</a>
                    <span class="narrow-only muted">
                      to {m.to.join(", ")}, {utc(m.createdAt)}
                    </span>
                  </td>
                  <td class="wide-only">{m.to.join(", ")}</td>
                  <td class="wide-only">{utc(m.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {data?.messages.pageInfo.hasNextPage && (
        <p>
          <button type="button" onClick={() => setPages((p) => p + 1)}>
            Show {PAGE} more
          </button>
        </p>
      )}
    </>
  );
}
