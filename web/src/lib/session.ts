// The signed-in session of this browser: tokens kept in localStorage (shared by the tabs of one
// origin), refreshed before they expire, with one refresh at a time across tabs (a refresh token
// is single use: two tabs spending the same one would end the sign-in).
import { ApiError } from "./errors";
import type { AuthSession, UserProfile } from "./types";

const KEY = "streampools.session";
/** Refresh this long before the access token runs out. */
const MARGIN_MS = 60_000;

export interface StoredSession {
  user: UserProfile;
  accessToken: string;
  refreshToken: string;
  expiresAt: number;
}

type Listener = (session: StoredSession | null) => void;
const listeners = new Set<Listener>();

export function currentSession(): StoredSession | null {
  const raw = localStorage.getItem(KEY);
  if (!raw) return null;
  try {
    return JSON.parse(raw) as StoredSession;
  } catch {
    localStorage.removeItem(KEY);
    return null;
  }
}

function publish(session: StoredSession | null): void {
  for (const listener of listeners) listener(session);
}

export function onSessionChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

window.addEventListener("storage", (event) => {
  if (event.key === KEY) publish(currentSession());
});

export function storeSession(auth: AuthSession): StoredSession {
  const session: StoredSession = {
    user: auth.user,
    accessToken: auth.access_token,
    refreshToken: auth.refresh_token,
    expiresAt: Date.now() + auth.expires_in * 1000,
  };
  localStorage.setItem(KEY, JSON.stringify(session));
  publish(session);
  return session;
}

export function clearSession(): void {
  localStorage.removeItem(KEY);
  publish(null);
}

async function postJson(path: string, body: unknown): Promise<Response> {
  try {
    return await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  } catch {
    throw new ApiError({ code: "network_error", message: "Can't reach streampools." });
  }
}

async function refreshNow(stale: StoredSession): Promise<StoredSession | null> {
  // Another tab may have refreshed while this one waited for the lock.
  const latest = currentSession();
  if (latest === null) return null;
  if (latest.refreshToken !== stale.refreshToken) return latest;
  const response = await postJson("/api/v1/auth/refresh", { refresh_token: latest.refreshToken });
  if (response.ok) return storeSession((await response.json()) as AuthSession);
  if (response.status === 401) {
    clearSession();
    return null;
  }
  const body = (await response.json().catch(() => null)) as { error?: ApiError } | null;
  throw new ApiError(
    body?.error ?? { code: "refresh_failed", message: "Could not renew your sign-in." },
    response.status,
  );
}

let inFlight: Promise<StoredSession | null> | null = null;

/** A fresh session (refreshed when `force` or close to expiry), or null when signed out. */
export async function freshSession(force = false): Promise<StoredSession | null> {
  const session = currentSession();
  if (session === null) return null;
  if (!force && session.expiresAt - Date.now() > MARGIN_MS) return session;
  inFlight ??= (async () => {
    try {
      if ("locks" in navigator) {
        return await navigator.locks.request("streampools.refresh", () => refreshNow(session));
      }
      return await refreshNow(session);
    } finally {
      inFlight = null;
    }
  })();
  return inFlight;
}

export async function signIn(email: string, password: string): Promise<StoredSession> {
  const response = await postJson("/api/v1/auth/login", { email, password });
  const body = (await response.json()) as AuthSession | { error: ApiError };
  if (!response.ok || "error" in body) {
    throw new ApiError(
      "error" in body ? body.error : { code: "sign_in_failed", message: "Sign-in failed." },
      response.status,
    );
  }
  return storeSession(body);
}

export async function register(
  email: string,
  password: string,
  displayName: string,
): Promise<StoredSession> {
  const response = await postJson("/api/v1/auth/register", {
    email,
    password,
    display_name: displayName,
  });
  const body = (await response.json()) as AuthSession | { error: ApiError };
  if (!response.ok || "error" in body) {
    throw new ApiError(
      "error" in body ? body.error : { code: "sign_up_failed", message: "Sign-up failed." },
      response.status,
    );
  }
  return storeSession(body);
}

export async function signOut(): Promise<void> {
  const session = currentSession();
  clearSession();
  if (session !== null) {
    await postJson("/api/v1/auth/logout", { refresh_token: session.refreshToken }).catch(
      () => undefined,
    );
  }
}
