// One channel, live: its pools to bet on, your wallet, the leaderboard and the merged chat.
import { useCallback, useState } from "preact/hooks";

import { signOut } from "../lib/session";
import type { Channel, Notification, PoolNotice } from "../lib/types";
import { AuthDialog } from "./AuthDialog";
import { Chat } from "./Chat";
import { useNow, useSession } from "./hooks";
import { Inbox } from "./Inbox";
import { LeaderboardPanel } from "./LeaderboardPanel";
import { MembershipBar } from "./MembershipBar";
import { PoolCard } from "./PoolCard";
import { Results } from "./Results";
import { partition } from "./state";
import { noticeText, Toasts, type Toast } from "./Toasts";
import { useLive } from "./useLive";
import { useStaff } from "./useStaff";
import { WalletBadge } from "./WalletBadge";

export function ChannelPage({ channel: found }: { channel: Channel }) {
  const session = useSession();
  const userId = session?.user.id ?? null;
  const [toasts, setToasts] = useState<Toast[]>([]);
  const [signInReason, setSignInReason] = useState<string | null>(null);

  const onNotice = useCallback((notice: PoolNotice) => {
    const toast = { id: `${notice.kind}:${notice.pool_id}`, text: noticeText(notice) };
    setToasts((shown) => [...shown.filter((t) => t.id !== toast.id), toast]);
  }, []);
  const [incoming, setIncoming] = useState<Notification | null>(null);
  const { state, dispatch, live, connection, problem } = useLive(
    found.id,
    userId,
    onNotice,
    setIncoming,
  );
  const channel = state.channel ?? found;
  const staff = useStaff(channel, userId);
  const now = useNow();
  const { cards, results } = partition(state, now);
  const askSignIn = (reason: string) => {
    setSignInReason(reason);
  };
  const dismiss = useCallback((id: string) => {
    setToasts((shown) => shown.filter((t) => t.id !== id));
  }, []);

  return (
    <div class="viewer">
      <header class="top">
        <div class="brand">
          <a class="home" href="/" aria-label="streampools home">
            streampools
          </a>
          <h1>{channel.name}</h1>
          <ConnectionPill connection={connection} />
        </div>
        <div class="account">
          {session ? (
            <>
              <WalletBadge
                channel={channel}
                balances={state.balances}
                currencies={state.pools.map((pool) => pool.currency)}
              />
              <Inbox key={session.user.id} incoming={incoming} />
              <span class="who muted">{session.user.display_name}</span>
              <button type="button" onClick={() => void signOut()}>
                Sign out
              </button>
            </>
          ) : (
            <button
              type="button"
              class="primary"
              onClick={() => {
                askSignIn("Sign in to bet and chat.");
              }}
            >
              Sign in
            </button>
          )}
        </div>
      </header>

      {problem && (
        <p class="banner error" role="alert">
          {problem}
        </p>
      )}
      {session && (
        <MembershipBar channel={channel} userId={session.user.id} dispatch={dispatch} />
      )}

      <div class="layout">
        <main class="pools" aria-labelledby="pools-heading">
          <h2 id="pools-heading">Pools</h2>
          {cards.length === 0 && (
            <p class="panel muted">
              {connection === "live" ? "No pool is running right now." : "Loading the pools…"}
            </p>
          )}
          {cards.map((pool) => (
            <PoolCard
              key={pool.id}
              pool={pool}
              state={state}
              now={now}
              live={live}
              dispatch={dispatch}
              signedIn={session !== null}
              onNeedSignIn={() => {
                askSignIn("Sign in to place your bet.");
              }}
            />
          ))}
          <Results pools={results} state={state} />
        </main>
        <aside class="side">
          <LeaderboardPanel leaderboard={state.leaderboard} myUserId={userId} />
          <Chat
            channel={channel}
            messages={state.chat}
            live={live}
            dispatch={dispatch}
            myUserId={userId}
            staff={staff}
            onNeedSignIn={() => {
              askSignIn("Sign in to chat.");
            }}
          />
        </aside>
      </div>

      <AuthDialog
        reason={signInReason}
        onClose={() => {
          setSignInReason(null);
        }}
      />
      <Toasts toasts={toasts} onDismiss={dismiss} />
    </div>
  );
}

function ConnectionPill({ connection }: { connection: "connecting" | "live" | "reconnecting" }) {
  const text = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…" }[
    connection
  ];
  return (
    <span class={`pill ${connection}`} role="status" data-connection={connection}>
      {text}
    </span>
  );
}
