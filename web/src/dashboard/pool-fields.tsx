// The fields of a pool (and of a template): the question, 2–10 outcomes added and removed,
// points or cash, the stake range and when betting closes.
import { useId } from "preact/hooks";

import { isCash } from "../lib/format";
import { Field } from "./field";
import { MAX_OUTCOMES, MIN_OUTCOMES, withOutcome, withoutOutcome, type FieldErrors, type PoolDraft } from "./poolform";

export interface PoolFieldsProps {
  draft: PoolDraft;
  onDraft: (draft: PoolDraft) => void;
  errors: FieldErrors;
  cashEnabled: boolean;
  /** The currency amounts are typed in now. */
  currency: string;
  /** Templates always have a betting window. */
  windowOnly?: boolean;
}

export function PoolFields({ draft, onDraft, errors, cashEnabled, currency, windowOnly }: PoolFieldsProps) {
  const id = useId();
  const set = (change: Partial<PoolDraft>) => { onDraft({ ...draft, ...change }); };
  const unit = isCash(currency) ? `in ${currency.slice(5)}, e.g. 2.50` : "in points";
  return (
    <>
      <Field label="Question" value={draft.title} onValue={(title) => { set({ title }); }} error={errors["title"]} maxLength={120} placeholder="Will she beat the boss first try?" />
      <fieldset class="outcomes">
        <legend>Outcomes ({draft.outcomes.length} of {MIN_OUTCOMES}–{MAX_OUTCOMES})</legend>
        {errors["outcomes"] ? <p class="field-error">{errors["outcomes"]}</p> : null}
        {draft.outcomes.map((label, index) => (
          <div class="outcome-row" key={index}>
            <Field
              label={`Outcome ${index + 1}`}
              value={label}
              maxLength={50}
              onValue={(value) => { set({ outcomes: draft.outcomes.map((o, i) => (i === index ? value : o)) }); }}
              error={errors[`outcomes[${index}]`]}
            />
            <button
              type="button"
              class="icon"
              aria-label={`Remove outcome ${index + 1}`}
              disabled={draft.outcomes.length <= MIN_OUTCOMES}
              onClick={() => { set({ outcomes: withoutOutcome(draft.outcomes, index) }); }}
            >
              ✕
            </button>
          </div>
        ))}
        <button type="button" disabled={draft.outcomes.length >= MAX_OUTCOMES} onClick={() => { set({ outcomes: withOutcome(draft.outcomes) }); }}>
          + Add outcome
        </button>
      </fieldset>
      {cashEnabled ? (
        <fieldset class="inline">
          <legend>Stakes in</legend>
          <label class="choice">
            <input type="radio" name={`${id}-currency`} checked={draft.currency === "points"} onChange={() => { set({ currency: "points" }); }} />
            Channel points
          </label>
          <label class="choice">
            <input type="radio" name={`${id}-currency`} checked={draft.currency === "cash"} onChange={() => { set({ currency: "cash" }); }} />
            Cash
          </label>
        </fieldset>
      ) : null}
      <div class="two">
        <Field label={`Min stake (${unit})`} inputMode={isCash(currency) ? "decimal" : "numeric"} value={draft.minStake} onValue={(minStake) => { set({ minStake }); }} error={errors["min_stake"]} />
        <Field label={`Max stake (${unit})`} inputMode={isCash(currency) ? "decimal" : "numeric"} value={draft.maxStake} onValue={(maxStake) => { set({ maxStake }); }} error={errors["max_stake"]} />
      </div>
      {windowOnly ? null : (
        <fieldset class="inline">
          <legend>Betting closes</legend>
          <label class="choice">
            <input type="radio" name={`${id}-timing`} checked={draft.timing === "window"} onChange={() => { set({ timing: "window" }); }} />
            After a window
          </label>
          <label class="choice">
            <input type="radio" name={`${id}-timing`} checked={draft.timing === "closes_at"} onChange={() => { set({ timing: "closes_at" }); }} />
            At a time
          </label>
        </fieldset>
      )}
      {windowOnly || draft.timing === "window" ? (
        <Field label="Betting window (minutes)" inputMode="decimal" value={draft.windowMinutes} onValue={(windowMinutes) => { set({ windowMinutes }); }} error={errors["window_seconds"]} hint="From 0.17 (10 seconds) to 1440 (24 hours)." />
      ) : (
        <Field label="Close time" type="datetime-local" value={draft.closesAt} onValue={(closesAt) => { set({ closesAt }); }} error={errors["closes_at"]} />
      )}
    </>
  );
}
