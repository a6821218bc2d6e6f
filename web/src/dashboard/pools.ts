// The channel's pools as the dashboard keeps them: the snapshot of `channel:join`, then each
// `pool:*` event (a whole pool) and `pool:updated` (coalesced totals) merged in.
import type { Pool, PoolStatus, PoolTotals } from "../lib/types";

const LIVE: readonly PoolStatus[] = ["draft", "open", "locked"];

/** Still being run (betting, or waiting for a result): shown with its actions. */
export function isLive(status: PoolStatus): boolean {
  return LIVE.includes(status);
}

/** A pool, newer versions replacing older ones; newest pool first. */
export function upsert(pools: Pool[], pool: Pool): Pool[] {
  const rest = pools.filter((p) => p.id !== pool.id);
  return [pool, ...rest].sort((a, b) => b.id - a.id);
}

/** Live totals into the pool they belong to (events for other pools change nothing). A status
 * already further along is kept: a late `pool:updated` never reopens a locked pool. */
export function applyTotals(pools: Pool[], totals: PoolTotals): Pool[] {
  return pools.map((pool) => {
    if (pool.id !== totals.id) return pool;
    const byId = new Map(totals.outcomes.map((o) => [o.id, o]));
    return {
      ...pool,
      status: rank(totals.status) > rank(pool.status) ? totals.status : pool.status,
      total: totals.total,
      bettors: totals.bettors,
      outcomes: pool.outcomes.map((o) => {
        const t = byId.get(o.id);
        return t ? { ...o, total: t.total, bettors: t.bettors, multiplier_bps: t.multiplier_bps } : o;
      }),
    };
  });
}

function rank(status: PoolStatus): number {
  return ["draft", "open", "locked", "resolved", "cancelled", "settled", "refunded"].indexOf(status);
}

const STATUS_TEXT: Record<PoolStatus, string> = {
  draft: "Draft",
  open: "Open",
  locked: "Locked",
  resolved: "Resolved, paying out",
  settled: "Settled",
  cancelled: "Cancelled, refunding",
  refunded: "Refunded",
};

export function statusText(status: PoolStatus): string {
  return STATUS_TEXT[status];
}

/** What came of a finished pool, in one line. */
export function resultText(pool: Pool): string {
  if (pool.status === "cancelled" || pool.status === "refunded") return "Called off: every stake refunded.";
  const winner = pool.outcomes.find((o) => o.id === pool.winning_outcome_id);
  return winner ? `Winner: ${winner.label}` : "No result yet.";
}
