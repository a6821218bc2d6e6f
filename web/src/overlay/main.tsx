// The OBS browser source: the channel's current pool with bars that move live, the time to lock,
// then the result with the top winners; `?view=leaderboard` shows the channel's leaderboard.
// Signed in with the channel's read-only overlay key (never a person's token).
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";

import { api } from "../lib/api";
import { describe as describeError } from "../lib/errors";
import { countdown, formatAmount, formatMultiplier, share } from "../lib/format";
import { Live } from "../lib/socket";
import type { Channel, ChannelSnapshot, ErrorBody, Leaderboard, Pool, PoolTotals } from "../lib/types";
import "../lib/base.css";
import "./overlay.css";
import { applyTotals, currentPool, showsResult, upsert, type ShownResult } from "./state";

/** How long a result stays on screen (see `showsResult` for a new pool opening meanwhile). */
const RESULT_MS = 30_000;

interface Winner {
  display_name: string;
  outcome_id: number;
  stake: number;
  payout: number;
}

interface Result extends ShownResult {
  winners: Winner[];
}

function useNow(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => { setNow(Date.now()); }, 1000);
    return () => { clearInterval(timer); };
  }, []);
  return now;
}

function Bars({ pool }: { pool: Pool }) {
  const winner = pool.winning_outcome_id;
  return (
    <ol class="outcomes">
      {pool.outcomes.map((outcome, index) => {
        const part = share(outcome.total, pool.total);
        return (
          <li
            key={outcome.id}
            class={`outcome${winner === outcome.id ? " won" : ""}${winner !== null && winner !== outcome.id ? " lost" : ""}`}
            data-outcome={outcome.id}
          >
            <div class="bar" aria-hidden="true">
              <div
                class="fill"
                style={{ transform: `scaleX(${part / 100})`, background: `var(--bar-${(index % 5) + 1})` }}
              />
            </div>
            <span class="label">{outcome.label}</span>
            <span class="figures">
              <span class="share">{Math.round(part)}%</span>
              <span class="total">{formatAmount(outcome.total, pool.currency)}</span>
              <span class="multiplier">{formatMultiplier(outcome.multiplier_bps)}</span>
            </span>
          </li>
        );
      })}
    </ol>
  );
}

function PoolCard({ pool, now }: { pool: Pool; now: number }) {
  const left = countdown(pool.closes_at, now);
  const status = pool.status === "open" ? (left ? `Locks in ${left}` : "Open") : "Betting closed";
  return (
    <section class="card" data-pool={pool.id} data-status={pool.status}>
      <h1 class="question">{pool.title}</h1>
      <Bars pool={pool} />
      <footer class="meta">
        <span class="pot">{formatAmount(pool.total, pool.currency)} in the pot</span>
        <span>{pool.bettors} {pool.bettors === 1 ? "bettor" : "bettors"}</span>
        <span class="status">{status}</span>
      </footer>
    </section>
  );
}

