// The channel's pools: the live ones (open, locked, drafts) with their totals from Socket.IO,
// opening a new one from scratch or from a template, and the recent results.
import { useEffect, useState } from "preact/hooks";

import { api } from "../lib/api";
import { describe } from "../lib/errors";
import { formatAmount } from "../lib/format";
import { Live } from "../lib/socket";
import type { ChannelSnapshot, Pool, PoolTotals } from "../lib/types";
import { Field } from "./field";
import { fieldErrors } from "./fields";
import { PoolCard } from "./pool-card";
import { PoolFields } from "./pool-fields";
import { draftCurrency, emptyDraft, poolRequest, templateRequest, type FieldErrors } from "./poolform";
import { applyTotals, isLive, resultText, statusText, upsert } from "./pools";
import { useAnnounce } from "./status";
import { FINISHED, type StaffChannel, type Template } from "./types";

const POOL_EVENTS = ["pool:opened", "pool:locked", "pool:resolved", "pool:settled", "pool:cancelled", "pool:refunded"];
const RECENT = 10;
/** The cash currency of this platform (the API answers `cash:<code>`; USD unless set). */
const CASH = "USD";

function finishedQuery(): string {
  return FINISHED.map((s) => `status=${s}`).join("&");
}

export function PoolsPanel({ channel }: { channel: StaffChannel; userId: number }) {
  const announce = useAnnounce();
  const [pools, setPools] = useState<Pool[]>([]);
  const [connected, setConnected] = useState<boolean | null>(null);
  const [templates, setTemplates] = useState<Template[]>([]);

  const onPool = (pool: Pool) => { setPools((current) => upsert(current, pool)); };

  useEffect(() => {
    const live = new Live({ kind: "session" });
    live.onStatus = setConnected;
    live.onReady = () => {
      void Promise.all([
        live.call<ChannelSnapshot & { ok: true }>("channel:join", { channel: channel.id }),
        api<{ pools: Pool[] }>(`/api/v1/channels/${channel.id}/pools?status=draft&${finishedQuery()}`),
      ]).then(
        ([snapshot, others]) => {
          // The list shows what these two answered; events that came meanwhile are newer only
          // for pools these two did not carry.
          setPools((current) => {
            let merged = [...snapshot.pools, ...others.pools].sort((a, b) => b.id - a.id);
            for (const pool of current) if (!merged.some((p) => p.id === pool.id)) merged = upsert(merged, pool);
            return merged;
          });
        },
        (caught: unknown) => { announce(describe(caught), "error"); },
      );
    };
    live.onEnded = (error) => { announce(describe(error), "error"); };
    for (const event of POOL_EVENTS) live.socket.on(event, onPool);
    live.socket.on("pool:updated", (totals: PoolTotals) => { setPools((current) => applyTotals(current, totals)); });
    return () => { live.close(); };
  }, [channel.id]);

  useEffect(() => {
    api<{ templates: Template[] }>(`/api/v1/channels/${channel.id}/templates`).then(
      (body) => { setTemplates(body.templates); },
      (caught: unknown) => { announce(describe(caught), "error"); },
    );
  }, [channel.id]);

  const livePools = pools.filter((p) => isLive(p.status));
  const recent = pools.filter((p) => !isLive(p.status)).slice(0, RECENT);

  return (
    <div class="pools-layout">
      <div class="pools-main">
        <section aria-labelledby="live-title">
          <div class="section-head">
            <h2 id="live-title">Live pools</h2>
            <span class={`conn ${connected ? "on" : "off"}`}>
              {connected === null ? "Connecting…" : connected ? "● Live" : "Reconnecting…"}
            </span>
          </div>
          {livePools.length === 0 ? <p class="muted panel">No pool is running. Open one from scratch or from a template.</p> : null}
          <div class="pool-list">
            {livePools.map((pool) => <PoolCard key={pool.id} pool={pool} onPool={onPool} />)}
          </div>
        </section>
        <section aria-labelledby="recent-title" class="panel">
          <h2 id="recent-title">Recent pools</h2>
          {recent.length === 0 ? <p class="muted">No finished pools yet.</p> : (
            <ul class="recent">
              {recent.map((pool) => (
                <li key={pool.id} data-pool-id={pool.id}>
                  <span class="recent-title">{pool.title}</span>
                  <span class={`badge status-${pool.status}`}>{statusText(pool.status)}</span>
                  <span class="recent-result">{resultText(pool)}</span>
                  <span class="muted">{formatAmount(pool.total, pool.currency)} · {pool.bettors} {pool.bettors === 1 ? "bettor" : "bettors"}</span>
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
      <aside class="pools-side">
        <NewPool channel={channel} onPool={onPool} />
        <Templates channel={channel} templates={templates} onTemplates={setTemplates} onPool={onPool} />
      </aside>
    </div>
  );
}

function NewPool({ channel, onPool }: { channel: StaffChannel; onPool: (pool: Pool) => void }) {
  const announce = useAnnounce();
  const [draft, setDraft] = useState(emptyDraft);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setError(null);
    const checked = poolRequest(draft, channel.id, CASH);
    if (checked.errors) {
      setErrors(checked.errors);
      return;
    }
    setErrors({});
    setBusy(true);
    try {
      const pool = await api<Pool>("/api/v1/pools", { method: "POST", body: checked.body });
      onPool(pool);
      announce(`“${pool.title}” is open for bets.`);
      setDraft(emptyDraft());
    } catch (caught) {
      const found = fieldErrors(caught);
      setErrors(found);
      setError(describe(caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="panel" aria-labelledby="new-pool-title">
      <h2 id="new-pool-title">New pool</h2>
      <form class="stack" onSubmit={(event) => void submit(event)} noValidate>
        <PoolFields draft={draft} onDraft={setDraft} errors={errors} cashEnabled={channel.cash_enabled} currency={draftCurrency(draft, channel.id, CASH)} />
        {error ? <p class="error" role="alert">{error}</p> : null}
        <button class="primary" type="submit" disabled={busy}>
          {busy ? "Opening…" : "Open pool"}
        </button>
      </form>
    </section>
  );
}

interface TemplatesProps {
  channel: StaffChannel;
  templates: Template[];
  onTemplates: (templates: Template[]) => void;
  onPool: (pool: Pool) => void;
}

function Templates({ channel, templates, onTemplates, onPool }: TemplatesProps) {
  const announce = useAnnounce();
  const [creating, setCreating] = useState(false);
  const [name, setName] = useState("");
  const [draft, setDraft] = useState(emptyDraft);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<number | "create" | null>(null);

  const open = async (template: Template) => {
    setBusy(template.id);
    setError(null);
    try {
      const pool = await api<Pool>(`/api/v1/channels/${channel.id}/templates/${template.id}/open`, { method: "POST" });
      onPool(pool);
      announce(`“${pool.title}” opened from the template “${template.name}”.`);
    } catch (caught) {
      setError(describe(caught));
    } finally {
      setBusy(null);
    }
  };

  const create = async (event: Event) => {
    event.preventDefault();
    setError(null);
    const checked = templateRequest(name, draft, channel.id, CASH);
    if (checked.errors) {
      setErrors(checked.errors);
      return;
    }
    setErrors({});
    setBusy("create");
    try {
      const template = await api<Template>(`/api/v1/channels/${channel.id}/templates`, { method: "POST", body: checked.body });
      onTemplates([...templates, template]);
      announce(`Template “${template.name}” saved.`);
      setCreating(false);
      setName("");
      setDraft(emptyDraft());
    } catch (caught) {
      setErrors(fieldErrors(caught));
      setError(describe(caught));
    } finally {
      setBusy(null);
    }
  };

  return (
    <section class="panel" aria-labelledby="templates-title">
      <h2 id="templates-title">Templates</h2>
      {templates.length === 0 ? <p class="muted">Save the pools you run often and open them in one click.</p> : (
        <ul class="templates">
          {templates.map((template) => (
            <li key={template.id}>
              <div>
                <strong>{template.name}</strong>
                <span class="muted">{template.title} · {template.outcomes.join(" / ")} · {Math.round(template.window_seconds / 6) / 10} min</span>
              </div>
              <button type="button" aria-label={`Open a pool from ${template.name}`} disabled={busy !== null} onClick={() => void open(template)}>
                {busy === template.id ? "Opening…" : "Open"}
              </button>
            </li>
          ))}
        </ul>
      )}
      {error && !creating ? <p class="error" role="alert">{error}</p> : null}
      {creating ? (
        <form class="stack" onSubmit={(event) => void create(event)} noValidate aria-label="New template">
          <Field label="Template name" value={name} maxLength={80} onValue={setName} error={errors["name"]} />
          <PoolFields draft={draft} onDraft={setDraft} errors={errors} cashEnabled={channel.cash_enabled} currency={draftCurrency(draft, channel.id, CASH)} windowOnly />
          {error ? <p class="error" role="alert">{error}</p> : null}
          <div class="row">
            <button class="primary" type="submit" disabled={busy !== null}>Save template</button>
            <button type="button" onClick={() => { setCreating(false); setErrors({}); setError(null); }}>Never mind</button>
          </div>
        </form>
      ) : (
        <button type="button" onClick={() => { setCreating(true); }}>+ New template</button>
      )}
    </section>
  );
}
