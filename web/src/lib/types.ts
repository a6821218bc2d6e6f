// The shapes the API and the Socket.IO server send (README: "API" and "Socket.IO").

export type PoolStatus =
  | "draft"
  | "open"
  | "locked"
  | "resolved"
  | "settled"
  | "cancelled"
  | "refunded";

export interface Outcome {
  id: number;
  position: number;
  label: string;
  total: number;
  bettors: number;
  /** What one unit staked on it pays back, in basis points (null while nobody bet on it). */
  multiplier_bps: number | null;
}

export interface Position {
  outcome_id: number;
  amount: number;
  payout: number | null;
}

export interface Pool {
  id: number;
  channel_id: number;
  title: string;
  currency: string;
  status: PoolStatus;
  min_stake: number;
  max_stake: number;
  rake_bps: number;
  window_seconds: number | null;
  closes_at: string | null;
  opened_at: string | null;
  locked_at: string | null;
  resolved_at: string | null;
  winning_outcome_id: number | null;
  settled_at: string | null;
  cancelled_at: string | null;
  outcomes: Outcome[];
  total: number;
  bettors: number;
  my_position?: Position | null;
}

/** `pool:updated`: the coalesced live totals, at most a few a second. */
export interface PoolTotals {
  id: number;
  channel_id: number;
  status: PoolStatus;
  total: number;
  bettors: number;
  outcomes: { id: number; total: number; bettors: number; multiplier_bps: number | null }[];
}

export interface Link {
  id: number;
  platform: string;
  external_id: string;
  verified: boolean;
  status: string;
}

export interface Channel {
  id: number;
  slug: string;
  name: string;
  owner_id: number;
  cash_enabled: boolean;
  twitch_moderators_run_pools: boolean;
  links: Link[];
  created_at: string;
}

export interface UserProfile {
  id: number;
  email: string | null;
  display_name: string;
  role: string;
  created_at: string;
}

export interface AuthSession {
  user: UserProfile;
  access_token: string;
  refresh_token: string;
  expires_in: number;
  token_type: string;
}

export interface Balance {
  currency: string;
  balance: number;
}

export interface LeaderboardRow {
  rank: number;
  user_id: number;
  display_name: string;
  net: number;
  wins: number;
}

export interface Leaderboard {
  channel_id: number;
  currency: string;
  period: string;
  rows: LeaderboardRow[];
}

export interface ChatMessage {
  id: number | string;
  channel_id: number;
  user_id: number | null;
  display_name: string;
  platform: string;
  text: string;
  sent_at: string;
  badges?: string[];
}

export interface BetPlaced {
  pool_id: number;
  bet_id: number;
  outcome_id: number;
  placed: number;
  position: number;
  currency: string;
  balance: number;
}

/** A notification in your inbox; the `notification` socket event carries the same. */
export interface Notification {
  id: number;
  kind: string;
  title: string;
  body: string;
  link: string | null;
  channel_id: number | null;
  pool_id: number | null;
  data: Record<string, unknown>;
  created_at: string;
  read_at: string | null;
}

export interface NotificationPage {
  notifications: Notification[];
  unread: number;
  next_cursor: string | null;
}

/** What the page keeps of your result in a paid pool (from its `notification`). */
export interface PoolNotice {
  kind: string;
  pool_id: number;
  channel_id: number;
  title: string;
  currency: string;
  stake: number;
  paid: number;
}

/** The `channel:join` acknowledgement: everything a page needs to draw the channel at once. */
export interface ChannelSnapshot {
  channel: Channel;
  pools: Pool[];
  balances?: Balance[];
  leaderboard: Leaderboard;
  chat: ChatMessage[];
}

/** Every error the API or the socket answers: a stable code and a sentence for people. */
export interface ErrorBody {
  code: string;
  message: string;
  request_id?: string;
  details?: Record<string, unknown>;
}
