// REST calls with the session's bearer token: errors become ApiError with the API's stable code.
import { ApiError } from "./errors";
import { freshSession } from "./session";
import type { ErrorBody } from "./types";

export interface RequestOptions {
  method?: "GET" | "POST" | "PATCH" | "PUT" | "DELETE";
  body?: unknown;
  /** Sent as `Idempotency-Key`: a retried request then never acts twice. */
  idempotencyKey?: string;
  /** Whether to send the session's token (default: when signed in). */
  auth?: boolean;
}

export function newIdempotencyKey(): string {
  return crypto.randomUUID();
}

async function send(path: string, options: RequestOptions, forceRefresh: boolean) {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  if (options.idempotencyKey) headers["Idempotency-Key"] = options.idempotencyKey;
  if (options.auth !== false) {
    const session = await freshSession(forceRefresh);
    if (session) headers["Authorization"] = `Bearer ${session.accessToken}`;
  }
  try {
    return await fetch(path, {
      method: options.method ?? "GET",
      headers,
      body: options.body === undefined ? null : JSON.stringify(options.body),
    });
  } catch {
    throw new ApiError({ code: "network_error", message: "Can't reach streampools." });
  }
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  let response = await send(path, options, false);
  if (response.status === 401 && options.auth !== false) {
    // The token may have expired in flight: renew it once and try again.
    response = await send(path, options, true);
  }
  if (response.status === 204) return undefined as T;
  const body = (await response.json().catch(() => null)) as { error?: ErrorBody } | null;
  if (!response.ok) {
    throw new ApiError(
      body?.error ?? { code: "http_error", message: `The server answered ${response.status}.` },
      response.status,
    );
  }
  return body as T;
}
