import { useState } from "preact/hooks";
import { ApiError, type Api } from "../api";
import { ErrorBox } from "../components/ErrorBox";
import { ms, until, utc } from "../format";
import type {
  ConfigsQuery,
  CreateConfigMutation,
  CreateConfigMutationVariables,
  DeleteConfigMutation,
  SetDefaultConfigMutation,
  SmtpConfigInput,
  SmtpConfigUpdateInput,
  TestConfigMutation,
  TestConfigMutationVariables,
  UpdateConfigMutation,
  UpdateConfigMutationVariables,
} from "../generated/graphql";
import { useLoad } from "../hooks";
import {
  CONFIGS,
  CREATE_CONFIG,
  DELETE_CONFIG,
  SET_DEFAULT_CONFIG,
  TEST_CONFIG,
  UPDATE_CONFIG,
} from "../operations";

type Config = ConfigsQuery["smtpConfigs"][number];

function asError(err: unknown): ApiError {
  return err instanceof ApiError ? err : new ApiError("error", String(err));
}

export function Providers({ api }: { api: Api }) {
  const { data, error, reload } = useLoad(() => api.request<ConfigsQuery>(CONFIGS), [api]);
  const [editing, setEditing] = useState<Config | "new" | null>(null);
  const [actionError, setActionError] = useState<ApiError | null>(null);

  const act = async (run: () => Promise<unknown>) => {
    setActionError(null);
    try {
      await run();
      reload();
    } catch (err) {
      setActionError(asError(err));
    }
  };

  return (
    <>
      <ErrorBox error={error} />
      <ErrorBox error={actionError} />
      <p>
        <button type="button" onClick={() => setEditing("new")} disabled={editing === "new"}>
          Add a provider
        </button>
      </p>
      {editing && (
        <ConfigForm
          api={api}
          config={editing === "new" ? null : editing}
          onDone={() => {
            setEditing(null);
            reload();
          }}
          onCancel={() => setEditing(null)}
        />
      )}
      {data && data.smtpConfigs.length === 0 && <p>No providers yet.</p>}
      <ul class="cards">
        {data?.smtpConfigs.map((c) => (
          <li class="card" key={c.id} data-config={c.name} aria-label={`Provider ${c.name}`}>
            <h2>
              {c.name} {c.isDefault && <span class="badge">default</span>}
            </h2>
            <dl class="facts">
              <dt>Server</dt>
              <dd>
                {c.host}:{c.port} {c.useTls ? "(STARTTLS or TLS)" : "(no TLS)"}
              </dd>
              <dt>From</dt>
              <dd>{c.fromEmail}</dd>
              <dt>Login</dt>
              <dd>
                {c.username ?? "none"}
                {c.hasPassword ? ", password stored" : ", no password"}
              </dd>
              <dt>Today</dt>
              <dd>
                {c.sentToday} of {c.dailyLimit}, resets {utc(c.resetsAt)} ({until(c.resetsAt)})
              </dd>
              <dt>Priority</dt>
              <dd>{c.priority} (lower is tried first)</dd>
              <dt>Limits</dt>
              <dd>
                {c.maxPerMinute == null ? "no per-minute limit" : `${c.maxPerMinute} per minute`},{" "}
                {c.maxConnections} connections
              </dd>
            </dl>
            <div class="actions">
              <button type="button" onClick={() => setEditing(c)}>
                Edit {c.name}
              </button>
              {!c.isDefault && (
                <button
                  type="button"
                  onClick={() =>
                    act(() =>
                      api.request<SetDefaultConfigMutation>(SET_DEFAULT_CONFIG, { id: c.id }),
                    )
                  }
                >
                  Make {c.name} the default
                </button>
              )}
              <button
                type="button"
                class="danger"
                onClick={() => {
                  if (confirm(`Delete the provider ${c.name}?`))
                    void act(() => api.request<DeleteConfigMutation>(DELETE_CONFIG, { id: c.id }));
                }}
              >
                Delete {c.name}
              </button>
            </div>
            <TestForm api={api} config={c} onTested={reload} />
          </li>
        ))}
      </ul>
    </>
  );
}

function TestForm({ api, config, onTested }: { api: Api; config: Config; onTested: () => void }) {
  const [recipient, setRecipient] = useState("");
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<TestConfigMutation["testSmtpConfig"] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const id = `test-${config.id}`;
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setResult(null);
    setError(null);
    try {
      const data = await api.request<TestConfigMutation, TestConfigMutationVariables>(
        TEST_CONFIG,
        { id: config.id, recipient },
      );
      setResult(data.testSmtpConfig);
    } catch (err) {
      setError(asError(err));
    } finally {
      setBusy(false);
      onTested();
    }
  };
  return (
    <form class="inline-form" onSubmit={submit} aria-label={`Test ${config.name}`}>
      <label for={id}>Send a test message to</label>
      <input
        id={id}
        type="email"
        required
        value={recipient}
        onInput={(e) => setRecipient(e.currentTarget.value)}
        placeholder="you@example.com"
      />
      <button type="submit" disabled={busy}>
        {busy ? "Testing…" : `Test ${config.name}`}
      </button>
      <div class="test-result" aria-live="polite">
        {result && (
          <p class="ok">
            <code class="code">ok</code> in {ms(result.durationMs)}:{" "}
            <span class="reply">{result.smtpResponse}</span>
          </p>
        )}
        <ErrorBox error={error} title="Test failed:" />
      </div>
    </form>
  );
}

