import type { ErrorBody } from "./types";

/** An error the API or the socket answered (or the network failing): its stable code, a
 * sentence fit to show, and the HTTP status when there was one. */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number | null;
  readonly details: Record<string, unknown>;

  constructor(body: ErrorBody, status: number | null = null) {
    super(body.message);
    this.name = "ApiError";
    this.code = body.code;
    this.status = status;
    this.details = body.details ?? {};
  }
}

/** Sentences for the codes people meet most; anything else shows the server's own message,
 * which is written for people too. */
const FRIENDLY: Record<string, string> = {
  insufficient_funds: "You don't have enough for that bet.",
  pool_not_open: "Betting on this pool has closed.",
  stake_out_of_range: "That amount is outside this pool's limits.",
  invalid_credentials: "That email and password don't match an account.",
  rate_limited: "Too many attempts. Wait a moment and try again.",
  not_authenticated: "Please sign in first.",
  token_expired: "Your sign-in expired. Please sign in again.",
  session_revoked: "You were signed out. Please sign in again.",
  network_error: "Can't reach streampools. Check your connection.",
  conflict_of_interest: "You hold a position in this pool, so you can't settle it.",
};

export function describe(error: unknown): string {
  if (error instanceof ApiError) {
    const fields = error.details["fields"];
    if (error.code === "validation_error" && Array.isArray(fields) && fields.length > 0) {
      return error.message;
    }
    return FRIENDLY[error.code] ?? error.message;
  }
  if (error instanceof Error) return error.message;
  return "Something went wrong.";
}
