import { describe, expect, it } from "vitest";

import { quickAmounts, recallAmount, rememberAmount, startingAmount } from "./amounts";

function memoryStore(): Pick<Storage, "getItem" | "setItem"> {
  const items = new Map<string, string>();
  return {
    getItem: (name) => items.get(name) ?? null,
    setItem: (name, value) => {
      items.set(name, value);
    },
  };
}

describe("the remembered amount", () => {
  it("is kept per channel and per currency", () => {
    const store = memoryStore();
    expect(recallAmount(store, 1, "points:1")).toBeNull();
    rememberAmount(store, 1, "points:1", 250);
    rememberAmount(store, 1, "cash:USD", 500);
    rememberAmount(store, 2, "points:2", 40);
    expect(recallAmount(store, 1, "points:1")).toBe(250);
    expect(recallAmount(store, 1, "cash:USD")).toBe(500);
    expect(recallAmount(store, 2, "points:2")).toBe(40);
    expect(recallAmount(store, 2, "points:1")).toBeNull();
  });

  it("ignores what it cannot read", () => {
    const store = memoryStore();
    store.setItem("streampools.viewer.amount.1", "{not json");
    expect(recallAmount(store, 1, "points:1")).toBeNull();
    store.setItem("streampools.viewer.amount.1", JSON.stringify({ "points:1": 1.5 }));
    expect(recallAmount(store, 1, "points:1")).toBeNull();
  });

  it("starts a bet from the remembered amount when the pool takes it", () => {
    expect(startingAmount(250, 1, 500)).toBe(250);
    expect(startingAmount(900, 1, 500)).toBe(100);
    expect(startingAmount(null, 1, 50)).toBe(50);
    expect(startingAmount(null, 200, 500)).toBe(200);
  });
});

describe("quick amounts", () => {
  it("offers the presets within the limits and the balance, then the most you can stake", () => {
    expect(quickAmounts("points:1", 1, 500, 1_000)).toEqual([
      { label: "amount", amount: 10 },
      { label: "amount", amount: 100 },
      { label: "max", amount: 500 },
    ]);
    expect(quickAmounts("points:1", 1, 1_000_000, 320)).toEqual([
      { label: "amount", amount: 10 },
      { label: "amount", amount: 100 },
      { label: "max", amount: 320 },
    ]);
    expect(quickAmounts("points:1", 50, 500, 20)).toEqual([]);
  });

  it("counts cash in cents", () => {
    expect(quickAmounts("cash:USD", 100, 10_000, 1_000).map((pick) => pick.amount)).toEqual([
      100, 500, 1_000,
    ]);
  });

  it("shows the presets to a viewer whose balance is unknown", () => {
    expect(quickAmounts("points:1", 1, 500, null).map((pick) => pick.label)).toEqual([
      "amount",
      "amount",
      "amount",
    ]);
  });
});
