// Joining the channel (its sign-up points) and the daily bonus, for a signed-in viewer.
import { useEffect, useState } from "preact/hooks";

import { api } from "../lib/api";
import { ApiError, describe } from "../lib/errors";
import { countdown, formatAmount } from "../lib/format";
import type { Channel } from "../lib/types";
import { useNow } from "./hooks";
import type { Action } from "./state";

interface Membership {
  channel_id: number;
  currency: string;
  balance: number;
  next_bonus_at: string | null;
}

type Status = { kind: "loading" } | { kind: "outsider" } | { kind: "member"; membership: Membership };

export function MembershipBar({
  channel,
  userId,
  dispatch,
}: {
  channel: Channel;
  userId: number;
  dispatch: (action: Action) => void;
}) {
  const [status, setStatus] = useState<Status>({ kind: "loading" });
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const now = useNow();

  useEffect(() => {
    let current = true;
    setStatus({ kind: "loading" });
    api<Membership>(`/api/v1/channels/${channel.id}/members/me`)
      .then((membership) => {
        if (current) setStatus({ kind: "member", membership });
      })
      .catch((caught: unknown) => {
        if (!current) return;
        if (caught instanceof ApiError && caught.code === "not_a_member") {
          setStatus({ kind: "outsider" });
        } else {
          setError(describe(caught));
        }
      });
    return () => {
      current = false;
    };
  }, [channel.id, userId]);

  const act = async (path: "join" | "daily-bonus", done: (m: Membership) => string) => {
    setBusy(true);
    setError(null);
    setMessage(null);
    try {
      const membership = await api<Membership>(`/api/v1/channels/${channel.id}/${path}`, {
        method: "POST",
      });
      dispatch({
        type: "wallet",
        balance: { currency: membership.currency, balance: membership.balance },
      });
      setStatus({ kind: "member", membership });
      setMessage(done(membership));
    } catch (caught) {
      setError(describe(caught));
    } finally {
      setBusy(false);
    }
  };

  if (status.kind === "loading" && error === null) return null;
  const wait = status.kind === "member" ? countdown(status.membership.next_bonus_at, now) : null;
  return (
    <section class="membership" aria-label="Your membership">
      {status.kind === "outsider" && (
        <>
          <p>Join {channel.name} to get your sign-up points and bet.</p>
          <button
            type="button"
            class="primary"
            disabled={busy}
            onClick={() =>
              void act("join", (m) => `Welcome! You have ${formatAmount(m.balance, m.currency)}.`)
            }
          >
            Join channel
          </button>
        </>
      )}
      {status.kind === "member" && (
        <button
          type="button"
          disabled={busy || wait !== null}
          onClick={() =>
            void act(
              "daily-bonus",
              (m) => `Daily bonus claimed: you now have ${formatAmount(m.balance, m.currency)}.`,
            )
          }
        >
          {wait === null ? "Claim daily bonus" : `Next daily bonus in ${wait}`}
        </button>
      )}
      <p class="good" role="status">
        {message}
      </p>
      <p class="error" role="alert">
        {error}
      </p>
    </section>
  );
}
