import { describe, expect, it } from "vitest";

import type { Pool } from "../lib/types";
import { RESULT_MIN_MS, applyTotals, currentPool, showsResult, upsert } from "./state";

function pool(id: number, status: Pool["status"]): Pool {
  return {
    id, channel_id: 1, title: `Pool ${id}`, currency: "points:1", status, min_stake: 1,
    max_stake: 100, rake_bps: 0, window_seconds: null, closes_at: null, opened_at: null,
    locked_at: null, resolved_at: null, winning_outcome_id: null, settled_at: null,
    cancelled_at: null, total: 0, bettors: 0,
    outcomes: [
      { id: 10 * id + 1, position: 1, label: "A", total: 0, bettors: 0, multiplier_bps: null },
      { id: 10 * id + 2, position: 2, label: "B", total: 0, bettors: 0, multiplier_bps: null },
    ],
  };
}

describe("the pool on screen", () => {
  it("is the newest open pool, else the newest locked one", () => {
    expect(currentPool([pool(1, "open"), pool(3, "locked"), pool(2, "open")])?.id).toBe(2);
    expect(currentPool([pool(1, "locked"), pool(4, "locked")])?.id).toBe(4);
    expect(currentPool([])).toBeNull();
  });

  it("takes coalesced totals for its own outcomes only", () => {
    const updated = applyTotals(pool(1, "open"), {
      id: 1, channel_id: 1, status: "open", total: 50, bettors: 2,
      outcomes: [{ id: 11, total: 50, bettors: 2, multiplier_bps: 10_000 }],
    });
    expect(updated.total).toBe(50);
    expect(updated.outcomes.map((o) => o.total)).toEqual([50, 0]);
    expect(applyTotals(pool(2, "open"), { ...updated, id: 1, channel_id: 1, outcomes: [] }).total).toBe(0);
  });

  it("drops pools that are no longer live", () => {
    const pools = upsert([pool(1, "open")], pool(2, "open"));
    expect(upsert(pools, pool(1, "resolved")).map((p) => p.id)).toEqual([2]);
  });
});

describe("a result on screen", () => {
  it("stays until a newer pool opens, and at least RESULT_MIN_MS even then", () => {
    const result = { pool: pool(1, "settled"), since: 1_000 };
    expect(showsResult(result, null, 1_000_000)).toBe(true);
    expect(showsResult(result, pool(2, "open"), 1_000 + RESULT_MIN_MS - 1)).toBe(true);
    expect(showsResult(result, pool(2, "open"), 1_000 + RESULT_MIN_MS)).toBe(false);
  });
});
