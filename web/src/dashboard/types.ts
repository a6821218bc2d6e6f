// Shapes of the API the dashboard alone reads (the shared ones are in ../lib/types).
import type { Channel, PoolStatus } from "../lib/types";

export type Role = "owner" | "moderator";

export interface StaffChannel extends Channel {
  role: Role;
}

export interface Template {
  id: number;
  channel_id: number;
  name: string;
  title: string;
  outcomes: string[];
  currency: string;
  window_seconds: number;
  min_stake: number;
  max_stake: number;
  rake_bps: number | null;
}

export interface PoolBet {
  id: number;
  user_id: number;
  display_name: string;
  outcome_id: number;
  amount: number;
  payout: number | null;
  placed_at: string;
  updated_at: string;
}

export interface PoolBetPage {
  pool_id: number;
  currency: string;
  bets: PoolBet[];
  next_cursor: string | null;
}

export interface Moderator {
  user_id: number;
  display_name: string;
  added_by: number;
  created_at: string;
}

export interface MemberMatch {
  user_id: number;
  display_name: string;
  joined_at: string;
}

export const FINISHED: PoolStatus[] = ["resolved", "settled", "cancelled", "refunded"];
