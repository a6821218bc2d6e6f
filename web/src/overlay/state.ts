// What the overlay shows, derived from the channel's live pools: pure, so it is unit-tested.
import type { Pool, PoolTotals } from "../lib/types";

/** The pool on screen: the newest open pool, else the newest locked one. */
export function currentPool(pools: Pool[]): Pool | null {
  const live = pools.filter((p) => p.status === "open" || p.status === "locked");
  const open = live.filter((p) => p.status === "open");
  const pick = (list: Pool[]) => list.reduce<Pool | null>((a, b) => (a === null || b.id > a.id ? b : a), null);
  return pick(open) ?? pick(live);
}

/** A pool with coalesced totals applied (`pool:updated`); other pools are returned as they are. */
export function applyTotals(pool: Pool, totals: PoolTotals): Pool {
  if (pool.id !== totals.id) return pool;
  const byId = new Map(totals.outcomes.map((o) => [o.id, o]));
  return {
    ...pool,
    status: totals.status,
    total: totals.total,
    bettors: totals.bettors,
    outcomes: pool.outcomes.map((outcome) => {
      const fresh = byId.get(outcome.id);
      return fresh ? { ...outcome, ...fresh } : outcome;
    }),
  };
}

/** Replace or add a pool (full pool events), keeping only the live ones. */
export function upsert(pools: Pool[], pool: Pool): Pool[] {
  const others = pools.filter((p) => p.id !== pool.id);
  return pool.status === "open" || pool.status === "locked" ? [...others, pool] : others;
}

/** A result on screen: the paid (or cancelled) pool, since when it shows (Date.now()). */
export interface ShownResult {
  pool: Pool;
  since: number;
}

/** A result is seen for at least this long before a newer pool takes its place. */
export const RESULT_MIN_MS = 10_000;

/** Whether the result stays on screen rather than ``live``, the current pool. */
export function showsResult(result: ShownResult, live: Pool | null, now: number): boolean {
  return live === null || live.id <= result.pool.id || now - result.since < RESULT_MIN_MS;
}
