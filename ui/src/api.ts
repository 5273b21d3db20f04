// The console's only way to the server: POST /graphql with the pasted key, and one
// graphql-transport-ws connection for deliveryEvents. The key goes in a header or the
// connection_init payload, never in a URL, and is never logged.
import { createClient, type Client } from "graphql-ws";

export class ApiError extends Error {
  readonly code: string;
  readonly extensions: Record<string, unknown>;

  constructor(code: string, message: string, extensions: Record<string, unknown> = {}) {
    super(message);
    this.code = code;
    this.extensions = extensions;
  }
}

interface GraphQLResponse<T> {
  data?: T | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

export type Variables = Record<string, unknown>;

export class Api {
  private readonly key: string;
  private ws: Client | null = null;
  private readonly onRejected: () => void;

  constructor(key: string, onRejected: () => void) {
    this.key = key;
    this.onRejected = onRejected;
  }

  /** One operation; throws ApiError with the server's code (the first error's). */
  async request<T, V extends Variables = Variables>(query: string, variables?: V): Promise<T> {
    let response: Response;
    try {
      response = await fetch("/graphql", {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${this.key}` },
        body: JSON.stringify({ query, variables: variables ?? {} }),
      });
    } catch {
      throw new ApiError("network_error", "The server could not be reached.");
    }
    let body: GraphQLResponse<T>;
    try {
      body = (await response.json()) as GraphQLResponse<T>;
    } catch {
      throw new ApiError("bad_response", `The server answered ${response.status} without JSON.`);
    }
    const first = body.errors?.[0];
    if (first) {
      const extensions = first.extensions ?? {};
      const code = typeof extensions.code === "string" ? extensions.code : "error";
      if (code === "unauthenticated") this.onRejected();
      throw new ApiError(code, first.message, extensions);
    }
    if (body.data == null) throw new ApiError("bad_response", "The server sent no data.");
    return body.data;
  }

  /** Subscribe; returns the function that ends the subscription. */
  subscribe<T, V extends Variables = Variables>(
    query: string,
    variables: V,
    onData: (data: T) => void,
    onError: (error: ApiError) => void,
  ): () => void {
    return this.client().subscribe<T>(
      { query, variables },
      {
        next: (result) => {
          if (result.errors?.length) {
            const first = result.errors[0];
            const code = String(first.extensions?.code ?? "error");
            onError(new ApiError(code, first.message));
          } else if (result.data) {
            onData(result.data);
          }
        },
        error: (error) => {
          if (error instanceof CloseEvent && error.code === 4403) {
            this.onRejected();
            onError(new ApiError("unauthenticated", "The server refused the key."));
          } else {
            onError(new ApiError("subscription_closed", "The live connection closed."));
          }
        },
        complete: () => undefined,
      },
    );
  }

  close(): void {
    void this.ws?.dispose();
    this.ws = null;
  }

  private client(): Client {
    if (!this.ws) {
      const scheme = location.protocol === "https:" ? "wss:" : "ws:";
      this.ws = createClient({
        url: `${scheme}//${location.host}/graphql`,
        connectionParams: { Authorization: `Bearer ${this.key}` },
        lazy: true,
        retryAttempts: 5,
        // 4403: the key was refused; retrying cannot help.
        shouldRetry: (event) => !(event instanceof CloseEvent && event.code === 4403),
      });
    }
    return this.ws;
  }
}

/** What a person should read for an error: the code, then the server's words. */
export function describe(error: unknown): string {
  if (error instanceof ApiError) return `${error.code}: ${error.message}`;
  return String(error);
}
