// The channel's platforms (Twitch, Kick, YouTube), each with its links and their state. The
// owner links (or relinks) each through the platform's own sign-in (OAuth), which comes back
// here with the outcome in the URL fragment, and removes links; a platform whose app this
// server lacks is shown with its button disabled and why.
import { useEffect, useState } from "preact/hooks";

import { api } from "../lib/api";
import { describe } from "../lib/errors";
import { ConfirmDialog } from "./dialog";
import {
  linkAction,
  linkText,
  oauthOutcome,
  pausedText,
  platformName,
  platformRows,
  type LinkState,
  type PlatformApp,
  type PlatformName,
  type PlatformRow,
} from "./platform-links";
import { useAnnounce } from "./status";
import type { StaffChannel } from "./types";

export function PlatformsPanel({ channel, onChannel }: { channel: StaffChannel; onChannel: (channel: StaffChannel) => void }) {
  const announce = useAnnounce();
  const owner = channel.role === "owner";
  const [apps, setApps] = useState<PlatformApp[] | null>(null);
  // The owner's view of the links (who proved each, YouTube's pause); the public one else.
  const [states, setStates] = useState<LinkState[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState<PlatformName | null>(null);
  const [removing, setRemoving] = useState<LinkState | null>(null);

  const loadStates = () => {
    if (!owner) return;
    api<{ links: LinkState[] }>(`/api/v1/channels/${channel.id}/links`).then(
      (body) => { setStates(body.links); },
      (caught: unknown) => { setError(describe(caught)); },
    );
  };

  useEffect(() => {
    api<{ platforms: PlatformApp[] }>("/api/v1/platforms", { auth: false }).then(
      (body) => { setApps(body.platforms); },
      (caught: unknown) => { setError(describe(caught)); },
    );
    loadStates();
    const outcome = oauthOutcome(location.search, location.hash);
    if (location.search || location.hash) history.replaceState(null, "", location.pathname);
    if (outcome === null) return;
    if (outcome.ok) setNotice(outcome.text);
    else setError(outcome.text);
    announce(outcome.text, outcome.ok ? "ok" : "error");
    api<StaffChannel>(`/api/v1/channels/${channel.id}`).then(
      (fresh) => { onChannel({ ...fresh, role: channel.role }); },
      () => undefined,
    );
  }, [channel.id]);

  const link = async (row: PlatformRow) => {
    setBusy(row.platform);
    setError(null);
    try {
      const started = await api<{ authorize_url: string }>(`/api/v1/auth/${row.platform}/start`, {
        method: "POST",
        body: {
          purpose: "link_channel",
          channel_id: channel.id,
          return_to: `${location.pathname}?linked=${row.platform}`,
        },
      });
      location.assign(started.authorize_url);
    } catch (caught) {
      setError(describe(caught));
      setBusy(null);
    }
  };

  const remove = async () => {
    if (removing === null) return;
    try {
      await api(`/api/v1/channels/${channel.id}/links/${removing.id}`, { method: "DELETE" });
      onChannel({ ...channel, links: channel.links.filter((l) => l.id !== removing.id) });
      setStates((current) => current?.filter((l) => l.id !== removing.id) ?? null);
      announce(`${platformName(removing.platform)} link removed.`);
    } catch (caught) {
      setError(describe(caught));
    } finally {
      setRemoving(null);
    }
  };

  const rows = platformRows(apps, states ?? channel.links);

  return (
    <section class="panel" aria-labelledby="platforms-title">
      <h2 id="platforms-title">Platforms</h2>
      <p class="muted">
        A verified link lets pools follow your stream on that platform, its chat bet with !bet, and automations run.
      </p>
      {notice ? <p class="ok">{notice}</p> : null}
      {error ? <p class="error" role="alert">{error}</p> : null}
      <ul class="platforms">
        {rows.map((row) => (
          <PlatformItem
            key={row.platform}
            row={row}
            owner={owner}
            busy={busy}
            onLink={(r) => void link(r)}
            onRemove={setRemoving}
          />
        ))}
      </ul>
      {owner ? null : <p class="muted">Only the channel's owner links platforms, with their own platform account.</p>}
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

function PlatformItem({
  row,
  owner,
  busy,
  onLink,
  onRemove,
}: {
  row: PlatformRow;
  owner: boolean;
  busy: PlatformName | null;
  onLink: (row: PlatformRow) => void;
  onRemove: (link: LinkState) => void;
}) {
  const titleId = `platform-${row.platform}`;
  const reasonId = `platform-${row.platform}-reason`;
  const unconfigured = row.configured === false;
  return (
    <li class={`platform platform-${row.platform}`} aria-labelledby={titleId}>
      <div class="platform-head">
        <h3 id={titleId}>{row.name}</h3>
        {row.links.length === 0 ? <span class="badge link-none">Not linked</span> : null}
      </div>
      {row.links.length > 0 ? (
        <ul class="rows">
          {row.links.map((l) => (
            <li key={l.id}>
              <span class="link-state">
                <span class={`badge link-${l.status}`}>{linkText(l)}</span>
                {l.quota_paused_until ? <span class="paused">{pausedText(l.quota_paused_until)}</span> : null}
              </span>
              {owner ? (
                <button
                  type="button"
                  class="danger"
                  onClick={() => { onRemove(l); }}
                  aria-label={`Remove the ${row.name} link ${l.login ?? l.external_id}`}
                >
                  Remove
                </button>
              ) : null}
            </li>
          ))}
        </ul>
      ) : null}
      {owner ? (
        <div class="platform-actions">
          <button
            type="button"
            class={`primary ${row.platform}`}
            disabled={busy !== null || row.configured !== true}
            aria-describedby={unconfigured ? reasonId : undefined}
            onClick={() => { onLink(row); }}
          >
            {busy === row.platform ? `Going to ${row.name}…` : linkAction(row)}
          </button>
          {unconfigured ? (
            <span class="muted" id={reasonId}>
              {row.name} isn't set up on this server (its app's client id and secret).
            </span>
          ) : null}
        </div>
      ) : null}
    </li>
  );
}
