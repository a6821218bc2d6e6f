// One pool: its outcomes as bars (share of the pot), multipliers, your position, and the bet
// form (pick an outcome, an amount, confirm); after it ends, the result and your payout.
import { useEffect, useId, useState } from "preact/hooks";

import { newIdempotencyKey } from "../lib/api";
import { ApiError, describe } from "../lib/errors";
import {
  countdown,
  formatAmount,
  formatMultiplier,
  isCash,
  parseAmount,
  potentialPayout,
  share,
} from "../lib/format";
import type { Live } from "../lib/socket";
import type { BetPlaced, Outcome, Pool } from "../lib/types";
import { quickAmounts, recallAmount, rememberAmount, startingAmount } from "./amounts";
import { type Action, payoutOf, type ViewerState } from "./state";

interface Props {
  pool: Pool;
  state: ViewerState;
  now: number;
  live: Live | null;
  dispatch: (action: Action) => void;
  signedIn: boolean;
  onNeedSignIn: () => void;
}

/** An amount as people type it: `250` points, `2.50` of cash. */
export function amountText(amount: number, currency: string): string {
  if (!isCash(currency)) return String(amount);
  return `${Math.trunc(amount / 100)}.${String(amount % 100).padStart(2, "0")}`;
}

function statusLine(pool: Pool, now: number): string {
  switch (pool.status) {
    case "open": {
      const left = countdown(pool.closes_at, now);
      if (pool.closes_at === null) return "Open";
      return left === null ? "Closing…" : `Open · closes in ${left}`;
    }
    case "locked":
      return "Locked · waiting for the result";
    case "resolved":
      return "Resolved · paying out…";
    case "settled":
      return "Settled";
    case "cancelled":
      return "Called off · refunding…";
    case "refunded":
      return "Called off · refunded";
    default:
      return pool.status;
  }
}

