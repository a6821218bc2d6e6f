// The live connection: Socket.IO on the same origin, signed in with the session's token (or an
// overlay key), renewing the token when the server asks, rejoining channels after a reconnect
// and retrying a call that a disconnect cut off (calls carry idempotency keys where they act).
import { io, type Socket } from "socket.io-client";

import { ApiError } from "./errors";
import { clearSession, freshSession } from "./session";
import type { ErrorBody } from "./types";

export type Credentials = { kind: "session" } | { kind: "overlay"; key: string } | { kind: "anonymous" };

interface Ack {
  ok: boolean;
  error?: ErrorBody;
  [key: string]: unknown;
}

const CALL_TIMEOUT_MS = 8_000;
const CALL_GIVE_UP_MS = 60_000;

export class Live {
  readonly socket: Socket;
  /** Called after every (re)connection, once the socket is ready for calls. */
  onReady: () => void = () => undefined;
  /** Called when the server ends the sign-in (logout elsewhere, expired, key revoked). */
  onEnded: (error: ErrorBody) => void = () => undefined;
  onStatus: (connected: boolean) => void = () => undefined;

  constructor(credentials: Credentials) {
    this.socket = io({
      path: "/socket.io",
      transports: ["websocket", "polling"],
      reconnectionDelay: 500,
      reconnectionDelayMax: 5_000,
      auth: (callback) => {
        if (credentials.kind === "overlay") {
          callback({ overlay_key: credentials.key });
        } else if (credentials.kind === "session") {
          void freshSession().then((session) => {
            callback(session ? { token: session.accessToken } : {});
          });
        } else {
          callback({});
        }
      },
    });
    this.socket.on("connect", () => {
      this.onStatus(true);
      this.onReady();
    });
    this.socket.on("disconnect", (reason) => {
      this.onStatus(false);
      // The server closed it (auth:expired came first, or a restart): come back by ourselves.
      if (reason === "io server disconnect") setTimeout(() => this.socket.connect(), 1_000);
    });
    this.socket.on("connect_error", (error: Error & { data?: { code?: string } }) => {
      this.onStatus(false);
      const code = error.data?.code;
      if (code === "token_expired" || code === "invalid_token") {
        void freshSession(true).then((session) => {
          if (session === null) this.onEnded({ code, message: error.message });
        });
      } else if (code) {
        this.onEnded({ code, message: error.message });
      }
    });
    this.socket.on("auth:refresh", () => {
      void freshSession(true).then((session) => {
        if (session) this.socket.emit("auth:refresh", { token: session.accessToken });
      });
    });
    this.socket.on("auth:expired", (error: ErrorBody) => {
      if (error.code === "session_revoked") clearSession();
      if (error.code !== "token_expired") this.onEnded(error);
    });
  }

  private connected(): Promise<void> {
    if (this.socket.connected) return Promise.resolve();
    return new Promise((resolve) => this.socket.once("connect", () => { resolve(); }));
  }

  /** Call a server event and get its acknowledgement; a call cut off by a disconnect is sent
   * again after the reconnect (so acting calls must carry an idempotency key). */
  async call<T>(event: string, payload: unknown): Promise<T> {
    const deadline = Date.now() + CALL_GIVE_UP_MS;
    for (;;) {
      await this.connected();
      try {
        const ack = (await this.socket.timeout(CALL_TIMEOUT_MS).emitWithAck(event, payload)) as Ack;
        if (!ack.ok) {
          throw new ApiError(ack.error ?? { code: "failed", message: "The server refused." });
        }
        return ack as T;
      } catch (error) {
        if (error instanceof ApiError || Date.now() > deadline) {
          if (error instanceof ApiError) throw error;
          throw new ApiError({ code: "network_error", message: "The server did not answer." });
        }
        // No answer in time: the connection dropped or the server is busy. Try again.
      }
    }
  }

  close(): void {
    this.socket.close();
  }
}
