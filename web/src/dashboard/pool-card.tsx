// A live pool as its staff run it: totals and bettors per outcome as they change, the bettors
// themselves, and lock / resolve / cancel, each confirmed in a dialog first.
import { useCallback, useEffect, useState } from "preact/hooks";

import { api } from "../lib/api";
import { ApiError, describe } from "../lib/errors";
import { countdown, formatAmount, formatMultiplier, share } from "../lib/format";
import type { Pool } from "../lib/types";
import { Bettors } from "./bettors";
import { ConfirmDialog } from "./dialog";
import { statusText } from "./pools";
import { useAnnounce } from "./status";

type Action = "open" | "lock" | "resolve" | "cancel";

const DONE: Record<Action, string> = {
  open: "opened",
  lock: "locked",
  resolve: "resolved: paying the winners",
  cancel: "cancelled: refunding every stake",
};

/** A refusal in words that say what to do about it. */
export function actionError(error: unknown, action: Action): string {
  if (error instanceof ApiError && error.code === "conflict_of_interest") {
    return action === "resolve"
      ? "You hold a position in this pool, so you can't resolve it: a moderator without a bet must."
      : "You hold a position in this pool, so you can't cancel it once it is locked: a moderator without a bet must.";
  }
  if (error instanceof ApiError && error.code === "invalid_pool_transition") {
    return "The pool has moved on already (someone else acted, or its timer did). The list shows where it is now.";
  }
  return describe(error);
}

export function useNow(intervalMs: number): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const timer = setInterval(() => { setNow(Date.now()); }, intervalMs);
    return () => { clearInterval(timer); };
  }, [intervalMs]);
  return now;
}

export function PoolCard({ pool, onPool }: { pool: Pool; onPool: (pool: Pool) => void }) {
  const announce = useAnnounce();
  const now = useNow(1_000);
  const [dialog, setDialog] = useState<Action | null>(null);
  const [winner, setWinner] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const left = pool.status === "open" ? countdown(pool.closes_at, now) : null;

  const close = useCallback(() => {
    setDialog(null);
    setError(null);
  }, []);

  const act = async (action: Action) => {
    setBusy(true);
    setError(null);
    try {
      const updated = await api<Pool>(`/api/v1/pools/${pool.id}/${action}`, {
        method: "POST",
        ...(action === "resolve" ? { body: { outcome_id: winner } } : {}),
      });
      onPool(updated);
      setDialog(null);
      announce(`“${pool.title}” ${DONE[action]}.`);
    } catch (caught) {
      setError(actionError(caught, action));
    } finally {
      setBusy(false);
    }
  };

  const titleId = `pool-${pool.id}-title`;
  return (
    <article class={`pool-card ${pool.status}`} aria-labelledby={titleId} data-pool-id={pool.id}>
      <header>
        <h3 id={titleId}>{pool.title}</h3>
        <span class={`badge status-${pool.status}`}>{statusText(pool.status)}</span>
      </header>
      <p class="pool-meta">
        <span>
          Pot <strong class="pool-total">{formatAmount(pool.total, pool.currency)}</strong>
        </span>
        <span>
          <strong class="pool-bettors">{pool.bettors}</strong> {pool.bettors === 1 ? "bettor" : "bettors"}
        </span>
        {pool.status === "open" ? <span>{left ? `Closes in ${left}` : pool.closes_at ? "Closing…" : "No close time"}</span> : null}
        <span class="muted">
          Stakes {formatAmount(pool.min_stake, pool.currency)}–{formatAmount(pool.max_stake, pool.currency)}
        </span>
      </p>
      <ul class="outcome-bars">
        {pool.outcomes.map((outcome, index) => (
          <li key={outcome.id} data-outcome-id={outcome.id}>
            <div class="outcome-line">
              <span class="label">{outcome.label}</span>
              <span class="outcome-total">{formatAmount(outcome.total, pool.currency)}</span>
              <span class="muted">
                {outcome.bettors} {outcome.bettors === 1 ? "bettor" : "bettors"} · {formatMultiplier(outcome.multiplier_bps)}
              </span>
            </div>
            <div class="bar" aria-hidden="true">
              <span style={{ width: `${share(outcome.total, pool.total)}%`, background: `var(--bar-${(index % 5) + 1})` }} />
            </div>
          </li>
        ))}
      </ul>
      <div class="pool-actions">
        {pool.status === "draft" ? (
          <button type="button" class="primary" onClick={() => { setDialog("open"); }}>Open betting</button>
        ) : null}
        {pool.status === "open" ? (
          <button type="button" class="primary" onClick={() => { setDialog("lock"); }}>Lock</button>
        ) : null}
        {pool.status === "locked" ? (
          <button type="button" class="primary" onClick={() => { setWinner(null); setDialog("resolve"); }}>Resolve…</button>
        ) : null}
        <button type="button" class="danger" onClick={() => { setDialog("cancel"); }}>Cancel pool</button>
      </div>
      {pool.status === "draft" ? null : <Bettors pool={pool} />}

      <ConfirmDialog
        open={dialog === "open"}
        title="Open betting?"
        confirmLabel="Open betting"
        busy={busy}
        error={error}
        onConfirm={() => void act("open")}
        onClose={close}
        cancelLabel="Not yet"
      >
        <p>Viewers can bet on “{pool.title}” as soon as it opens.</p>
      </ConfirmDialog>
      <ConfirmDialog
        open={dialog === "lock"}
        title="Lock this pool?"
        confirmLabel="Lock betting"
        busy={busy}
        error={error}
        onConfirm={() => void act("lock")}
        onClose={close}
        cancelLabel="Keep betting open"
      >
        <p>Betting on “{pool.title}” stops for good. You resolve it once the result is known.</p>
      </ConfirmDialog>
      <ConfirmDialog
        open={dialog === "resolve"}
        title="Which outcome won?"
        confirmLabel="Resolve and pay out"
        busy={busy}
        error={error}
        focusFirstField
        confirmDisabled={winner === null}
        onConfirm={() => void act("resolve")}
        onClose={close}
        cancelLabel="Not yet"
      >
        <p>“{pool.title}”: the pot of {formatAmount(pool.total, pool.currency)} is split among the winners. This can't be undone.</p>
        <fieldset class="winner-choice">
          <legend>Winning outcome</legend>
          {pool.outcomes.map((outcome) => (
            <label class="choice" key={outcome.id}>
              <input
                type="radio"
                name={`winner-${pool.id}`}
                value={outcome.id}
                checked={winner === outcome.id}
                onChange={() => { setWinner(outcome.id); }}
              />
              {outcome.label} <span class="muted">({formatAmount(outcome.total, pool.currency)}, {outcome.bettors} {outcome.bettors === 1 ? "bettor" : "bettors"})</span>
            </label>
          ))}
        </fieldset>
      </ConfirmDialog>
      <ConfirmDialog
        open={dialog === "cancel"}
        title="Cancel this pool?"
        confirmLabel="Cancel and refund"
        danger
        busy={busy}
        error={error}
        onConfirm={() => void act("cancel")}
        onClose={close}
        cancelLabel="Keep the pool"
      >
        <p>“{pool.title}” is called off and every stake ({formatAmount(pool.total, pool.currency)} in all) is refunded.</p>
      </ConfirmDialog>
    </article>
  );
}
