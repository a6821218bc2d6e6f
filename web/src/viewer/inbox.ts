// The inbox's state, as a pure reducer: pages read from the API, live notifications, reads.
import type { Notification, NotificationPage } from "../lib/types";

export interface InboxState {
  /** Newest first, no duplicates. */
  items: Notification[];
  unread: number;
  nextCursor: string | null;
  loaded: boolean;
}

export const EMPTY_INBOX: InboxState = { items: [], unread: 0, nextCursor: null, loaded: false };

export type InboxAction =
  | { type: "page"; page: NotificationPage; first: boolean }
  | { type: "live"; notification: Notification }
  | { type: "read"; notification: Notification }
  | { type: "read-all"; at: string };

export function inboxReduce(state: InboxState, action: InboxAction): InboxState {
  switch (action.type) {
    case "page": {
      const items = action.first ? [] : state.items;
      const known = new Set(items.map((n) => n.id));
      const more = action.page.notifications.filter((n) => !known.has(n.id));
      // Live ones that arrived before the first page stay on top.
      const live = action.first ? state.items.filter((n) => !more.some((m) => m.id === n.id)) : [];
      return {
        items: sortNewest([...live, ...items, ...more]),
        unread: action.page.unread,
        nextCursor: action.page.next_cursor,
        loaded: true,
      };
    }
    case "live":
      if (state.items.some((n) => n.id === action.notification.id)) return state;
      return {
        ...state,
        items: sortNewest([action.notification, ...state.items]),
        unread: state.unread + (action.notification.read_at ? 0 : 1),
      };
    case "read": {
      const before = state.items.find((n) => n.id === action.notification.id);
      const wasUnread = before ? before.read_at === null : false;
      return {
        ...state,
        items: state.items.map((n) => (n.id === action.notification.id ? action.notification : n)),
        unread: Math.max(0, state.unread - (wasUnread ? 1 : 0)),
      };
    }
    case "read-all":
      return {
        ...state,
        items: state.items.map((n) => (n.read_at ? n : { ...n, read_at: action.at })),
        unread: 0,
      };
  }
}

function sortNewest(items: Notification[]): Notification[] {
  return [...items].sort((a, b) => b.id - a.id);
}

/** The bell's accessible name: what it is and how many are unread. */
export function bellLabel(unread: number): string {
  if (unread === 0) return "Notifications, none unread";
  return `Notifications, ${unread} unread`;
}
