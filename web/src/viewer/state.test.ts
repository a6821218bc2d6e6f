import { describe, expect, it } from "vitest";

import type { ChannelSnapshot, Pool } from "../lib/types";
import { EMPTY, partition, payoutOf, reduce, RESULT_CARD_MS, vanishedPools } from "./state";

function pool(id: number, overrides: Partial<Pool> = {}): Pool {
  return {
    id,
    channel_id: 1,
    title: `Pool ${id}`,
    currency: "points:1",
    status: "open",
    min_stake: 1,
    max_stake: 500,
    rake_bps: 0,
    window_seconds: 300,
    closes_at: null,
    opened_at: null,
    locked_at: null,
    resolved_at: null,
    winning_outcome_id: null,
    settled_at: null,
    cancelled_at: null,
    outcomes: [
      { id: 10 * id + 1, position: 1, label: "Yes", total: 0, bettors: 0, multiplier_bps: null },
      { id: 10 * id + 2, position: 2, label: "No", total: 0, bettors: 0, multiplier_bps: null },
    ],
    total: 0,
    bettors: 0,
    my_position: null,
    ...overrides,
  };
}

function snapshot(pools: Pool[], balance = 1_000): ChannelSnapshot {
  return {
    channel: {
      id: 1,
      slug: "demo",
      name: "Demo",
      owner_id: 9,
      cash_enabled: false,
      twitch_moderators_run_pools: false,
      links: [],
      created_at: "2026-01-01T00:00:00Z",
    },
    pools,
    balances: [{ currency: "points:1", balance }],
    leaderboard: { channel_id: 1, currency: "points:1", period: "all", rows: [] },
    chat: [],
  };
}

describe("live totals", () => {
  it("apply to the pool's outcomes and never move its status back", () => {
    let state = reduce(EMPTY, { type: "snapshot", snapshot: snapshot([pool(1)]), now: 0 });
    state = reduce(state, {
      type: "totals",
      totals: {
        id: 1,
        channel_id: 1,
        status: "open",
        total: 300,
        bettors: 2,
        outcomes: [
          { id: 11, total: 100, bettors: 1, multiplier_bps: 30_000 },
          { id: 12, total: 200, bettors: 1, multiplier_bps: 15_000 },
        ],
      },
    });
    const [updated] = state.pools;
    expect(updated?.total).toBe(300);
    expect(updated?.outcomes.map((o) => [o.total, o.bettors, o.multiplier_bps])).toEqual([
      [100, 1, 30_000],
      [200, 1, 15_000],
    ]);

    state = reduce(state, { type: "pool", pool: pool(1, { status: "locked", total: 300 }), now: 5 });
    state = reduce(state, {
      type: "totals",
      totals: { id: 1, channel_id: 1, status: "open", total: 300, bettors: 2, outcomes: [] },
    });
    expect(state.pools[0]?.status).toBe("locked");
  });

  it("ignore pools the page does not know", () => {
    const state = reduce(EMPTY, { type: "snapshot", snapshot: snapshot([pool(1)]), now: 0 });
    const next = reduce(state, {
      type: "totals",
      totals: { id: 7, channel_id: 1, status: "open", total: 5, bettors: 1, outcomes: [] },
    });
    expect(next.pools).toEqual(state.pools);
  });
});

describe("whole pools and bets", () => {
  it("keep your position when a channel-wide event carries none", () => {
    let state = reduce(EMPTY, { type: "snapshot", snapshot: snapshot([pool(1)]), now: 0 });
    state = reduce(state, {
      type: "bet",
      bet: { pool_id: 1, bet_id: 3, outcome_id: 11, placed: 100, position: 100, currency: "points:1", balance: 900 },
    });
    expect(state.balances["points:1"]).toBe(900);
    state = reduce(state, { type: "pool", pool: pool(1, { status: "locked" }), now: 1 });
    expect(state.pools[0]?.my_position).toEqual({ outcome_id: 11, amount: 100, payout: null });
  });

  it("a stale event does not undo a later one", () => {
    let state = reduce(EMPTY, { type: "pool", pool: pool(1, { status: "settled" }), now: 0 });
    state = reduce(state, { type: "pool", pool: pool(1, { status: "locked" }), now: 1 });
    expect(state.pools[0]?.status).toBe("settled");
  });

  it("new pools come first", () => {
    let state = reduce(EMPTY, { type: "snapshot", snapshot: snapshot([pool(1)]), now: 0 });
    state = reduce(state, { type: "pool", pool: pool(2), now: 1 });
    expect(state.pools.map((p) => p.id)).toEqual([2, 1]);
  });
});

