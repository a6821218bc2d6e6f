import { describe, expect, it } from "vitest";

import { emptyDraft, poolRequest, templateRequest, withOutcome, withoutOutcome, type PoolDraft } from "./poolform";

const NOW = Date.parse("2026-03-01T12:00:00Z");

function draft(change: Partial<PoolDraft>): PoolDraft {
  return { ...emptyDraft(), title: "First try?", outcomes: ["Yes", "No"], ...change };
}

describe("the pool form", () => {
  it("turns a filled form into the request body, amounts in minor units", () => {
    expect(poolRequest(draft({ minStake: "10", maxStake: "1,000", windowMinutes: "2.5" }), 7, "USD", NOW)).toEqual({
      body: {
        channel_id: 7,
        title: "First try?",
        outcomes: ["Yes", "No"],
        currency: "points",
        min_stake: 10,
        max_stake: 1000,
        window_seconds: 150,
      },
      errors: null,
    });
    const cash = poolRequest(draft({ currency: "cash", minStake: "0.50", maxStake: "20" }), 7, "USD", NOW);
    expect(cash.body).toMatchObject({ currency: "cash", min_stake: 50, max_stake: 2000 });
  });

  it("sends a close time instead of a window when asked, in UTC", () => {
    const at = new Date(NOW + 3_600_000);
    const local = `${at.getFullYear()}-${String(at.getMonth() + 1).padStart(2, "0")}-${String(at.getDate()).padStart(2, "0")}T${String(at.getHours()).padStart(2, "0")}:${String(at.getMinutes()).padStart(2, "0")}`;
    const result = poolRequest(draft({ timing: "closes_at", closesAt: local }), 7, "USD", NOW);
    expect(result.body).toMatchObject({ closes_at: "2026-03-01T13:00:00.000Z" });
    expect(result.body).not.toHaveProperty("window_seconds");
    expect(poolRequest(draft({ timing: "closes_at", closesAt: "" }), 7, "USD", NOW).errors).toEqual({ closes_at: "Choose when betting closes." });
  });

  it("names each field that is wrong, by the API's field names", () => {
    const result = poolRequest(
      draft({ title: "  ", outcomes: ["Yes", "", "yes"], minStake: "5", maxStake: "2", windowMinutes: "0.1" }),
      7,
      "USD",
      NOW,
    );
    expect(result.body).toBeNull();
    expect(Object.keys(result.errors ?? {}).sort()).toEqual(["max_stake", "outcomes[1]", "outcomes[2]", "title", "window_seconds"]);
    expect(poolRequest(draft({ minStake: "1.5" }), 7, "USD", NOW).errors).toHaveProperty("min_stake");
    expect(poolRequest(draft({ currency: "cash", minStake: "1.505" }), 7, "USD", NOW).errors).toHaveProperty("min_stake");
    expect(poolRequest(draft({ windowMinutes: "1441" }), 7, "USD", NOW).errors).toHaveProperty("window_seconds");
  });

  it("keeps between 2 and 10 outcomes", () => {
    expect(withoutOutcome(["a", "b"], 0)).toEqual(["a", "b"]);
    expect(withoutOutcome(["a", "b", "c"], 1)).toEqual(["a", "c"]);
    const ten = Array.from({ length: 10 }, (_, i) => String(i));
    expect(withOutcome(ten)).toBe(ten);
    expect(withOutcome(["a", "b"])).toEqual(["a", "b", ""]);
  });

  it("makes a template's body with a name and a window", () => {
    expect(templateRequest(" Boss ", draft({ windowMinutes: "5" }), 7, "USD")).toEqual({
      body: { name: "Boss", title: "First try?", outcomes: ["Yes", "No"], currency: "points", window_seconds: 300, min_stake: 1, max_stake: 1000 },
      errors: null,
    });
    expect(templateRequest("", draft({}), 7, "USD").errors).toEqual({ name: "Name the template." });
  });
});
