import { useState } from "preact/hooks";
import { ApiError, type Api } from "../api";
import { ErrorBox } from "../components/ErrorBox";
import { splitAddresses } from "../format";
import type {
  ConfigsQuery,
  SendEmailInput,
  SendEmailMutation,
  SendEmailMutationVariables,
} from "../generated/graphql";
import { useLoad } from "../hooks";
import { CONFIGS, SEND_EMAIL } from "../operations";
import { go } from "../router";

export function SendForm({ api }: { api: Api }) {
  const configs = useLoad(() => api.request<ConfigsQuery>(CONFIGS), [api]);
  const [to, setTo] = useState("");
  const [cc, setCc] = useState("");
  const [bcc, setBcc] = useState("");
  const [subject, setSubject] = useState("");
  const [text, setText] = useState("");
  const [html, setHtml] = useState("");
  const [fromEmail, setFromEmail] = useState("");
  const [replyTo, setReplyTo] = useState("");
  const [configId, setConfigId] = useState("");
  const [idempotencyKey, setIdempotencyKey] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const input: SendEmailInput = {
      to: splitAddresses(to),
      subject,
      cc: cc ? splitAddresses(cc) : null,
      bcc: bcc ? splitAddresses(bcc) : null,
      text: text || null,
      html: html || null,
      fromEmail: fromEmail || null,
      replyTo: replyTo || null,
      smtpConfigId: configId || null,
      idempotencyKey: idempotencyKey || null,
    };
    try {
      const data = await api.request<SendEmailMutation, SendEmailMutationVariables>(SEND_EMAIL, {
        input,
      });
      go({ page: "message", id: data.sendEmail.id });
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError("error", String(err)));
      setBusy(false);
    }
  };

  const field = (
    id: string,
    label: string,
    value: string,
    onChange: (v: string) => void,
    props: Record<string, unknown> = {},
  ) => (
    <div class="field">
      <label for={id}>{label}</label>
      <input id={id} value={value} onInput={(e) => onChange(e.currentTarget.value)} {...props} />
    </div>
  );

  return (
    <form class="panel" onSubmit={submit} aria-label="Send a message">
      {field("send-to", "To (comma-separated)", to, setTo, { required: true })}
      {field("send-cc", "Cc", cc, setCc)}
      {field("send-bcc", "Bcc", bcc, setBcc)}
      {field("send-subject", "Subject", subject, setSubject, { required: true })}
      <div class="field">
        <label for="send-text">Text body</label>
        <textarea id="send-text" rows={6} value={text} onInput={(e) => setText(e.currentTarget.value)} />
      </div>
      <div class="field">
        <label for="send-html">HTML body (optional)</label>
        <textarea id="send-html" rows={4} value={html} onInput={(e) => setHtml(e.currentTarget.value)} />
      </div>
      <div class="field">
        <label for="send-config">Provider</label>
        <select id="send-config" value={configId} onChange={(e) => setConfigId(e.currentTarget.value)}>
          <option value="">The default provider</option>
          {configs.data?.smtpConfigs.map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
        </select>
      </div>
      {field("send-from", "From (empty: the provider's address)", fromEmail, setFromEmail, {
        type: "email",
      })}
      {field("send-reply-to", "Reply-To", replyTo, setReplyTo, { type: "email" })}
      {field("send-idempotency", "Idempotency key (optional)", idempotencyKey, setIdempotencyKey)}
      <ErrorBox error={error} title="Not sent:" />
      <div class="actions">
        <button type="submit" disabled={busy}>
          {busy ? "Sending…" : "Send"}
        </button>
      </div>
    </form>
  );
}
