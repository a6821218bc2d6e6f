// Overlay keys (the overlay page's credentials): the API's shapes and the URLs shown.

export interface OverlayKey {
  id: number;
  label: string;
  key_prefix: string;
  created_at: string;
  created_by: number;
  revoked_at: string | null;
  last_used_at: string | null;
}

/** The answer to creating a key: the key and URL are shown this once. */
export interface CreatedOverlayKey {
  id: number;
  channel_id: number;
  label: string;
  key: string;
  key_prefix: string;
  url: string;
  created_at: string;
}

/** The same overlay showing the channel's leaderboard instead of the live pool. */
export function leaderboardUrl(url: string): string {
  return `${url}${url.includes("?") ? "&" : "?"}view=leaderboard`;
}
