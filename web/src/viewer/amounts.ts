// The amount a bet starts from: the last one used in the channel (remembered per channel and
// currency in localStorage), and the quick picks offered beside it.
import { isCash } from "../lib/format";

type Store = Pick<Storage, "getItem" | "setItem">;

function key(channelId: number): string {
  return `streampools.viewer.amount.${channelId}`;
}

function read(store: Store, channelId: number): Record<string, number> {
  try {
    const parsed = JSON.parse(store.getItem(key(channelId)) ?? "{}") as unknown;
    return parsed !== null && typeof parsed === "object" ? (parsed as Record<string, number>) : {};
  } catch {
    return {};
  }
}

/** The last amount bet in this channel and currency, or null. */
export function recallAmount(store: Store, channelId: number, currency: string): number | null {
  const amount = read(store, channelId)[currency];
  return typeof amount === "number" && Number.isSafeInteger(amount) && amount > 0 ? amount : null;
}

export function rememberAmount(
  store: Store,
  channelId: number,
  currency: string,
  amount: number,
): void {
  try {
    store.setItem(key(channelId), JSON.stringify({ ...read(store, channelId), [currency]: amount }));
  } catch {
    // Storage full or refused (private mode): the next bet simply starts from the default.
  }
}

/** Where a new bet starts: the remembered amount when the pool takes it, else a small default
 * within the pool's limits. */
export function startingAmount(
  remembered: number | null,
  minStake: number,
  maxStake: number,
): number {
  if (remembered !== null && remembered >= minStake && remembered <= maxStake) return remembered;
  // 100 points, or one unit of cash (100 cents).
  return Math.min(Math.max(100, minStake), maxStake);
}

export interface QuickAmount {
  label: "amount" | "max";
  amount: number;
}

const PRESETS: Record<"points" | "cash", number[]> = {
  points: [10, 100, 500],
  cash: [100, 500, 2_000],
};

/** The quick picks: the presets the pool's limits and your balance allow, and "max" (the most
 * you can stake: the pool's max or your balance, whichever is less). Anonymous viewers (no
 * balance known) see the presets within the limits. */
export function quickAmounts(
  currency: string,
  minStake: number,
  maxStake: number,
  balance: number | null,
): QuickAmount[] {
  const ceiling = balance === null ? maxStake : Math.min(maxStake, balance);
  const picks: QuickAmount[] = PRESETS[isCash(currency) ? "cash" : "points"]
    .filter((amount) => amount >= minStake && (balance === null ? amount <= ceiling : amount < ceiling))
    .map((amount) => ({ label: "amount", amount }));
  if (balance !== null && ceiling >= minStake) picks.push({ label: "max", amount: ceiling });
  return picks;
}
