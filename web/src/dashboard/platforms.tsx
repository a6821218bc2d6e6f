// The channel's platform links and their status; the owner links Twitch through Twitch's own
// sign-in (OAuth), which comes back here with the outcome in the URL fragment.
import { useEffect, useState } from "preact/hooks";

import { api } from "../lib/api";
import { describe } from "../lib/errors";
import type { Link } from "../lib/types";
import { ConfirmDialog } from "./dialog";
import { useAnnounce } from "./status";
import type { StaffChannel } from "./types";

const STATUS_TEXT: Record<string, string> = {
  verified: "Verified",
  unverified: "Not verified",
  needs_relink: "Needs relinking: sign in with the platform again",
};

const PLATFORM_TEXT: Record<string, string> = { twitch: "Twitch", kick: "Kick", youtube: "YouTube" };

/** The outcome of a Twitch sign-in, read from the fragment it came back with. */
export function oauthOutcome(hash: string): { ok: boolean; text: string } | null {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const purpose = params.get("purpose");
  const error = params.get("error");
  if (error !== null) {
    return { ok: false, text: params.get("error_description") ?? `Twitch sign-in failed (${error}).` };
  }
  if (purpose === "link_channel") {
    const login = params.get("login");
    return { ok: true, text: login ? `Linked to the Twitch channel ${login}.` : "Twitch channel linked." };
  }
  return null;
}

export function PlatformsPanel({ channel, onChannel }: { channel: StaffChannel; onChannel: (channel: StaffChannel) => void }) {
  const announce = useAnnounce();
  const owner = channel.role === "owner";
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [removing, setRemoving] = useState<Link | null>(null);

  useEffect(() => {
    const outcome = oauthOutcome(location.hash);
    if (outcome === null) return;
    history.replaceState(null, "", location.pathname);
    if (outcome.ok) setNotice(outcome.text);
    else setError(outcome.text);
    announce(outcome.text, outcome.ok ? "ok" : "error");
    api<StaffChannel>(`/api/v1/channels/${channel.id}`).then(
      (fresh) => { onChannel({ ...fresh, role: channel.role }); },
      () => undefined,
    );
  }, []);

  const linkTwitch = async () => {
    setBusy(true);
    setError(null);
    try {
      const started = await api<{ authorize_url: string }>("/api/v1/auth/twitch/start", {
        method: "POST",
        body: { purpose: "link_channel", channel_id: channel.id, return_to: location.pathname },
      });
      location.assign(started.authorize_url);
    } catch (caught) {
      setError(describe(caught));
      setBusy(false);
    }
  };

  const remove = async () => {
    if (removing === null) return;
    try {
      await api(`/api/v1/channels/${channel.id}/links/${removing.id}`, { method: "DELETE" });
      onChannel({ ...channel, links: channel.links.filter((l) => l.id !== removing.id) });
      announce("Platform link removed.");
    } catch (caught) {
      setError(describe(caught));
    } finally {
      setRemoving(null);
    }
  };

  return (
    <section class="panel" aria-labelledby="platforms-title">
      <h2 id="platforms-title">Platforms</h2>
      <p class="muted">A verified Twitch link lets pools follow your stream, chat bet with !bet, and automations run.</p>
      {notice ? <p class="ok">{notice}</p> : null}
      {channel.links.length === 0 ? <p class="muted">No platform linked yet.</p> : (
        <ul class="rows">
          {channel.links.map((link) => (
            <li key={link.id}>
              <span>
                <strong>{PLATFORM_TEXT[link.platform] ?? link.platform}</strong> <span class="muted">{link.external_id}</span>{" "}
                <span class={`badge link-${link.status}`}>{STATUS_TEXT[link.status] ?? link.status}</span>
              </span>
              {owner ? (
                <button type="button" class="danger" onClick={() => { setRemoving(link); }} aria-label={`Remove the ${PLATFORM_TEXT[link.platform] ?? link.platform} link`}>
                  Remove
                </button>
              ) : null}
            </li>
          ))}
        </ul>
      )}
      {error ? <p class="error" role="alert">{error}</p> : null}
      {owner ? (
        <button type="button" class="primary twitch" disabled={busy} onClick={() => void linkTwitch()}>
          {busy ? "Going to Twitch…" : channel.links.some((l) => l.platform === "twitch") ? "Relink Twitch" : "Link Twitch"}
        </button>
      ) : (
        <p class="muted">Only the channel's owner links platforms, with their own platform account.</p>
      )}
      <ConfirmDialog
        open={removing !== null}
        title="Remove this link?"
        confirmLabel="Remove link"
        danger
        onConfirm={() => void remove()}
        onClose={() => { setRemoving(null); }}
      >
        <p>Pools will stop following this platform's stream and chat.</p>
      </ConfirmDialog>
    </section>
  );
}
