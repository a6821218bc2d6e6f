// What the viewer page knows about its channel, and how each snapshot and live event changes it.
// Pure: the page feeds it the `channel:join` snapshot and the events, and draws the result.
import type {
  Balance,
  BetPlaced,
  Channel,
  ChannelSnapshot,
  ChatMessage,
  Leaderboard,
  Pool,
  PoolNotice,
  PoolStatus,
  PoolTotals,
} from "../lib/types";

export interface ViewerState {
  channel: Channel | null;
  /** Pools of this visit, newest first: live ones and the ones that ended while watched. */
  pools: Pool[];
  /** When each ended pool was seen ending (ms): it shows as a result card for a while. */
  endedAt: Record<number, number>;
  /** Ended pools read from the API (the channel's recent results), newest first. */
  history: Pool[];
  balances: Record<string, number>;
  leaderboard: Leaderboard | null;
  chat: ChatMessage[];
  /** Your settlement notices (`notification`) by pool id. */
  notices: Record<number, PoolNotice>;
}

export type Action =
  | { type: "snapshot"; snapshot: ChannelSnapshot; now: number }
  | { type: "totals"; totals: PoolTotals }
  | { type: "pool"; pool: Pool; now: number }
  | { type: "history"; pools: Pool[] }
  | { type: "wallet"; balance: Balance }
  | { type: "bet"; bet: BetPlaced }
  | { type: "leaderboard"; leaderboard: Leaderboard }
  | { type: "chat"; message: ChatMessage }
  | { type: "chat-deleted"; id: string | number }
  | { type: "notice"; notice: PoolNotice };

export const EMPTY: ViewerState = {
  channel: null,
  pools: [],
  endedAt: {},
  history: [],
  balances: {},
  leaderboard: null,
  chat: [],
  notices: {},
};

/** How long an ended pool keeps its card among the live ones before joining the results. */
export const RESULT_CARD_MS = 20_000;
export const CHAT_KEPT = 200;
export const RESULTS_SHOWN = 5;

/** Lifecycle order: a late event never moves a pool back. */
const RANK: Record<PoolStatus, number> = {
  draft: 0,
  open: 1,
  locked: 2,
  resolved: 3,
  cancelled: 3,
  settled: 4,
  refunded: 4,
};

export function isLive(status: PoolStatus): boolean {
  return status === "open" || status === "locked";
}

/** Paid out: settled (winners paid) or refunded (every stake back). */
export function isPaid(status: PoolStatus): boolean {
  return status === "settled" || status === "refunded";
}

function byNewest(a: Pool, b: Pool): number {
  return b.id - a.id;
}

export function reduce(state: ViewerState, action: Action): ViewerState {
  switch (action.type) {
    case "snapshot":
      return applySnapshot(state, action.snapshot, action.now);
    case "totals":
      return {
        ...state,
        pools: state.pools.map((pool) =>
          pool.id === action.totals.id ? applyTotals(pool, action.totals) : pool,
        ),
      };
    case "pool":
      return applyPool(state, action.pool, action.now);
    case "history":
      return { ...state, history: [...action.pools].sort(byNewest) };
    case "wallet":
      return {
        ...state,
        balances: { ...state.balances, [action.balance.currency]: action.balance.balance },
      };
    case "bet":
      return applyBet(state, action.bet);
    case "leaderboard":
      return { ...state, leaderboard: action.leaderboard };
    case "chat":
      if (state.chat.some((message) => message.id === action.message.id)) return state;
      return { ...state, chat: [...state.chat, action.message].slice(-CHAT_KEPT) };
    case "chat-deleted":
      return { ...state, chat: state.chat.filter((message) => message.id !== action.id) };
    case "notice":
      return { ...state, notices: { ...state.notices, [action.notice.pool_id]: action.notice } };
  }
}

/** The snapshot is the truth about the live pools, balances, leaderboard and chat; pools that
 * ended while watched stay as results. */
