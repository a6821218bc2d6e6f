import { describe, expect, it } from "vitest";

import { countdown, formatAmount, formatMultiplier, parseAmount, potentialPayout } from "./format";

describe("amounts", () => {
  it("formats points as whole numbers and cash from cents", () => {
    expect(formatAmount(1250, "points:7")).toMatch(/^1.250 pts$/);
    expect(formatAmount(1250, "cash:USD")).toContain("12.50");
    expect(formatAmount(5, "cash:USD")).toContain("0.05");
    expect(formatAmount(-199, "cash:USD")).toMatch(/^−.*1\.99$/);
  });

  it("parses what people type into minor units, exactly", () => {
    expect(parseAmount("1,000", "points:1")).toBe(1000);
    expect(parseAmount("12.5", "cash:USD")).toBe(1250);
    expect(parseAmount("$0.07", "cash:USD")).toBe(7);
    expect(parseAmount("0.1", "cash:USD")).toBe(10);
    expect(parseAmount("1.005", "cash:USD")).toBeNull();
    expect(parseAmount("12.5", "points:1")).toBeNull();
    expect(parseAmount("-3", "points:1")).toBeNull();
    expect(parseAmount("", "points:1")).toBeNull();
  });
});

describe("multipliers", () => {
  it("shows basis points as a multiplier rounded down, and a payout rounded down", () => {
    expect(formatMultiplier(24_599)).toBe("2.45×");
    expect(formatMultiplier(null)).toBe("—");
    expect(potentialPayout(333, 15_000)).toBe(499);
    expect(potentialPayout(100, null)).toBeNull();
  });
});

describe("countdown", () => {
  it("counts down to a moment and stops there", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(countdown("2026-01-01T00:04:05Z", now)).toBe("4:05");
    expect(countdown("2026-01-01T01:02:03Z", now)).toBe("1:02:03");
    expect(countdown("2025-12-31T23:59:59Z", now)).toBeNull();
    expect(countdown(null, now)).toBeNull();
  });
});
