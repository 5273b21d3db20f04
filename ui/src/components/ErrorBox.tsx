import type { ApiError } from "../api";

/** A coded error: the machine code first (what to search for), then the server's words. */
export function ErrorBox({ error, title }: { error: ApiError | null; title?: string }) {
  if (!error) return null;
  const { stage, smtpCode, enhancedCode, field } = error.extensions as Record<string, unknown>;
  const details = [
    stage != null && `stage ${String(stage)}`,
    smtpCode != null && `SMTP ${String(smtpCode)}`,
    enhancedCode != null && String(enhancedCode),
    field != null && `field ${String(field)}`,
  ].filter(Boolean);
  return (
    <div class="error" role="alert">
      {title && <strong>{title} </strong>}
      <code class="code">{error.code}</code>
      {details.length > 0 && <span class="muted"> ({details.join(", ")})</span>}
      <p class="reply">{error.message}</p>
    </div>
  );
}