function ResultCard({ result }: { result: Result }) {
  const { pool, winners } = result;
  const outcome = pool.outcomes.find((o) => o.id === pool.winning_outcome_id);
  return (
    <section class="card result" data-pool={pool.id} data-status={pool.status}>
      <h1 class="question">{pool.title}</h1>
      <p class="answer">
        {pool.status === "cancelled" || pool.status === "refunded"
          ? "Cancelled: every stake refunded"
          : `Result: ${outcome?.label ?? "?"}`}
      </p>
      <Bars pool={pool} />
      {winners.length > 0 && (
        <ol class="winners">
          {winners.map((w, index) => (
            <li key={index}>
              <span class="name">{w.display_name}</span>
              <span class="won">+{formatAmount(w.payout, pool.currency)}</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

function LeaderboardCard({ board }: { board: Leaderboard }) {
  return (
    <section class="card leaderboard">
      <h1 class="question">Top predictors</h1>
      <ol class="rows">
        {board.rows.map((row) => (
          <li key={row.user_id}>
            <span class="rank">{row.rank}</span>
            <span class="name">{row.display_name}</span>
            <span class="net">{formatAmount(row.net, board.currency)}</span>
          </li>
        ))}
      </ol>
    </section>
  );
}

function Overlay() {
  const slug = decodeURIComponent(location.pathname.split("/")[2] ?? "");
  const params = new URLSearchParams(location.search);
  const key = params.get("key") ?? "";
  const view = params.get("view") === "leaderboard" ? "leaderboard" : "pool";
  const [channel, setChannel] = useState<Channel | null>(null);
  const [pools, setPools] = useState<Pool[]>([]);
  const [board, setBoard] = useState<Leaderboard | null>(null);
  const [result, setResult] = useState<Result | null>(null);
  const [problem, setProblem] = useState<string | null>(key ? null : "This overlay URL has no key: copy it again from the dashboard.");
  const [connected, setConnected] = useState(true);
  const now = useNow();

  useEffect(() => {
    if (!key) return;
    api<Channel>(`/api/v1/channels/by-slug/${encodeURIComponent(slug)}`, { auth: false })
      .then(setChannel)
      .catch((error: unknown) => { setProblem(describeError(error)); });
  }, [slug, key]);

  useEffect(() => {
    if (channel === null) return;
    const live = new Live({ kind: "overlay", key });
    let resultTimer: ReturnType<typeof setTimeout> | undefined;
    const showResult = (pool: Pool) => {
      const since = Date.now();
      setResult((shown) => ({ pool, winners: [], since: shown?.pool.id === pool.id ? shown.since : since }));
      clearTimeout(resultTimer);
      resultTimer = setTimeout(() => { setResult(null); }, RESULT_MS);
      if (pool.status === "settled") {
        api<{ winners: Winner[] }>(`/api/v1/pools/${pool.id}/winners?limit=3`, { auth: false })
          .then(({ winners }) => {
            setResult((shown) => (shown?.pool.id === pool.id ? { ...shown, pool, winners } : shown));
          })
          .catch(() => undefined);
      }
    };
    live.onStatus = setConnected;
    live.onEnded = (error: ErrorBody) => {
      setProblem(
        error.code === "invalid_overlay_key" || error.code === "overlay_key_revoked"
          ? "This overlay key was revoked or is not valid: create a new overlay URL in the dashboard."
          : error.message,
      );
      live.close();
    };
    live.onReady = () => {
      live
        .call<ChannelSnapshot & { ok: boolean }>("channel:join", { channel: channel.id })
        .then((snapshot) => {
          setPools(snapshot.pools);
          setBoard(snapshot.leaderboard);
          setProblem(null);
        })
        .catch((error: unknown) => { setProblem(describeError(error)); });
    };
    const socket = live.socket;
    socket.on("pool:updated", (totals: PoolTotals) => {
      setPools((list) => list.map((p) => applyTotals(p, totals)));
    });
    for (const event of ["pool:opened", "pool:locked"]) {
      socket.on(event, (pool: Pool) => {
        setPools((list) => upsert(list, pool));
      });
    }
    for (const event of ["pool:resolved", "pool:settled", "pool:cancelled", "pool:refunded"]) {
      socket.on(event, (pool: Pool) => {
        setPools((list) => upsert(list, pool));
        showResult(pool);
      });
    }
    socket.on("leaderboard:updated", (updated: Leaderboard) => { setBoard(updated); });
    return () => {
      clearTimeout(resultTimer);
      live.close();
    };
  }, [channel, key]);

  if (problem) return <p class="overlay-problem" role="alert">{problem}</p>;
  const pool = currentPool(pools);
  return (
    <main class={`overlay${connected ? "" : " offline"}`} aria-live="polite">
      {view === "leaderboard" ? (
        board && <LeaderboardCard board={board} />
      ) : result && showsResult(result, pool, now) ? (
        <ResultCard result={result} />
      ) : (
        pool && <PoolCard pool={pool} now={now} />
      )}
    </main>
  );
}

const root = document.getElementById("app");
if (root) render(<Overlay />, root);
