// The channels the signed-in person runs (owner or moderator), and creating one.
import { useEffect, useState } from "preact/hooks";

import { api } from "../lib/api";
import { ApiError, describe } from "../lib/errors";
import { Field } from "./field";
import { fieldErrors } from "./fields";
import { navigate, routePath } from "./router";
import { useAnnounce } from "./status";
import type { StaffChannel } from "./types";

export function ChannelList() {
  const [channels, setChannels] = useState<StaffChannel[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api<{ channels: StaffChannel[] }>("/api/v1/me/channels").then(
      (body) => { setChannels(body.channels); },
      (caught: unknown) => { setError(describe(caught)); },
    );
  }, []);

  return (
    <div class="channels-page">
      <section class="panel" aria-labelledby="channels-title">
        <h1 id="channels-title">My channels</h1>
        {error ? <p class="error" role="alert">{error}</p> : null}
        {channels === null && error === null ? <p class="muted">Loading your channels…</p> : null}
        {channels?.length === 0 ? (
          <p class="muted">You don't run a channel yet: create one, or ask a streamer to make you a moderator.</p>
        ) : null}
        {channels && channels.length > 0 ? (
          <ul class="channel-cards">
            {channels.map((channel) => (
              <li key={channel.id}>
                <a
                  class="channel-card"
                  href={routePath({ name: "channel", channelId: channel.id, tab: "pools" })}
                  onClick={(event) => {
                    event.preventDefault();
                    navigate(routePath({ name: "channel", channelId: channel.id, tab: "pools" }));
                  }}
                >
                  <strong>{channel.name}</strong>
                  <span class="muted">/{channel.slug}</span>
                  <span class={`badge ${channel.role}`}>{channel.role === "owner" ? "Owner" : "Moderator"}</span>
                </a>
              </li>
            ))}
          </ul>
        ) : null}
      </section>
      <CreateChannel onCreated={(channel) => { setChannels([...(channels ?? []), channel]); }} />
    </div>
  );
}

function CreateChannel({ onCreated }: { onCreated: (channel: StaffChannel) => void }) {
  const announce = useAnnounce();
  const [slug, setSlug] = useState("");
  const [name, setName] = useState("");
  const [fields, setFields] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setFields({});
    setError(null);
    try {
      const channel = await api<StaffChannel>("/api/v1/channels", {
        method: "POST",
        body: { slug: slug.trim(), name: name.trim() },
      });
      onCreated({ ...channel, role: "owner" });
      announce(`Channel “${channel.name}” created.`);
      setSlug("");
      setName("");
    } catch (caught) {
      const found = fieldErrors(caught);
      if (Object.keys(found).length === 0 && caught instanceof ApiError && caught.code === "channel_slug_taken") {
        found["slug"] = describe(caught);
      }
      setFields(found);
      if (Object.keys(found).length === 0) setError(describe(caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="panel" aria-labelledby="create-channel-title">
      <h2 id="create-channel-title">Create a channel</h2>
      <form class="stack" onSubmit={(event) => void submit(event)} noValidate>
        <Field
          label="Slug"
          value={slug}
          onValue={setSlug}
          error={fields["slug"]}
          hint="Your channel's address: 3–40 lowercase letters, digits, - or _."
          autoComplete="off"
          spellcheck={false}
        />
        <Field label="Name" value={name} onValue={setName} error={fields["name"]} autoComplete="off" />
        {error ? <p class="error" role="alert">{error}</p> : null}
        <button class="primary" type="submit" disabled={busy}>
          {busy ? "Creating…" : "Create channel"}
        </button>
      </form>
    </section>
  );
}