export function PoolCard({ pool, state, now, live, dispatch, signedIn, onNeedSignIn }: Props) {
  const id = useId();
  const channelId = pool.channel_id;
  const mine = pool.my_position ?? null;
  const open = pool.status === "open";
  const balance = signedIn ? (state.balances[pool.currency] ?? 0) : null;
  const [choice, setChoice] = useState<number | null>(mine?.outcome_id ?? null);
  const [amount, setAmount] = useState(() =>
    amountText(
      startingAmount(
        recallAmount(localStorage, channelId, pool.currency),
        pool.min_stake,
        pool.max_stake,
      ),
      pool.currency,
    ),
  );
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  // Your position decides the outcome: more stake goes on the same one.
  useEffect(() => {
    if (mine) setChoice(mine.outcome_id);
  }, [mine?.outcome_id]);

  // Once betting closes, the last bet's confirmation has said what it had to.
  useEffect(() => {
    if (!open) setDone(null);
  }, [open]);

  const chosen = pool.outcomes.find((outcome) => outcome.id === choice) ?? null;
  const parsed = parseAmount(amount, pool.currency);

  const place = async (picked: Outcome | null = chosen) => {
    if (!signedIn) {
      onNeedSignIn();
      return;
    }
    const chosen = picked;
    if (chosen === null) {
      setError("Pick an outcome first.");
      return;
    }
    if (parsed === null || parsed <= 0) {
      setError(
        isCash(pool.currency)
          ? "Enter an amount of money, like 2.50."
          : "Enter a whole number of points.",
      );
      return;
    }
    if (live === null) return;
    // One key per bet, kept by the retry after a reconnect: the bet is placed once.
    const key = newIdempotencyKey();
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const ack = await live.call<{ bet: BetPlaced }>("bet:place", {
        pool_id: pool.id,
        outcome_id: chosen.id,
        amount: parsed,
        idempotency_key: key,
      });
      dispatch({ type: "bet", bet: ack.bet });
      rememberAmount(localStorage, channelId, pool.currency, parsed);
      setDone(
        `Bet placed: ${formatAmount(ack.bet.placed, pool.currency)} on ${chosen.label}. ` +
          `Your position: ${formatAmount(ack.bet.position, pool.currency)}.`,
      );
    } catch (caught) {
      setError(explain(caught, pool));
    } finally {
      setBusy(false);
    }
  };

  const winner = pool.winning_outcome_id;
  const ended = !open && pool.status !== "locked";
  return (
    <article
      class={`pool panel status-${pool.status}`}
      aria-labelledby={`${id}-title`}
      data-pool-id={pool.id}
      data-total={pool.total}
    >
      <header class="pool-head">
        <h3 id={`${id}-title`}>{pool.title}</h3>
        <p class="pool-status" data-status={pool.status}>
          {statusLine(pool, now)}
        </p>
      </header>
      <p class="pot muted">
        Pot <strong class="pot-total">{formatAmount(pool.total, pool.currency)}</strong> ·{" "}
        {pool.bettors} {pool.bettors === 1 ? "bettor" : "bettors"}
      </p>
      <form
        class="bet"
        onSubmit={(event) => {
          event.preventDefault();
          void place();
        }}
      >
        <fieldset class="outcomes" disabled={!open || busy}>
          <legend class="visually-hidden">Outcomes of “{pool.title}”</legend>
          {pool.outcomes.map((outcome, index) => (
            <OutcomeRow
              key={outcome.id}
              name={`${id}-outcome`}
              outcome={outcome}
              index={index}
              pool={pool}
              checked={choice === outcome.id}
              locked={mine !== null && mine.outcome_id !== outcome.id}
              winner={winner === outcome.id}
              onPick={() => {
                setChoice(outcome.id);
                setError(null);
              }}
              onConfirm={() => void place(outcome)}
            />
          ))}
        </fieldset>
        {mine && (
          <p class="position" data-testid="position">
            Your bet: <strong>{formatAmount(mine.amount, pool.currency)}</strong> on{" "}
            {pool.outcomes.find((o) => o.id === mine.outcome_id)?.label ?? "?"}
            {!ended && <PotentialPayout pool={pool} stake={mine.amount} outcomeId={mine.outcome_id} />}
          </p>
        )}
        {open && (
          <BetControls
            pool={pool}
            id={id}
            amount={amount}
            balance={balance}
            busy={busy}
            chosen={chosen}
            parsed={parsed}
            onAmount={(text) => {
              setAmount(text);
              setError(null);
            }}
          />
        )}
        <p class="good" role="status" aria-live="polite" data-testid="bet-result">
          {done}
        </p>
        <p class="error" role="alert" data-testid="bet-error">
          {error}
        </p>
      </form>
      {ended && <Outcome pool={pool} state={state} />}
    </article>
  );
}

function PotentialPayout({ pool, stake, outcomeId }: { pool: Pool; stake: number; outcomeId: number }) {
  const outcome = pool.outcomes.find((o) => o.id === outcomeId);
  const pays = potentialPayout(stake, outcome?.multiplier_bps ?? null);
  if (pays === null) return null;
  return <> · pays {formatAmount(pays, pool.currency)} if it wins</>;
}

function OutcomeRow(props: {
  name: string;
  outcome: Outcome;
  index: number;
  pool: Pool;
  checked: boolean;
  locked: boolean;
  winner: boolean;
  onPick: () => void;
  /** Enter on the outcome: bet on it now. */
  onConfirm: () => void;
}) {
  const { outcome, pool } = props;
  const percent = share(outcome.total, pool.total);
  return (
    <label
      class={`outcome bar-${(props.index % 5) + 1}${props.checked ? " chosen" : ""}${props.winner ? " winner" : ""}`}
      data-outcome-id={outcome.id}
      data-total={outcome.total}
    >
      <span class="fill" style={{ transform: `scaleX(${percent / 100})` }} aria-hidden="true" />
      <input
        type="radio"
        name={props.name}
        value={outcome.id}
        checked={props.checked}
        disabled={props.locked}
        onChange={props.onPick}
        onKeyDown={(event) => {
          if (event.key === "Enter") {
            event.preventDefault();
            if (!props.checked) props.onPick();
            props.onConfirm();
          }
        }}
      />
      <span class="label">
        {outcome.label}
        {props.winner && <span class="tag">Winner</span>}
      </span>
      <span class="multiplier" title="What one unit staked now pays back if it wins">
        {formatMultiplier(outcome.multiplier_bps)}
      </span>
      <span class="stats muted">
        <span class="outcome-total">{formatAmount(outcome.total, pool.currency)}</span> ·{" "}
        {outcome.bettors} {outcome.bettors === 1 ? "bettor" : "bettors"} · {Math.round(percent)}%
      </span>
    </label>
  );
}

