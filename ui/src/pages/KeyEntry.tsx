import { useState } from "preact/hooks";
import { Api, ApiError } from "../api";
import type { CheckKeyQuery } from "../generated/graphql";
import { CHECK_KEY } from "../operations";

/** Paste the key once; it is checked against the API before it is kept. */
export function KeyEntry({ notice, onKey }: { notice: string | null; onKey: (key: string) => void }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const candidate = key.trim();
    setBusy(true);
    setError(null);
    try {
      await new Api(candidate, () => undefined).request<CheckKeyQuery>(CHECK_KEY);
      onKey(candidate);
    } catch (err) {
      if (err instanceof ApiError && err.code === "unauthenticated") {
        setError(
          "This API key was not accepted. Check that you pasted the whole key, and that it " +
            "has not been revoked.",
        );
      } else if (err instanceof ApiError && err.code === "rate_limited") {
        setError("Too many requests with this key: wait a moment and try again.");
      } else {
        setError(`The key could not be checked: ${err instanceof ApiError ? `${err.code}: ${err.message}` : String(err)}`);
      }
      setBusy(false);
    }
  };

  return (
    <main id="main" class="key-entry">
      <h1>MailSage console</h1>
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <form onSubmit={submit} class="panel" aria-label="Key entry">
        <div class="field">
          <label for="api-key">API key</label>
          <input
            id="api-key"
            type="password"
            autocomplete="off"
            spellcheck={false}
            required
            value={key}
            onInput={(e) => setKey(e.currentTarget.value)}
            aria-describedby="api-key-help"
            aria-invalid={error ? "true" : undefined}
          />
          <p id="api-key-help" class="muted">
            The key <code>mailsage create-account</code> printed. It is kept in this tab only
            (sessionStorage) and sent in a header, never in a link.
          </p>
        </div>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? "Checking…" : "Open the console"}
        </button>
      </form>
    </main>
  );
}
