// The channel's moderators: the owner finds members by name (or types a user id) and adds or
// removes them; moderators see the list.
import { useEffect, useState } from "preact/hooks";

import { api } from "../lib/api";
import { describe } from "../lib/errors";
import { ConfirmDialog } from "./dialog";
import { Field } from "./field";
import { useAnnounce } from "./status";
import type { MemberMatch, Moderator, StaffChannel } from "./types";

export function ModeratorsPanel({ channel }: { channel: StaffChannel }) {
  const announce = useAnnounce();
  const owner = channel.role === "owner";
  const base = `/api/v1/channels/${channel.id}/moderators`;
  const [moderators, setModerators] = useState<Moderator[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [removing, setRemoving] = useState<Moderator | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api<{ moderators: Moderator[] }>(base).then(
      (body) => { setModerators(body.moderators); },
      (caught: unknown) => { setError(describe(caught)); },
    );
  }, [base]);

  const add = async (userId: number, name: string) => {
    setError(null);
    try {
      const body = await api<{ moderators: Moderator[] }>(base, { method: "POST", body: { user_id: userId } });
      setModerators(body.moderators);
      announce(`${name} is now a moderator of ${channel.name}.`);
      return true;
    } catch (caught) {
      setError(describe(caught));
      return false;
    }
  };

  const remove = async () => {
    if (removing === null) return;
    setBusy(true);
    try {
      await api(`${base}/${removing.user_id}`, { method: "DELETE" });
      setModerators((moderators ?? []).filter((m) => m.user_id !== removing.user_id));
      announce(`${removing.display_name} is no longer a moderator.`);
      setRemoving(null);
    } catch (caught) {
      setError(describe(caught));
      setRemoving(null);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="grid-2">
      <section class="panel" aria-labelledby="mods-title">
        <h2 id="mods-title">Moderators</h2>
        <p class="muted">Moderators open, lock, resolve and cancel pools and manage automations. Only you, the owner, add or remove them.</p>
        {error ? <p class="error" role="alert">{error}</p> : null}
        {moderators?.length === 0 ? <p class="muted">No moderators yet.</p> : null}
        {moderators && moderators.length > 0 ? (
          <ul class="rows">
            {moderators.map((moderator) => (
              <li key={moderator.user_id}>
                <span>
                  <strong>{moderator.display_name}</strong> <span class="muted">#{moderator.user_id} · since {new Date(moderator.created_at).toLocaleDateString()}</span>
                </span>
                {owner ? (
                  <button type="button" class="danger" aria-label={`Remove ${moderator.display_name}`} onClick={() => { setRemoving(moderator); }}>
                    Remove
                  </button>
                ) : null}
              </li>
            ))}
          </ul>
        ) : null}
      </section>
      {owner ? <AddModerator channel={channel} onAdd={add} /> : null}
      <ConfirmDialog
        open={removing !== null}
        title="Remove this moderator?"
        confirmLabel="Remove moderator"
        danger
        busy={busy}
        onConfirm={() => void remove()}
        onClose={() => { setRemoving(null); }}
        cancelLabel="Keep them"
      >
        <p>{removing?.display_name} will no longer run pools in {channel.name}.</p>
      </ConfirmDialog>
    </div>
  );
}

function AddModerator({ channel, onAdd }: { channel: StaffChannel; onAdd: (userId: number, name: string) => Promise<boolean> }) {
  const [query, setQuery] = useState("");
  const [matches, setMatches] = useState<MemberMatch[] | null>(null);
  const [userId, setUserId] = useState("");
  const [idError, setIdError] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const q = query.trim();
    if (q === "") {
      setMatches(null);
      return;
    }
    const timer = setTimeout(() => {
      api<{ members: MemberMatch[] }>(`/api/v1/channels/${channel.id}/members?q=${encodeURIComponent(q)}&limit=10`).then(
        (body) => { setMatches(body.members); setError(null); },
        (caught: unknown) => { setError(describe(caught)); },
      );
    }, 250);
    return () => { clearTimeout(timer); };
  }, [query, channel.id]);

  const byId = async (event: Event) => {
    event.preventDefault();
    if (!/^[1-9]\d{0,15}$/.test(userId.trim())) {
      setIdError("Enter a user id: a whole number, such as 42.");
      return;
    }
    setIdError(undefined);
    if (await onAdd(Number(userId.trim()), `User #${userId.trim()}`)) setUserId("");
  };

  return (
    <section class="panel" aria-labelledby="add-mod-title">
      <h2 id="add-mod-title">Add a moderator</h2>
      <form class="stack" role="search" onSubmit={(event) => { event.preventDefault(); }}>
        <Field label="Find a member by name" type="search" value={query} onValue={setQuery} hint="People who joined your channel, by their display name." autoComplete="off" />
      </form>
      {error ? <p class="error">{error}</p> : null}
      {matches?.length === 0 ? <p class="muted" aria-live="polite">No member of {channel.name} goes by that name.</p> : null}
      {matches && matches.length > 0 ? (
        <ul class="rows" aria-label="Members found">
          {matches.map((member) => (
            <li key={member.user_id}>
              <span>
                <strong>{member.display_name}</strong> <span class="muted">#{member.user_id}</span>
              </span>
              <button type="button" onClick={() => void onAdd(member.user_id, member.display_name)} aria-label={`Make ${member.display_name} a moderator`}>
                Make moderator
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      <form class="stack" onSubmit={(event) => void byId(event)} noValidate>
        <Field label="Or add by user id" inputMode="numeric" value={userId} onValue={setUserId} error={idError} hint="For someone who hasn't joined the channel: their account's id (the id that GET /api/v1/me answers them)." />
        <button type="submit">Add by id</button>
      </form>
    </section>
  );
}