interface FormState {
  name: string;
  host: string;
  port: string;
  fromEmail: string;
  username: string;
  password: string;
  clearPassword: boolean;
  useTls: boolean;
  isDefault: boolean;
  dailyLimit: string;
  maxPerMinute: string;
  priority: string;
  maxConnections: string;
}

function initial(config: Config | null): FormState {
  return {
    name: config?.name ?? "",
    host: config?.host ?? "",
    port: String(config?.port ?? 587),
    fromEmail: config?.fromEmail ?? "",
    username: config?.username ?? "",
    password: "",
    clearPassword: false,
    useTls: config?.useTls ?? true,
    isDefault: config?.isDefault ?? false,
    dailyLimit: String(config?.dailyLimit ?? 100),
    maxPerMinute: config?.maxPerMinute == null ? "" : String(config.maxPerMinute),
    priority: String(config?.priority ?? 100),
    maxConnections: String(config?.maxConnections ?? 2),
  };
}

function ConfigForm({
  api,
  config,
  onDone,
  onCancel,
}: {
  api: Api;
  config: Config | null;
  onDone: () => void;
  onCancel: () => void;
}) {
  const [form, setForm] = useState<FormState>(() => initial(config));
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof FormState>(key: K, value: FormState[K]) =>
    setForm((f) => ({ ...f, [key]: value }));

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const common = {
      name: form.name,
      host: form.host,
      port: Number(form.port),
      fromEmail: form.fromEmail,
      username: form.username || null,
      useTls: form.useTls,
      isDefault: form.isDefault,
      dailyLimit: Number(form.dailyLimit),
      maxPerMinute: form.maxPerMinute === "" ? null : Number(form.maxPerMinute),
      priority: Number(form.priority),
      maxConnections: Number(form.maxConnections),
    };
    try {
      if (config) {
        const input: SmtpConfigUpdateInput = { ...common };
        // Write-only: send the password only when one was typed or clearing was asked.
        if (form.clearPassword) input.password = null;
        else if (form.password) input.password = form.password;
        await api.request<UpdateConfigMutation, UpdateConfigMutationVariables>(UPDATE_CONFIG, {
          id: config.id,
          input,
        });
      } else {
        const input: SmtpConfigInput = { ...common, password: form.password || null };
        await api.request<CreateConfigMutation, CreateConfigMutationVariables>(CREATE_CONFIG, {
          input,
        });
      }
      onDone();
    } catch (err) {
      setError(asError(err));
    } finally {
      setBusy(false);
    }
  };

  const text = (key: keyof FormState, label: string, props: Record<string, unknown> = {}) => (
    <div class="field">
      <label for={`cfg-${key}`}>{label}</label>
      <input
        id={`cfg-${key}`}
        value={form[key] as string}
        onInput={(e) => set(key, e.currentTarget.value as never)}
        {...props}
      />
    </div>
  );
  const check = (key: "useTls" | "isDefault" | "clearPassword", label: string) => (
    <div class="field check">
      <input
        id={`cfg-${key}`}
        type="checkbox"
        checked={form[key]}
        onChange={(e) => set(key, e.currentTarget.checked)}
      />
      <label for={`cfg-${key}`}>{label}</label>
    </div>
  );

  return (
    <form class="panel" onSubmit={submit} aria-label={config ? `Edit ${config.name}` : "New provider"}>
      <h2>{config ? `Edit ${config.name}` : "New provider"}</h2>
      <div class="grid">
        {text("name", "Name", { required: true })}
        {text("host", "Host", { required: true, autocomplete: "off" })}
        {text("port", "Port", { required: true, type: "number", min: 1, max: 65535 })}
        {text("fromEmail", "From address", { required: true, type: "email" })}
        {text("username", "Username", { autocomplete: "off" })}
        {text("password", config?.hasPassword ? "New password (empty keeps the stored one)" : "Password", {
          type: "password",
          autocomplete: "new-password",
          disabled: form.clearPassword,
        })}
        {config?.hasPassword && check("clearPassword", "Remove the stored password")}
        {check("useTls", "Use TLS (STARTTLS, or implicit TLS on port 465)")}
        {check("isDefault", "Default provider")}
        {text("dailyLimit", "Daily limit", { required: true, type: "number", min: 0 })}
        {text("maxPerMinute", "Per-minute limit (empty: none)", { type: "number", min: 1 })}
        {text("priority", "Priority (lower is tried first)", { required: true, type: "number" })}
        {text("maxConnections", "Connections", { required: true, type: "number", min: 1 })}
      </div>
      <ErrorBox error={error} title="Not saved:" />
      <div class="actions">
        <button type="submit" disabled={busy}>
          {config ? "Save changes" : "Add provider"}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
