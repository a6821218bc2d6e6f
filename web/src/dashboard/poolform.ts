// The pool and template forms: what a person typed, checked field by field with the API's own
// rules, and turned into the request body (amounts in minor units of the chosen currency).
import { parseAmount } from "../lib/format";

export const MIN_OUTCOMES = 2;
export const MAX_OUTCOMES = 10;
const MIN_WINDOW_SECONDS = 10;
const MAX_WINDOW_SECONDS = 86_400;
const MAX_STAKE = 10 ** 12;

export type Timing = "window" | "closes_at";

export interface PoolDraft {
  title: string;
  outcomes: string[];
  currency: "points" | "cash";
  minStake: string;
  maxStake: string;
  timing: Timing;
  /** Minutes (may be fractional: 0.5 is 30 s). */
  windowMinutes: string;
  /** A `datetime-local` value, read in the browser's time zone. */
  closesAt: string;
}

export function emptyDraft(): PoolDraft {
  return {
    title: "",
    outcomes: ["", ""],
    currency: "points",
    minStake: "1",
    maxStake: "1000",
    timing: "window",
    windowMinutes: "5",
    closesAt: "",
  };
}

/** Problems by the API's field names (`title`, `outcomes[1]`, `max_stake`, ...). */
export type FieldErrors = Record<string, string>;

export interface PoolBody {
  channel_id: number;
  title: string;
  outcomes: string[];
  currency: "points" | "cash";
  min_stake: number;
  max_stake: number;
  window_seconds?: number;
  closes_at?: string;
}

export interface TemplateBody {
  name: string;
  title: string;
  outcomes: string[];
  currency: "points" | "cash";
  window_seconds: number;
  min_stake: number;
  max_stake: number;
}

/** The currency string amounts are typed in (`points:<id>` or `cash:<code>`). */
export function draftCurrency(draft: PoolDraft, channelId: number, cashCurrency: string): string {
  return draft.currency === "cash" ? `cash:${cashCurrency}` : `points:${channelId}`;
}

interface Common {
  title: string;
  outcomes: string[];
  min_stake: number;
  max_stake: number;
}

function checkCommon(
  draft: PoolDraft,
  currency: string,
  errors: FieldErrors,
): Common | null {
  const title = draft.title.trim();
  if (title === "") errors["title"] = "Write the question.";
  else if (title.length > 120) errors["title"] = "At most 120 characters.";
  const outcomes = draft.outcomes.map((o) => o.trim());
  if (outcomes.length < MIN_OUTCOMES || outcomes.length > MAX_OUTCOMES) {
    errors["outcomes"] = `Between ${MIN_OUTCOMES} and ${MAX_OUTCOMES} outcomes.`;
  }
  const seen = new Set<string>();
  outcomes.forEach((label, i) => {
    if (label === "") errors[`outcomes[${i}]`] = "Name this outcome.";
    else if (label.length > 50) errors[`outcomes[${i}]`] = "At most 50 characters.";
    else if (seen.has(label.toLowerCase())) errors[`outcomes[${i}]`] = "Outcomes must differ.";
    seen.add(label.toLowerCase());
  });
  const cash = currency.startsWith("cash:");
  const unit = cash ? "an amount like 1.50" : "a whole number of points";
  const min = parseAmount(draft.minStake, currency);
  const max = parseAmount(draft.maxStake, currency);
  if (min === null || min < 1 || min > MAX_STAKE) errors["min_stake"] = `Enter ${unit}, at least ${cash ? "0.01" : "1"}.`;
  if (max === null || max < 1 || max > MAX_STAKE) errors["max_stake"] = `Enter ${unit}.`;
  else if (min !== null && max < min) errors["max_stake"] = "Must be at least the minimum stake.";
  if (Object.keys(errors).length > 0 || min === null || max === null) return null;
  return { title, outcomes, min_stake: min, max_stake: max };
}

function windowSeconds(draft: PoolDraft, errors: FieldErrors): number | null {
  const minutes = Number(draft.windowMinutes.trim().replace(",", "."));
  const seconds = Math.round(minutes * 60);
  if (draft.windowMinutes.trim() === "" || !Number.isFinite(minutes) || seconds < MIN_WINDOW_SECONDS || seconds > MAX_WINDOW_SECONDS) {
    errors["window_seconds"] = "Between 10 seconds (0.17) and 24 hours (1440) in minutes.";
    return null;
  }
  return seconds;
}

/** The body of `POST /api/v1/pools`, or the problems to show beside each field. */
export function poolRequest(
  draft: PoolDraft,
  channelId: number,
  cashCurrency: string,
  now: number = Date.now(),
): { body: PoolBody; errors: null } | { body: null; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const common = checkCommon(draft, draftCurrency(draft, channelId, cashCurrency), errors);
  let timing: Pick<PoolBody, "window_seconds" | "closes_at"> = {};
  if (draft.timing === "window") {
    const seconds = windowSeconds(draft, errors);
    if (seconds !== null) timing = { window_seconds: seconds };
  } else {
    const at = draft.closesAt === "" ? NaN : new Date(draft.closesAt).getTime();
    if (Number.isNaN(at)) errors["closes_at"] = "Choose when betting closes.";
    else if (at <= now + 10_000) errors["closes_at"] = "Must be in the future.";
    else timing = { closes_at: new Date(at).toISOString() };
  }
  if (common === null || Object.keys(errors).length > 0) return { body: null, errors };
  return {
    body: { channel_id: channelId, ...common, currency: draft.currency, ...timing },
    errors: null,
  };
}

/** The body of `POST /api/v1/channels/{id}/templates` (templates always have a window). */
export function templateRequest(
  name: string,
  draft: PoolDraft,
  channelId: number,
  cashCurrency: string,
): { body: TemplateBody; errors: null } | { body: null; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const trimmed = name.trim();
  if (trimmed === "") errors["name"] = "Name the template.";
  else if (trimmed.length > 80) errors["name"] = "At most 80 characters.";
  const common = checkCommon(draft, draftCurrency(draft, channelId, cashCurrency), errors);
  const seconds = windowSeconds(draft, errors);
  if (common === null || seconds === null || Object.keys(errors).length > 0) {
    return { body: null, errors };
  }
  return {
    body: { name: trimmed, ...common, currency: draft.currency, window_seconds: seconds },
    errors: null,
  };
}

/** Add an outcome (up to the most a pool takes). */
export function withOutcome(outcomes: string[]): string[] {
  return outcomes.length >= MAX_OUTCOMES ? outcomes : [...outcomes, ""];
}

/** Remove the outcome at `index` (never below the fewest a pool takes). */
export function withoutOutcome(outcomes: string[], index: number): string[] {
  return outcomes.length <= MIN_OUTCOMES ? outcomes : outcomes.filter((_, i) => i !== index);
}