function applySnapshot(state: ViewerState, snapshot: ChannelSnapshot, now: number): ViewerState {
  const live = new Set(snapshot.pools.map((pool) => pool.id));
  const ended = state.pools.filter((pool) => !isLive(pool.status) && !live.has(pool.id));
  const balances: Record<string, number> = {};
  for (const balance of snapshot.balances ?? []) balances[balance.currency] = balance.balance;
  const endedAt = { ...state.endedAt };
  for (const pool of snapshot.pools) {
    if (!isLive(pool.status)) endedAt[pool.id] ??= now;
  }
  return {
    ...state,
    channel: snapshot.channel,
    pools: [...snapshot.pools, ...ended].sort(byNewest),
    endedAt,
    balances,
    leaderboard: snapshot.leaderboard,
    chat: snapshot.chat.slice(-CHAT_KEPT),
  };
}

/** Pools the page showed as not yet paid that a fresh snapshot no longer lists: they moved on
 * while the page was away, and how they ended has to be read. */
export function vanishedPools(state: ViewerState, snapshot: ChannelSnapshot): number[] {
  const live = new Set(snapshot.pools.map((pool) => pool.id));
  return state.pools
    .filter((pool) => !isPaid(pool.status) && !live.has(pool.id))
    .map((pool) => pool.id);
}

/** `pool:updated`: new totals and multipliers (the last one carries the final totals). */
export function applyTotals(pool: Pool, totals: PoolTotals): Pool {
  const byId = new Map(totals.outcomes.map((outcome) => [outcome.id, outcome]));
  return {
    ...pool,
    status: RANK[totals.status] >= RANK[pool.status] ? totals.status : pool.status,
    total: totals.total,
    bettors: totals.bettors,
    outcomes: pool.outcomes.map((outcome) => {
      const update = byId.get(outcome.id);
      return update
        ? {
            ...outcome,
            total: update.total,
            bettors: update.bettors,
            multiplier_bps: update.multiplier_bps,
          }
        : outcome;
    }),
  };
}

/** A whole pool (`pool:opened|locked|resolved|settled|cancelled|refunded`, or read again).
 * Channel-wide events carry no position of yours: the one known is kept. */
function applyPool(state: ViewerState, pool: Pool, now: number): ViewerState {
  const known = state.pools.find((existing) => existing.id === pool.id);
  if (known && RANK[pool.status] < RANK[known.status]) return state;
  const merged: Pool = { ...pool, my_position: pool.my_position ?? known?.my_position ?? null };
  const pools = known
    ? state.pools.map((existing) => (existing.id === pool.id ? merged : existing))
    : [merged, ...state.pools].sort(byNewest);
  const endedAt =
    isLive(pool.status) || pool.id in state.endedAt
      ? state.endedAt
      : { ...state.endedAt, [pool.id]: now };
  return { ...state, pools, endedAt };
}

function applyBet(state: ViewerState, bet: BetPlaced): ViewerState {
  return {
    ...state,
    balances: { ...state.balances, [bet.currency]: bet.balance },
    pools: state.pools.map((pool) =>
      pool.id === bet.pool_id
        ? { ...pool, my_position: { outcome_id: bet.outcome_id, amount: bet.position, payout: null } }
        : pool,
    ),
  };
}

/** The pools drawn as cards (live, and ended ones for a while) and the recent results. */
export function partition(state: ViewerState, now: number): { cards: Pool[]; results: Pool[] } {
  const cards: Pool[] = [];
  const results: Pool[] = [];
  for (const pool of state.pools) {
    const endedAt = state.endedAt[pool.id];
    const showing =
      !isPaid(pool.status) || endedAt === undefined || now - endedAt < RESULT_CARD_MS;
    (showing ? cards : results).push(pool);
  }
  const seen = new Set(state.pools.map((pool) => pool.id));
  for (const pool of state.history) {
    if (!seen.has(pool.id) && isPaid(pool.status)) results.push(pool);
  }
  return { cards, results: results.sort(byNewest).slice(0, RESULTS_SHOWN) };
}

/** What you got back from a paid pool: the notice's figure, else the pool's `my_position`. */
export function payoutOf(state: ViewerState, pool: Pool): { stake: number; paid: number } | null {
  const notice = state.notices[pool.id];
  if (notice) return { stake: notice.stake, paid: notice.paid };
  const position = pool.my_position;
  if (position?.payout != null) return { stake: position.amount, paid: position.payout };
  return null;
}
