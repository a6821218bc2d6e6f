// The channel's recent results: who won each pool and what you got back.
import { formatAmount } from "../lib/format";
import type { Pool } from "../lib/types";
import { payoutLine } from "./PoolCard";
import { payoutOf, type ViewerState } from "./state";

export function Results({ pools, state }: { pools: Pool[]; state: ViewerState }) {
  if (pools.length === 0) return null;
  return (
    <section class="results panel" aria-labelledby="results-heading">
      <h2 id="results-heading">Recent results</h2>
      <ol>
        {pools.map((pool) => {
          const winner = pool.outcomes.find((o) => o.id === pool.winning_outcome_id);
          const payout = payoutOf(state, pool);
          return (
            <li key={pool.id} data-pool-id={pool.id}>
              <span class="result-title">{pool.title}</span>
              <span class="muted">
                {pool.status === "refunded"
                  ? "Called off, stakes refunded"
                  : `${winner?.label ?? "?"} won · pot ${formatAmount(pool.total, pool.currency)}`}
              </span>
              {payout && <span class="payout">{payoutLine(payout, pool)}</span>}
            </li>
          );
        })}
      </ol>
    </section>
  );
}
