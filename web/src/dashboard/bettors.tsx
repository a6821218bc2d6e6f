// A pool's bettors for its staff (`GET /api/v1/pools/{id}/bets`), newest first, refreshed as the
// totals change (at most once a second), with older ones a page at a time.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";

import { api } from "../lib/api";
import { describe } from "../lib/errors";
import { formatAmount } from "../lib/format";
import type { Pool } from "../lib/types";
import { throttle } from "./throttle";
import type { PoolBet, PoolBetPage } from "./types";

const PAGE = 10;
const REFRESH_MS = 1_000;

export function Bettors({ pool }: { pool: Pool }) {
  const [bets, setBets] = useState<PoolBet[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const shown = useRef(PAGE);
  const labels = useMemo(() => new Map(pool.outcomes.map((o) => [o.id, o.label])), [pool.outcomes]);

  const refresh = useMemo(
    () =>
      throttle(() => {
        api<PoolBetPage>(`/api/v1/pools/${pool.id}/bets?limit=${shown.current}`).then(
          (page) => {
            setBets(page.bets);
            setNext(page.next_cursor);
            setError(null);
            setLoaded(true);
          },
          (caught: unknown) => { setError(describe(caught)); },
        );
      }, REFRESH_MS),
    [pool.id],
  );
  useEffect(() => () => { refresh.cancel(); }, [refresh]);
  useEffect(() => { refresh(); }, [refresh, pool.total, pool.bettors, pool.status]);

  const more = async () => {
    if (next === null) return;
    try {
      const page = await api<PoolBetPage>(`/api/v1/pools/${pool.id}/bets?limit=${PAGE}&cursor=${encodeURIComponent(next)}`);
      setBets([...bets, ...page.bets]);
      setNext(page.next_cursor);
      shown.current = bets.length + page.bets.length;
    } catch (caught) {
      setError(describe(caught));
    }
  };

  return (
    <section class="bettors" aria-label={`Bettors of ${pool.title}`}>
      <h4>Bettors</h4>
      {error ? <p class="error">{error}</p> : null}
      {loaded && bets.length === 0 ? <p class="muted">No bets yet.</p> : null}
      {bets.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Who</th>
              <th scope="col">Outcome</th>
              <th scope="col" class="num">Stake</th>
              <th scope="col" class="num">When</th>
            </tr>
          </thead>
          <tbody>
            {bets.map((bet) => (
              <tr key={bet.id}>
                <td>{bet.display_name}</td>
                <td>{labels.get(bet.outcome_id) ?? "—"}</td>
                <td class="num">
                  {formatAmount(bet.amount, pool.currency)}
                  {bet.payout !== null ? <span class="muted"> → {formatAmount(bet.payout, pool.currency)}</span> : null}
                </td>
                <td class="num">
                  <time dateTime={bet.updated_at}>{new Date(bet.updated_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" })}</time>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {next !== null ? (
        <button type="button" onClick={() => void more()}>
          Show more bettors
        </button>
      ) : null}
    </section>
  );
}