describe("snapshots", () => {
  it("are the truth after a reconnect, and name the pools that ended meanwhile", () => {
    let state = reduce(EMPTY, { type: "snapshot", snapshot: snapshot([pool(1), pool(2)]), now: 0 });
    state = reduce(state, { type: "pool", pool: pool(0, { status: "resolved" }), now: 0 });
    state = reduce(state, { type: "pool", pool: pool(-1, { status: "settled" }), now: 0 });
    state = reduce(state, { type: "chat", message: chatMessage("a") });
    const fresh = snapshot([pool(2, { total: 50 }), pool(3)], 750);
    // Still live, or resolved and not yet paid when the page lost track: read them again.
    expect(vanishedPools(state, fresh)).toEqual([1, 0]);
    state = reduce(state, { type: "snapshot", snapshot: fresh, now: 10 });
    expect(state.pools.map((p) => p.id)).toEqual([3, 2, 0, -1]);
    expect(state.pools[1]?.total).toBe(50);
    expect(state.balances).toEqual({ "points:1": 750 });
    expect(state.chat).toEqual([]);
  });

  it("keep the pools that ended while watched as results", () => {
    let state = reduce(EMPTY, { type: "snapshot", snapshot: snapshot([pool(1)]), now: 0 });
    state = reduce(state, { type: "pool", pool: pool(1, { status: "settled" }), now: 100 });
    state = reduce(state, { type: "snapshot", snapshot: snapshot([pool(2)]), now: 200 });
    expect(state.pools.map((p) => [p.id, p.status])).toEqual([
      [2, "open"],
      [1, "settled"],
    ]);
  });
});

describe("chat", () => {
  it("adds each message once and drops deleted ones", () => {
    let state = reduce(EMPTY, { type: "chat", message: chatMessage("a") });
    state = reduce(state, { type: "chat", message: chatMessage("a") });
    state = reduce(state, { type: "chat", message: chatMessage("b") });
    expect(state.chat.map((m) => m.id)).toEqual(["a", "b"]);
    state = reduce(state, { type: "chat-deleted", id: "a" });
    expect(state.chat.map((m) => m.id)).toEqual(["b"]);
  });
});

describe("results", () => {
  it("a paid pool keeps its card for a while, then joins the recent results", () => {
    let state = reduce(EMPTY, { type: "snapshot", snapshot: snapshot([pool(2)]), now: 0 });
    state = reduce(state, {
      type: "pool",
      pool: pool(2, { status: "settled", winning_outcome_id: 21 }),
      now: 1_000,
    });
    state = reduce(state, { type: "history", pools: [pool(1, { status: "refunded" })] });
    expect(partition(state, 1_000 + RESULT_CARD_MS - 1).cards.map((p) => p.id)).toEqual([2]);
    const later = partition(state, 1_000 + RESULT_CARD_MS);
    expect(later.cards).toEqual([]);
    expect(later.results.map((p) => p.id)).toEqual([2, 1]);
  });

  it("a resolved pool stays a card until it is paid", () => {
    const state = reduce(EMPTY, { type: "pool", pool: pool(1, { status: "resolved" }), now: 0 });
    expect(partition(state, 10 * RESULT_CARD_MS).cards.map((p) => p.id)).toEqual([1]);
  });

  it("your payout comes from the notice, else from your position", () => {
    let state = reduce(EMPTY, {
      type: "pool",
      pool: pool(1, { status: "settled", my_position: { outcome_id: 11, amount: 100, payout: 180 } }),
      now: 0,
    });
    const settled = state.pools[0];
    if (!settled) throw new Error("no pool");
    expect(payoutOf(state, settled)).toEqual({ stake: 100, paid: 180 });
    state = reduce(state, {
      type: "notice",
      notice: { kind: "pool.won", pool_id: 1, channel_id: 1, title: "t", currency: "points:1", stake: 100, paid: 190 },
    });
    expect(payoutOf(state, settled)).toEqual({ stake: 100, paid: 190 });
    expect(payoutOf(EMPTY, pool(5))).toBeNull();
  });
});

function chatMessage(id: string) {
  return {
    id,
    channel_id: 1,
    user_id: 2,
    display_name: "Ada",
    platform: "streampools",
    text: "hi",
    sent_at: "2026-01-01T00:00:00Z",
    badges: [],
  };
}
