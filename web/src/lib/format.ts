// Amounts are integers in minor units: whole points, or cents (of the cash currency).

export function isCash(currency: string): boolean {
  return currency.startsWith("cash:");
}

const points = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });

/** `1,250 pts` for points, `$12.50` for `cash:USD` (exact: no float arithmetic on the amount). */
export function formatAmount(amount: number, currency: string): string {
  if (isCash(currency)) {
    const code = currency.slice(5);
    const negative = amount < 0;
    const cents = Math.abs(amount);
    const whole = Math.trunc(cents / 100);
    const fraction = String(cents % 100).padStart(2, "0");
    const formatter = new Intl.NumberFormat(undefined, { style: "currency", currency: code });
    const parts = formatter.formatToParts(0).map((part) => {
      if (part.type === "integer") return points.format(whole);
      if (part.type === "fraction") return fraction;
      return part.value;
    });
    return (negative ? "−" : "") + parts.join("");
  }
  return `${points.format(amount)} pts`;
}

/** Parse what a person typed as an amount in minor units, or null when it is not one. */
export function parseAmount(text: string, currency: string): number | null {
  const cleaned = text.trim().replace(/[\s,_]/g, "");
  if (isCash(currency)) {
    const match = /^(\d{1,12})(?:\.(\d{1,2}))?$/.exec(cleaned.replace(/^[$€£]/, ""));
    if (!match) return null;
    const whole = Number(match[1]);
    const fraction = Number((match[2] ?? "").padEnd(2, "0"));
    return whole * 100 + fraction;
  }
  if (!/^\d{1,15}$/.test(cleaned)) return null;
  return Number(cleaned);
}

/** `2.45×` from basis points (`24500`), or `—` while nobody bet on the outcome. */
export function formatMultiplier(bps: number | null): string {
  if (bps === null) return "—";
  return `${(Math.floor(bps / 100) / 100).toFixed(2)}×`;
}

/** What a stake would pay if its outcome won at the current multiplier (rounded down). */
export function potentialPayout(stake: number, bps: number | null): number | null {
  if (bps === null) return null;
  return Math.floor((stake * bps) / 10_000);
}

/** Share of the pool, 0–100, for the bars. */
export function share(part: number, total: number): number {
  return total > 0 ? (part * 100) / total : 0;
}

/** `4:05` / `1:02:03` until a moment, or null when it has passed. */
export function countdown(until: string | null, now: number): string | null {
  if (until === null) return null;
  const left = Math.ceil((Date.parse(until) - now) / 1000);
  if (left <= 0) return null;
  const hours = Math.floor(left / 3600);
  const minutes = Math.floor((left % 3600) / 60);
  const seconds = String(left % 60).padStart(2, "0");
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, "0")}:${seconds}` : `${minutes}:${seconds}`;
}
