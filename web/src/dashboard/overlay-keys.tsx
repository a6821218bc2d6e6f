// Overlay URLs for OBS (browser sources): keys created with a label, the URL shown once with a
// Copy button, listed by prefix, revoked after a confirmation.
import { useEffect, useRef, useState } from "preact/hooks";

import { api } from "../lib/api";
import { ApiError, describe } from "../lib/errors";
import { ConfirmDialog } from "./dialog";
import { Field } from "./field";
import { leaderboardUrl, type CreatedOverlayKey, type OverlayKey } from "./overlay";
import { useAnnounce } from "./status";
import type { StaffChannel } from "./types";

function overlayError(error: unknown): string {
  if (error instanceof ApiError && (error.status === 404 || error.status === 405) && error.code !== "channel_not_found") {
    return "Overlay URLs aren't available on this server yet.";
  }
  return describe(error);
}

export function OverlayPanel({ channel }: { channel: StaffChannel }) {
  const announce = useAnnounce();
  const base = `/api/v1/channels/${channel.id}/overlay-keys`;
  const [keys, setKeys] = useState<OverlayKey[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [label, setLabel] = useState("");
  const [labelError, setLabelError] = useState<string | undefined>(undefined);
  const [created, setCreated] = useState<CreatedOverlayKey | null>(null);
  const [revoking, setRevoking] = useState<OverlayKey | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api<{ overlay_keys: OverlayKey[] }>(base).then(
      (body) => { setKeys(body.overlay_keys); },
      (caught: unknown) => { setError(overlayError(caught)); },
    );
  }, [base]);

  const create = async (event: Event) => {
    event.preventDefault();
    if (label.trim() === "") {
      setLabelError("Name it after where it goes, e.g. “OBS main scene”.");
      return;
    }
    setLabelError(undefined);
    setBusy(true);
    setError(null);
    try {
      const key = await api<CreatedOverlayKey>(base, { method: "POST", body: { label: label.trim() } });
      setCreated(key);
      setKeys([{ id: key.id, label: key.label, key_prefix: key.key_prefix, created_at: key.created_at, created_by: 0, revoked_at: null, last_used_at: null }, ...(keys ?? [])]);
      setLabel("");
      announce(`Overlay URL “${key.label}” created. Copy it now: it is shown only once.`);
    } catch (caught) {
      setError(overlayError(caught));
    } finally {
      setBusy(false);
    }
  };

  const revoke = async () => {
    if (revoking === null) return;
    setBusy(true);
    try {
      await api(`${base}/${revoking.id}`, { method: "DELETE" });
      setKeys((keys ?? []).map((k) => (k.id === revoking.id ? { ...k, revoked_at: new Date().toISOString() } : k)));
      if (created?.id === revoking.id) setCreated(null);
      announce(`Overlay URL “${revoking.label}” revoked: overlays using it stop updating.`);
    } catch (caught) {
      setError(overlayError(caught));
    } finally {
      setBusy(false);
      setRevoking(null);
    }
  };

  return (
    <div class="grid-2">
      <section class="panel" aria-labelledby="overlay-title">
        <h2 id="overlay-title">Overlay URLs</h2>
        <p class="muted">Add one as a browser source in OBS: it shows the live pool (or the leaderboard) on stream. Each URL carries a secret key: revoke it if it leaks.</p>
        {error ? <p class="error" role="alert">{error}</p> : null}
        {created ? (
          <div class="once" role="group" aria-label="Your new overlay URL">
            <p><strong>Copy this URL now.</strong> It can't be shown again; if you lose it, create another and revoke this one.</p>
            <CopyField label="Live pool overlay" value={created.url} />
            <CopyField label="Leaderboard overlay" value={leaderboardUrl(created.url)} />
            <button type="button" onClick={() => { setCreated(null); }}>I've copied it</button>
          </div>
        ) : null}
        {keys?.length === 0 ? <p class="muted">No overlay URLs yet.</p> : null}
        {keys && keys.length > 0 ? (
          <ul class="rows">
            {keys.map((key) => (
              <li key={key.id}>
                <span>
                  <strong>{key.label}</strong> <code>{key.key_prefix}…</code>{" "}
                  <span class="muted">
                    {key.revoked_at ? "revoked" : key.last_used_at ? `last used ${new Date(key.last_used_at).toLocaleString()}` : "never used"}
                  </span>
                </span>
                {key.revoked_at ? null : (
                  <button type="button" class="danger" onClick={() => { setRevoking(key); }} aria-label={`Revoke ${key.label}`}>Revoke</button>
                )}
              </li>
            ))}
          </ul>
        ) : null}
      </section>
      <section class="panel" aria-labelledby="new-overlay-title">
        <h2 id="new-overlay-title">New overlay URL</h2>
        <form class="stack" onSubmit={(event) => void create(event)} noValidate>
          <Field label="Label" value={label} maxLength={60} onValue={setLabel} error={labelError} hint="Where it goes, e.g. “OBS main scene”." />
          <button class="primary" type="submit" disabled={busy}>Create overlay URL</button>
        </form>
      </section>
      <ConfirmDialog
        open={revoking !== null}
        title="Revoke this overlay URL?"
        confirmLabel="Revoke"
        danger
        busy={busy}
        onConfirm={() => void revoke()}
        onClose={() => { setRevoking(null); }}
      >
        <p>Overlays using “{revoking?.label}” stop updating at once. This can't be undone.</p>
      </ConfirmDialog>
    </div>
  );
}

/** A read-only URL with a Copy button; where the clipboard is refused, the text is selected
 * for the person to copy themselves. */
function CopyField({ label, value }: { label: string; value: string }) {
  const input = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<string | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied("Copied.");
    } catch {
      input.current?.focus();
      input.current?.select();
      setCopied("Selected: press Ctrl+C (⌘C) to copy.");
    }
  };
  return (
    <div class="copy-field">
      <label>
        {label}
        <input ref={input} readOnly value={value} onFocus={(e) => { e.currentTarget.select(); }} />
      </label>
      <button type="button" onClick={() => void copy()} aria-label={`Copy the ${label.toLowerCase()} URL`}>Copy</button>
      <span class="muted" aria-live="polite">{copied}</span>
    </div>
  );
}
