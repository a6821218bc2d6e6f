import { describe, expect, it } from "vitest";

import type { Notification } from "../lib/types";
import { bellLabel, EMPTY_INBOX, inboxReduce } from "./inbox";

function note(id: number, read = false): Notification {
  return {
    id,
    kind: "pool.won",
    title: `n${id}`,
    body: "",
    link: null,
    channel_id: 1,
    pool_id: 1,
    data: {},
    created_at: "2026-01-01T00:00:00Z",
    read_at: read ? "2026-01-01T00:01:00Z" : null,
  };
}

describe("the inbox", () => {
  it("keeps pages newest first, live ones on top, no duplicates", () => {
    let state = inboxReduce(EMPTY_INBOX, { type: "live", notification: note(5) });
    state = inboxReduce(state, {
      type: "page",
      first: true,
      page: { notifications: [note(5), note(4), note(3)], unread: 3, next_cursor: "3" },
    });
    state = inboxReduce(state, {
      type: "page",
      first: false,
      page: { notifications: [note(2), note(1, true)], unread: 3, next_cursor: null },
    });
    expect(state.items.map((n) => n.id)).toEqual([5, 4, 3, 2, 1]);
    expect(state.nextCursor).toBeNull();
    state = inboxReduce(state, { type: "live", notification: note(6) });
    state = inboxReduce(state, { type: "live", notification: note(6) });
    expect(state.items[0]?.id).toBe(6);
    expect(state.unread).toBe(4);
  });

  it("counts reads once and all at once", () => {
    let state = inboxReduce(EMPTY_INBOX, {
      type: "page",
      first: true,
      page: { notifications: [note(2), note(1)], unread: 2, next_cursor: null },
    });
    state = inboxReduce(state, { type: "read", notification: note(2, true) });
    state = inboxReduce(state, { type: "read", notification: note(2, true) });
    expect(state.unread).toBe(1);
    state = inboxReduce(state, { type: "read-all", at: "2026-01-01T00:02:00Z" });
    expect(state.unread).toBe(0);
    expect(state.items.every((n) => n.read_at !== null)).toBe(true);
  });

  it("names the bell with its count", () => {
    expect(bellLabel(0)).toBe("Notifications, none unread");
    expect(bellLabel(3)).toBe("Notifications, 3 unread");
  });
});