function BetControls(props: {
  pool: Pool;
  id: string;
  amount: string;
  balance: number | null;
  busy: boolean;
  chosen: Outcome | null;
  parsed: number | null;
  onAmount: (text: string) => void;
}) {
  const { pool } = props;
  const picks = quickAmounts(pool.currency, pool.min_stake, pool.max_stake, props.balance);
  const unit = isCash(pool.currency) ? pool.currency.slice(5) : "points";
  const confirm =
    props.chosen === null
      ? "Pick an outcome"
      : props.parsed === null
        ? `Bet on ${props.chosen.label}`
        : `Bet ${formatAmount(props.parsed, pool.currency)} on ${props.chosen.label}`;
  return (
    <div class="controls">
      <label class="amount">
        Amount ({unit})
        <input
          name="amount"
          inputMode={isCash(pool.currency) ? "decimal" : "numeric"}
          autocomplete="off"
          value={props.amount}
          aria-describedby={`${props.id}-limits`}
          onInput={(event) => {
            props.onAmount(event.currentTarget.value);
          }}
        />
      </label>
      <div class="chips" role="group" aria-label="Quick amounts">
        {picks.map((pick) => (
          <button
            key={`${pick.label}-${pick.amount}`}
            type="button"
            class="chip"
            aria-pressed={props.parsed === pick.amount}
            aria-label={`${pick.label === "max" ? "Most you can stake: " : "Stake "}${formatAmount(pick.amount, pool.currency)}`}
            onClick={() => {
              props.onAmount(amountText(pick.amount, pool.currency));
            }}
          >
            {pick.label === "max" ? "Max" : amountText(pick.amount, pool.currency)}
          </button>
        ))}
      </div>
      <p id={`${props.id}-limits`} class="limits muted">
        {formatAmount(pool.min_stake, pool.currency)} to {formatAmount(pool.max_stake, pool.currency)}{" "}
        per bettor
      </p>
      <button type="submit" class="primary confirm" disabled={props.busy || props.chosen === null}>
        {props.busy ? "Placing…" : confirm}
      </button>
    </div>
  );
}

function Outcome({ pool, state }: { pool: Pool; state: ViewerState }) {
  const winner = pool.outcomes.find((o) => o.id === pool.winning_outcome_id);
  const payout = payoutOf(state, pool);
  return (
    <div class="result" data-testid="result">
      {winner && (
        <p>
          Result: <strong>{winner.label}</strong>
        </p>
      )}
      {payout && <p class="payout">{payoutLine(payout, pool)}</p>}
    </div>
  );
}

export function payoutLine(payout: { stake: number; paid: number }, pool: Pool): string {
  const paid = formatAmount(payout.paid, pool.currency);
  if (pool.status === "refunded" || payout.paid === payout.stake) return `Your ${paid} came back.`;
  if (payout.paid > 0) return `You won ${paid} (staked ${formatAmount(payout.stake, pool.currency)}).`;
  return `Your ${formatAmount(payout.stake, pool.currency)} stake did not win.`;
}

/** The API's reason in words, with the limits when the amount was out of them. */
function explain(error: unknown, pool: Pool): string {
  const sentence = describe(error);
  if (error instanceof ApiError && error.code === "stake_out_of_range") {
    return `${sentence} Stake ${formatAmount(pool.min_stake, pool.currency)} to ${formatAmount(pool.max_stake, pool.currency)}.`;
  }
  return sentence;
}
