import { afterEach, describe, expect, it, vi } from "vitest";

import { ApiError } from "../lib/errors";
import type { Pool } from "../lib/types";
import { emptyRule, ruleRequest, ruleSummary, type Automation } from "./automation";
import { fieldErrors } from "./fields";
import { leaderboardUrl } from "./overlay";
import { applyTotals, resultText, upsert } from "./pools";
import { parseRoute, routePath } from "./router";
import { throttle } from "./throttle";

function pool(change: Partial<Pool> = {}): Pool {
  return {
    id: 1, channel_id: 7, title: "First try?", currency: "points:7", status: "open", min_stake: 1,
    max_stake: 100, rake_bps: 0, window_seconds: 60, closes_at: null, opened_at: null, locked_at: null,
    resolved_at: null, winning_outcome_id: null, settled_at: null, cancelled_at: null, total: 0, bettors: 0,
    outcomes: [
      { id: 10, position: 0, label: "Yes", total: 0, bettors: 0, multiplier_bps: null },
      { id: 11, position: 1, label: "No", total: 0, bettors: 0, multiplier_bps: null },
    ],
    ...change,
  };
}

describe("routes", () => {
  it("reads the dashboard's paths and writes them back", () => {
    expect(parseRoute("/dashboard")).toEqual({ name: "channels" });
    expect(parseRoute("/dashboard/")).toEqual({ name: "channels" });
    expect(parseRoute("/dashboard/channels/12")).toEqual({ name: "channel", channelId: 12, tab: "pools" });
    expect(parseRoute("/dashboard/channels/12/automations")).toEqual({ name: "channel", channelId: 12, tab: "automations" });
    expect(parseRoute("/dashboard/channels/abc")).toEqual({ name: "not_found" });
    expect(parseRoute("/dashboard/channels/12/nope")).toEqual({ name: "not_found" });
    expect(routePath({ name: "channel", channelId: 12, tab: "pools" })).toBe("/dashboard/channels/12");
    expect(routePath({ name: "channel", channelId: 12, tab: "overlay" })).toBe("/dashboard/channels/12/overlay");
  });
});

describe("live pools", () => {
  it("merges pool:updated totals into the pool, never moving its status back", () => {
    const locked = pool({ status: "locked" });
    const [merged] = applyTotals([locked, pool({ id: 2 })], {
      id: 1, channel_id: 7, status: "open", total: 300, bettors: 2,
      outcomes: [{ id: 10, total: 100, bettors: 1, multiplier_bps: 30_000 }, { id: 11, total: 200, bettors: 1, multiplier_bps: 15_000 }],
    });
    expect(merged?.status).toBe("locked");
    expect(merged?.total).toBe(300);
    expect(merged?.outcomes.map((o) => [o.total, o.multiplier_bps])).toEqual([[100, 30_000], [200, 15_000]]);
  });

  it("keeps one copy of each pool, newest first, and says how a pool ended", () => {
    const list = upsert(upsert([pool({ id: 1 })], pool({ id: 3 })), pool({ id: 1, status: "settled", winning_outcome_id: 11 }));
    expect(list.map((p) => [p.id, p.status])).toEqual([[3, "open"], [1, "settled"]]);
    expect(resultText(list[1] ?? pool())).toBe("Winner: No");
    expect(resultText(pool({ status: "refunded" }))).toMatch(/refunded/);
  });
});

describe("automations", () => {
  it("builds the body each kind takes", () => {
    expect(ruleRequest({ ...emptyRule(), kind: "stream_offline", offlineAction: "cancel" }).body).toEqual({ kind: "stream_offline", enabled: true, offline_action: "cancel" });
    expect(ruleRequest({ ...emptyRule(), kind: "stream_online", templateId: "4", delaySeconds: "30" }).body).toEqual({ kind: "stream_online", enabled: true, template_id: 4, delay_seconds: 30 });
    expect(ruleRequest({ ...emptyRule(), kind: "stream_online", templateId: "" }).errors).toHaveProperty("template_id");
    expect(ruleRequest({ ...emptyRule(), kind: "mirror_predictions", enabled: false }, true).body).toEqual({ enabled: false });
    const rule: Automation = { id: 1, channel_id: 7, kind: "stream_online", template_id: 4, delay_seconds: 30, offline_action: null, enabled: true, created_by: 1, created_at: "" };
    expect(ruleSummary(rule, () => "Boss")).toBe("Stream goes live → open “Boss” after 30 s");
  });
});

describe("field errors", () => {
  it("reads details.fields and details.field as sentences by field", () => {
    const invalid = new ApiError({ code: "validation_error", message: "slug: bad", details: { fields: [{ field: "slug", message: "expected `str` matching regex" }] } }, 422);
    expect(fieldErrors(invalid)).toEqual({ slug: "Expected `str` matching regex." });
    const rule = new ApiError({ code: "validation_error", message: "max_stake: must be at least min_stake", details: { field: "max_stake" } }, 422);
    expect(fieldErrors(rule)).toEqual({ max_stake: "Must be at least min_stake." });
    expect(fieldErrors(new Error("x"))).toEqual({});
  });
});

describe("overlay URLs", () => {
  it("adds the leaderboard view to the URL", () => {
    expect(leaderboardUrl("http://h/overlay/demo?key=ovk_1")).toBe("http://h/overlay/demo?key=ovk_1&view=leaderboard");
    expect(leaderboardUrl("http://h/overlay/demo")).toBe("http://h/overlay/demo?view=leaderboard");
  });
});

describe("throttle", () => {
  afterEach(() => { vi.useRealTimers(); });

  it("runs at once, then once more after a burst", () => {
    vi.useFakeTimers();
    const calls: number[] = [];
    const run = throttle(() => calls.push(Date.now()), 1_000);
    run();
    run();
    run();
    expect(calls).toHaveLength(1);
    vi.advanceTimersByTime(999);
    expect(calls).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(calls).toHaveLength(2);
    run.cancel();
  });
});
