import { useState } from "preact/hooks";
import { ApiError, type Api } from "../api";
import { ErrorBox } from "../components/ErrorBox";
import { utc } from "../format";
import type {
  CreateWebhookMutation,
  CreateWebhookMutationVariables,
  DeleteWebhookMutation,
  DeliveryEventType,
  RotateWebhookSecretMutation,
  UpdateWebhookMutation,
  UpdateWebhookMutationVariables,
  WebhooksQuery,
} from "../generated/graphql";
import { useLoad } from "../hooks";
import {
  CREATE_WEBHOOK,
  DELETE_WEBHOOK,
  ROTATE_WEBHOOK_SECRET,
  UPDATE_WEBHOOK,
  WEBHOOKS,
} from "../operations";
import { href } from "../router";

const EVENT_TYPES: DeliveryEventType[] = [
  "QUEUED",
  "SENDING",
  "SENT",
  "DEFERRED",
  "FAILED",
  "FAILOVER",
  "UNCERTAIN",
];

function asError(err: unknown): ApiError {
  return err instanceof ApiError ? err : new ApiError("error", String(err));
}

/** A signing secret, shown once: the API never returns it again. */
function SecretNotice({ secret, onDismiss }: { secret: string; onDismiss: () => void }) {
  return (
    <div class="panel notice" role="status">
      <p>
        The signing secret, shown <strong>once</strong>: store it now to verify signatures.
      </p>
      <label for="webhook-secret">Secret</label>
      <input id="webhook-secret" readOnly value={secret} onFocus={(e) => e.currentTarget.select()} />
      <button type="button" onClick={onDismiss}>
        I stored it
      </button>
    </div>
  );
}

export function Webhooks({ api }: { api: Api }) {
  const { data, error, reload } = useLoad(() => api.request<WebhooksQuery>(WEBHOOKS), [api]);
  const [secret, setSecret] = useState<string | null>(null);
  const [actionError, setActionError] = useState<ApiError | null>(null);
  const [url, setUrl] = useState("");
  const [events, setEvents] = useState<Set<DeliveryEventType>>(
    () => new Set<DeliveryEventType>(["SENT", "FAILED"]),
  );

  const act = async (run: () => Promise<unknown>) => {
    setActionError(null);
    try {
      await run();
      reload();
    } catch (err) {
      setActionError(asError(err));
    }
  };

  const create = (event: Event) => {
    event.preventDefault();
    void act(async () => {
      const result = await api.request<CreateWebhookMutation, CreateWebhookMutationVariables>(
        CREATE_WEBHOOK,
        { url, events: EVENT_TYPES.filter((t) => events.has(t)) },
      );
      setSecret(result.createWebhook.secret);
      setUrl("");
    });
  };

  return (
    <>
      <ErrorBox error={error} />
      <ErrorBox error={actionError} />
      {secret && <SecretNotice secret={secret} onDismiss={() => setSecret(null)} />}
      <form class="panel" onSubmit={create} aria-label="New webhook">
        <h2>New webhook</h2>
        <div class="field">
          <label for="webhook-url">URL</label>
          <input
            id="webhook-url"
            type="url"
            required
            value={url}
            onInput={(e) => setUrl(e.currentTarget.value)}
            placeholder="https://example.com/hooks/mail"
          />
        </div>
        <fieldset>
          <legend>Events</legend>
          {EVENT_TYPES.map((t) => (
            <span class="check" key={t}>
              <input
                id={`webhook-event-${t}`}
                type="checkbox"
                checked={events.has(t)}
                onChange={(e) => {
                  const next = new Set(events);
                  if (e.currentTarget.checked) next.add(t);
                  else next.delete(t);
                  setEvents(next);
                }}
              />
              <label for={`webhook-event-${t}`}>{t}</label>
            </span>
          ))}
        </fieldset>
        <button type="submit">Add webhook</button>
      </form>
      {data && data.webhooks.length === 0 && <p>No webhooks yet.</p>}
      <ul class="cards">
        {data?.webhooks.map((w) => (
          <li class="card" key={w.id} aria-label={`Webhook ${w.url}`}>
            <h2 class="url">
              <a href={href({ page: "webhook", id: w.id })}>{w.url}</a>
            </h2>
            <dl class="facts">
              <dt>State</dt>
              <dd>
                {w.enabled ? "enabled" : `disabled${w.disabledReason ? `: ${w.disabledReason}` : ""}`}
              </dd>
              <dt>Events</dt>
              <dd>{w.events.join(", ")}</dd>
              <dt>Failures in a row</dt>
              <dd>{w.consecutiveFailures}</dd>
              <dt>Created</dt>
              <dd>{utc(w.createdAt)}</dd>
            </dl>
            <div class="actions">
              <a class="button" href={href({ page: "webhook", id: w.id })}>
                Deliveries
              </a>
              <button
                type="button"
                onClick={() =>
                  act(() =>
                    api.request<UpdateWebhookMutation, UpdateWebhookMutationVariables>(
                      UPDATE_WEBHOOK,
                      { id: w.id, enabled: !w.enabled },
                    ),
                  )
                }
              >
                {w.enabled ? "Disable" : "Re-enable"}
              </button>
              <button
                type="button"
                onClick={() =>
                  act(async () => {
                    const r = await api.request<RotateWebhookSecretMutation>(
                      ROTATE_WEBHOOK_SECRET,
                      { id: w.id },
                    );
                    setSecret(r.rotateWebhookSecret.secret);
                  })
                }
              >
                Rotate secret
              </button>
              <button
                type="button"
                class="danger"
                onClick={() => {
                  if (confirm(`Delete the webhook ${w.url}?`))
                    void act(() => api.request<DeleteWebhookMutation>(DELETE_WEBHOOK, { id: w.id }));
                }}
              >
                Delete
              </button>
            </div>
          </li>
        ))}
      </ul>
    </>
  );
}
