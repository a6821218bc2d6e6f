// One channel the person runs: its pages as tabs (pools, moderators, automations, platforms,
// overlay URLs), each a route of its own.
import { useEffect, useState } from "preact/hooks";

import { api } from "../lib/api";
import { describe } from "../lib/errors";
import { AutomationsPanel } from "./automations";
import { ModeratorsPanel } from "./moderators";
import { OverlayPanel } from "./overlay-keys";
import { PlatformsPanel } from "./platforms";
import { PoolsPanel } from "./pools-panel";
import { navigate, routePath, TABS, type Tab } from "./router";
import type { StaffChannel } from "./types";

const TAB_TEXT: Record<Tab, string> = {
  pools: "Pools",
  moderators: "Moderators",
  automations: "Automations",
  platforms: "Platforms",
  overlay: "Overlay",
};

export function ChannelPage({ channelId, tab, userId }: { channelId: number; tab: Tab; userId: number }) {
  const [channel, setChannel] = useState<StaffChannel | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api<{ channels: StaffChannel[] }>("/api/v1/me/channels").then(
      (body) => {
        const found = body.channels.find((c) => c.id === channelId);
        if (found) setChannel(found);
        else setError("You don't own or moderate this channel.");
      },
      (caught: unknown) => { setError(describe(caught)); },
    );
  }, [channelId]);

  useEffect(() => {
    document.title = channel ? `${TAB_TEXT[tab]} · ${channel.name} · Dashboard` : "Dashboard · streampools";
  }, [channel, tab]);

  if (error) {
    return (
      <section class="panel">
        <h1>Channel</h1>
        <p class="error" role="alert">{error}</p>
        <p><a href="/dashboard" onClick={(e) => { e.preventDefault(); navigate("/dashboard"); }}>Back to your channels</a></p>
      </section>
    );
  }
  if (channel === null) return <p class="muted">Loading the channel…</p>;

  return (
    <div class="channel-page">
      <nav class="crumbs" aria-label="Breadcrumb">
        <a href="/dashboard" onClick={(e) => { e.preventDefault(); navigate("/dashboard"); }}>My channels</a>
        <span aria-hidden="true"> / </span>
        <span aria-current="page">{channel.name}</span>
      </nav>
      <div class="channel-head">
        <h1>{channel.name}</h1>
        <span class={`badge ${channel.role}`}>{channel.role === "owner" ? "Owner" : "Moderator"}</span>
        <a class="muted" href={`/c/${channel.slug}`} target="_blank" rel="noopener">Viewer page ↗</a>
      </div>
      <nav class="tabs" aria-label="Channel sections">
        {TABS.map((t) => {
          const path = routePath({ name: "channel", channelId, tab: t });
          return (
            <a
              key={t}
              href={path}
              aria-current={t === tab ? "page" : undefined}
              onClick={(event) => {
                event.preventDefault();
                navigate(path);
              }}
            >
              {TAB_TEXT[t]}
            </a>
          );
        })}
      </nav>
      {tab === "pools" ? <PoolsPanel channel={channel} userId={userId} /> : null}
      {tab === "moderators" ? <ModeratorsPanel channel={channel} /> : null}
      {tab === "automations" ? <AutomationsPanel channel={channel} /> : null}
      {tab === "platforms" ? <PlatformsPanel channel={channel} onChannel={setChannel} /> : null}
      {tab === "overlay" ? <OverlayPanel channel={channel} /> : null}
    </div>
  );
}
