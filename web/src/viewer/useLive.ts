// The channel's live state over Socket.IO: join on every (re)connection, take the snapshot as
// the truth, and keep it current from the events. Events that arrive while a join is pending are
// applied at once and again after its snapshot, so none is lost between the two.
import { useEffect, useReducer, useRef, useState } from "preact/hooks";

import { api } from "../lib/api";
import { ApiError, describe } from "../lib/errors";
import { Live } from "../lib/socket";
import type {
  Balance,
  ChannelSnapshot,
  ChatMessage,
  ErrorBody,
  Leaderboard,
  Notification,
  Pool,
  PoolNotice,
  PoolTotals,
} from "../lib/types";
import {
  type Action,
  EMPTY,
  reduce,
  RESULTS_SHOWN,
  vanishedPools,
  type ViewerState,
} from "./state";

const POOL_EVENTS = [
  "pool:opened",
  "pool:locked",
  "pool:resolved",
  "pool:settled",
  "pool:cancelled",
  "pool:refunded",
] as const;

export type Connection = "connecting" | "live" | "reconnecting";

export interface LiveChannel {
  state: ViewerState;
  dispatch: (action: Action) => void;
  live: Live | null;
  connection: Connection;
  /** A problem with the live connection, in words (the join refused, the sign-in ended). */
  problem: string | null;
}

export function useLive(
  channelId: number,
  userId: number | null,
  onNotice: (notice: PoolNotice) => void,
  onNotification: (notification: Notification) => void = () => undefined,
): LiveChannel {
  const [state, dispatch] = useReducer(reduce, EMPTY);
  const [connection, setConnection] = useState<Connection>("connecting");
  const [problem, setProblem] = useState<string | null>(null);
  const [live, setLive] = useState<Live | null>(null);
  const stateRef = useRef(state);
  stateRef.current = state;
  const noticeRef = useRef(onNotice);
  noticeRef.current = onNotice;
  const notificationRef = useRef(onNotification);
  notificationRef.current = onNotification;

  useEffect(() => {
    const socket = new Live(userId === null ? { kind: "anonymous" } : { kind: "session" });
    let pending: Action[] | null = null;
    let everConnected = false;
    let historyRead = false;
    let closed = false;
    // A function, not the variable: read after awaits, it sees the cleanup's change.
    const isClosed = () => closed;
    const apply = (action: Action) => {
      dispatch(action);
      pending?.push(action);
    };
    const on = socket.socket.on.bind(socket.socket);

    on("pool:updated", (totals: PoolTotals) => {
      if (totals.channel_id === channelId) apply({ type: "totals", totals });
    });
    for (const event of POOL_EVENTS) {
      on(event, (pool: Pool) => {
        if (pool.channel_id === channelId) apply({ type: "pool", pool, now: Date.now() });
      });
    }
    on("wallet:updated", (balance: Balance) => {
      apply({ type: "wallet", balance });
    });
    on("leaderboard:updated", (leaderboard: Leaderboard) => {
      if (leaderboard.channel_id === channelId) apply({ type: "leaderboard", leaderboard });
    });
    on("chat:message", (message: ChatMessage) => {
      if (message.channel_id === channelId) apply({ type: "chat", message });
    });
    on("chat:deleted", (deleted: { id: string; channel_id: number }) => {
      if (deleted.channel_id === channelId) apply({ type: "chat-deleted", id: deleted.id });
    });
    on("notification", (notification: Notification) => {
      notificationRef.current(notification);
      const notice = poolNotice(notification, stateRef.current);
      if (notice === null || notice.channel_id !== channelId) return;
      apply({ type: "notice", notice });
      noticeRef.current(notice);
    });

    socket.onStatus = (connected) => {
      if (connected) everConnected = true;
      setConnection(connected ? "live" : everConnected ? "reconnecting" : "connecting");
    };
    socket.onEnded = (error: ErrorBody) => {
      setProblem(describe(new ApiError(error)));
    };
    socket.onReady = () => {
      const log: Action[] = [];
      pending = log;
      socket
        .call<ChannelSnapshot>("channel:join", { channel: channelId })
        .then(async (snapshot) => {
          if (isClosed()) return;
          if (pending === log) pending = null;
          const vanished = vanishedPools(stateRef.current, snapshot);
          dispatch({ type: "snapshot", snapshot, now: Date.now() });
          for (const action of log) dispatch(action);
          setProblem(null);
          if (!historyRead) {
            historyRead = true;
            void readHistory(channelId).then((pools) => {
              if (!isClosed()) dispatch({ type: "history", pools });
            });
          }
          // Pools that ended while the page was away: read how they ended.
          for (const id of vanished) {
            const pool = await api<Pool>(`/api/v1/pools/${id}`).catch(() => null);
            if (pool && !isClosed()) dispatch({ type: "pool", pool, now: Date.now() });
          }
        })
        .catch((error: unknown) => {
          if (pending === log) pending = null;
          if (!isClosed()) setProblem(describe(error));
        });
    };
    setLive(socket);
    return () => {
      closed = true;
      socket.close();
      setLive(null);
    };
  }, [channelId, userId]);

  return { state, dispatch, live, connection, problem };
}

/** The channel's recent paid pools (with your payout when signed in), for "recent results". */
async function readHistory(channelId: number): Promise<Pool[]> {
  try {
    const list = await api<{ pools: Pool[] }>(
      `/api/v1/channels/${channelId}/pools?status=settled&status=refunded`,
    );
    return list.pools.slice(0, RESULTS_SHOWN);
  } catch {
    return [];
  }
}

const RESULT_KINDS = new Set(["pool.won", "pool.lost", "pool.refunded"]);

/** Your result in a paid pool, from its notification (null for any other notification). */
export function poolNotice(notification: Notification, state: ViewerState): PoolNotice | null {
  if (!RESULT_KINDS.has(notification.kind) || notification.pool_id === null) return null;
  const { currency, stake, paid } = notification.data;
  if (typeof currency !== "string" || typeof stake !== "number" || typeof paid !== "number") {
    return null;
  }
  const pool = state.pools.find((p) => p.id === notification.pool_id);
  return {
    kind: notification.kind,
    pool_id: notification.pool_id,
    channel_id: notification.channel_id ?? 0,
    title: pool?.title ?? notification.title,
    currency,
    stake,
    paid,
  };
}
