// The viewer page of one channel, `/c/<slug>`: finds the channel, then shows it live.
import { useEffect, useState } from "preact/hooks";

import { api } from "../lib/api";
import { ApiError, describe } from "../lib/errors";
import type { Channel } from "../lib/types";
import { ChannelPage } from "./ChannelPage";

export function slugFromPath(path: string): string | null {
  const match = /^\/c\/([^/]+)\/?$/.exec(path);
  return match?.[1] ? decodeURIComponent(match[1]) : null;
}

type Lookup =
  | { kind: "loading" }
  | { kind: "found"; channel: Channel }
  | { kind: "missing" }
  | { kind: "failed"; message: string };

export function App() {
  const slug = slugFromPath(location.pathname);
  const [lookup, setLookup] = useState<Lookup>({ kind: "loading" });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    if (slug === null) {
      setLookup({ kind: "missing" });
      return;
    }
    api<Channel>(`/api/v1/channels/by-slug/${encodeURIComponent(slug)}`, { auth: false })
      .then((channel) => {
        document.title = `${channel.name} · streampools`;
        setLookup({ kind: "found", channel });
      })
      .catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 404) setLookup({ kind: "missing" });
        else setLookup({ kind: "failed", message: describe(error) });
      });
  }, [slug, attempt]);

  switch (lookup.kind) {
    case "loading":
      return (
        <main class="viewer notice-page" aria-busy="true">
          <p class="muted">Loading the channel…</p>
        </main>
      );
    case "missing":
      return (
        <main class="viewer notice-page">
          <h1>No such channel</h1>
          <p class="muted">
            There is no channel at <strong>{slug ? `/c/${slug}` : location.pathname}</strong>.
            Check the link the streamer shared.
          </p>
          <p>
            <a href="/">Go to the home page</a>
          </p>
        </main>
      );
    case "failed":
      return (
        <main class="viewer notice-page">
          <h1>Can't load this channel</h1>
          <p role="alert" class="error">
            {lookup.message}
          </p>
          <button
            type="button"
            onClick={() => {
              setLookup({ kind: "loading" });
              setAttempt((n) => n + 1);
            }}
          >
            Try again
          </button>
        </main>
      );
    case "found":
      return <ChannelPage channel={lookup.channel} />;
  }
}
