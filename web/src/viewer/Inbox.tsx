// Your notification inbox: a bell with the unread count, and a panel listing notifications
// (newest first, more on demand) that can be marked read, one or all; live ones arrive through
// the page's socket (`notification`).
import { useCallback, useEffect, useReducer, useRef, useState } from "preact/hooks";

import { api } from "../lib/api";
import { describe } from "../lib/errors";
import type { Notification, NotificationPage } from "../lib/types";
import { bellLabel, EMPTY_INBOX, inboxReduce } from "./inbox";

const PAGE = 20;

export function Inbox({ incoming }: { incoming: Notification | null }) {
  const [state, dispatch] = useReducer(inboxReduce, EMPTY_INBOX);
  const [open, setOpen] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const bell = useRef<HTMLButtonElement>(null);
  const panel = useRef<HTMLDivElement>(null);

  const load = useCallback(async (cursor: string | null) => {
    setBusy(true);
    try {
      const query = cursor ? `?limit=${PAGE}&cursor=${encodeURIComponent(cursor)}` : `?limit=${PAGE}`;
      const page = await api<NotificationPage>(`/api/v1/me/notifications${query}`);
      dispatch({ type: "page", page, first: cursor === null });
      setProblem(null);
    } catch (error) {
      setProblem(describe(error));
    } finally {
      setBusy(false);
    }
  }, []);

  useEffect(() => {
    void load(null);
  }, [load]);

  useEffect(() => {
    if (incoming) dispatch({ type: "live", notification: incoming });
  }, [incoming]);

  const close = useCallback(() => {
    setOpen(false);
    bell.current?.focus();
  }, []);

  useEffect(() => {
    if (!open) return;
    panel.current?.querySelector<HTMLElement>("h2")?.focus();
    // Escape closes it wherever the focus is (a "Mark read" button just pressed is gone).
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape") close();
    };
    document.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("keydown", onKey);
    };
  }, [open, close]);

  const markRead = async (notification: Notification) => {
    try {
      const read = await api<Notification>(`/api/v1/me/notifications/${notification.id}/read`, {
        method: "POST",
      });
      dispatch({ type: "read", notification: read });
    } catch (error) {
      setProblem(describe(error));
    }
  };

  const markAll = async () => {
    try {
      await api(`/api/v1/me/notifications/read-all`, { method: "POST" });
      dispatch({ type: "read-all", at: new Date().toISOString() });
    } catch (error) {
      setProblem(describe(error));
    }
  };

  return (
    <div class="inbox">
      <button
        ref={bell}
        type="button"
        class="bell"
        aria-label={bellLabel(state.unread)}
        aria-expanded={open}
        aria-controls="inbox-panel"
        data-testid="bell"
        onClick={() => {
          if (open) close();
          else setOpen(true);
        }}
      >
        <svg
          aria-hidden="true"
          width="18"
          height="18"
          viewBox="0 0 24 24"
          fill="none"
          stroke="currentColor"
          stroke-width="2"
          stroke-linecap="round"
          stroke-linejoin="round"
        >
          <path d="M18 8a6 6 0 0 0-12 0c0 7-3 9-3 9h18s-3-2-3-9" />
          <path d="M13.73 21a2 2 0 0 1-3.46 0" />
        </svg>
        {state.unread > 0 && (
          <span class="count" aria-hidden="true" data-testid="unread">
            {state.unread > 99 ? "99+" : state.unread}
          </span>
        )}
      </button>
      {open && (
        <div
          id="inbox-panel"
          ref={panel}
          class="inbox-panel panel"
          role="region"
          aria-labelledby="inbox-heading"
        >
          <div class="inbox-head">
            <h2 id="inbox-heading" tabIndex={-1}>
              Notifications
            </h2>
            <button type="button" disabled={state.unread === 0} onClick={() => void markAll()}>
              Mark all read
            </button>
            <button type="button" class="close" aria-label="Close notifications" onClick={close}>
              ×
            </button>
          </div>
          {problem && (
            <p class="error" role="alert">
              {problem}
            </p>
          )}
          {state.loaded && state.items.length === 0 && <p class="muted">Nothing yet.</p>}
          <ul class="inbox-list" aria-label="Notifications, newest first">
            {state.items.map((notification) => (
              <InboxItem
                key={notification.id}
                notification={notification}
                onRead={() => void markRead(notification)}
              />
            ))}
          </ul>
          {state.nextCursor && (
            <button type="button" disabled={busy} onClick={() => void load(state.nextCursor)}>
              Load more
            </button>
          )}
        </div>
      )}
    </div>
  );
}

function InboxItem({ notification, onRead }: { notification: Notification; onRead: () => void }) {
  const unread = notification.read_at === null;
  const when = new Date(notification.created_at);
  return (
    <li class={unread ? "unread" : "read"} data-testid="notification" data-kind={notification.kind}>
      <div class="text">
        <strong>
          {unread && <span class="visually-hidden">Unread: </span>}
          {notification.title}
        </strong>
        <span>{notification.body}</span>
        <time dateTime={notification.created_at} class="muted">
          {when.toLocaleString()}
        </time>
      </div>
      {unread && (
        <button type="button" onClick={onRead} aria-label={`Mark “${notification.title}” read`}>
          Mark read
        </button>
      )}
    </li>
  );
}
