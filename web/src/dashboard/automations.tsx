// What the stream does on its own (README "Automations"): rules listed, created, edited in
// place (enabled, template, delay, action) and deleted after a confirmation.
import { useEffect, useId, useState } from "preact/hooks";

import { api } from "../lib/api";
import { describe } from "../lib/errors";
import {
  emptyRule,
  KIND_TEXT,
  ruleDraft,
  ruleRequest,
  ruleSummary,
  type Automation,
  type Kind,
  type OfflineAction,
  type RuleDraft,
} from "./automation";
import { ConfirmDialog } from "./dialog";
import { Field } from "./field";
import { fieldErrors } from "./fields";
import { useAnnounce } from "./status";
import type { StaffChannel, Template } from "./types";

export function AutomationsPanel({ channel }: { channel: StaffChannel }) {
  const announce = useAnnounce();
  const base = `/api/v1/channels/${channel.id}/automations`;
  const [rules, setRules] = useState<Automation[] | null>(null);
  const [templates, setTemplates] = useState<Template[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState<number | null>(null);
  const [deleting, setDeleting] = useState<Automation | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api<{ automations: Automation[] }>(base).then(
      (body) => { setRules(body.automations); },
      (caught: unknown) => { setError(describe(caught)); },
    );
    api<{ templates: Template[] }>(`/api/v1/channels/${channel.id}/templates`).then(
      (body) => { setTemplates(body.templates); },
      () => undefined,
    );
  }, [base, channel.id]);

  const templateName = (id: number) => templates.find((t) => t.id === id)?.name ?? `template #${id}`;

  const remove = async () => {
    if (deleting === null) return;
    setBusy(true);
    try {
      await api(`${base}/${deleting.id}`, { method: "DELETE" });
      setRules((rules ?? []).filter((r) => r.id !== deleting.id));
      announce("Automation deleted.");
      setDeleting(null);
    } catch (caught) {
      setError(describe(caught));
      setDeleting(null);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="grid-2">
      <section class="panel" aria-labelledby="rules-title">
        <h2 id="rules-title">Automations</h2>
        <p class="muted">They follow your linked Twitch channel: each fires once per stream or prediction.</p>
        {error ? <p class="error" role="alert">{error}</p> : null}
        {rules?.length === 0 ? <p class="muted">No automations yet.</p> : null}
        {rules && rules.length > 0 ? (
          <ul class="rows rules">
            {rules.map((rule) =>
              editing === rule.id ? (
                <li key={rule.id}>
                  <RuleForm
                    channel={channel}
                    templates={templates}
                    initial={ruleDraft(rule)}
                    path={`${base}/${rule.id}`}
                    update
                    onSaved={(saved) => {
                      setRules(rules.map((r) => (r.id === saved.id ? saved : r)));
                      setEditing(null);
                      announce("Automation saved.");
                    }}
                    onCancel={() => { setEditing(null); }}
                  />
                </li>
              ) : (
                <li key={rule.id} data-rule-id={rule.id}>
                  <span>
                    <strong class="rule-summary">{ruleSummary(rule, templateName)}</strong>
                    <span class={`badge ${rule.enabled ? "on" : "off"}`}>{rule.enabled ? "On" : "Off"}</span>
                  </span>
                  <span class="row">
                    <button type="button" onClick={() => { setEditing(rule.id); }} aria-label={`Edit: ${ruleSummary(rule, templateName)}`}>Edit</button>
                    <button type="button" class="danger" onClick={() => { setDeleting(rule); }} aria-label={`Delete: ${ruleSummary(rule, templateName)}`}>Delete</button>
                  </span>
                </li>
              ),
            )}
          </ul>
        ) : null}
      </section>
      <section class="panel" aria-labelledby="new-rule-title">
        <h2 id="new-rule-title">New automation</h2>
        <RuleForm
          channel={channel}
          templates={templates}
          initial={emptyRule()}
          path={base}
          onSaved={(rule) => {
            setRules([...(rules ?? []), rule]);
            announce("Automation created.");
          }}
        />
      </section>
      <ConfirmDialog
        open={deleting !== null}
        title="Delete this automation?"
        confirmLabel="Delete automation"
        danger
        busy={busy}
        onConfirm={() => void remove()}
        onClose={() => { setDeleting(null); }}
      >
        <p>{deleting ? ruleSummary(deleting, templateName) : ""}: it will no longer run.</p>
      </ConfirmDialog>
    </div>
  );
}

interface RuleFormProps {
  channel: StaffChannel;
  templates: Template[];
  initial: RuleDraft;
  path: string;
  update?: boolean;
  onSaved: (rule: Automation) => void;
  onCancel?: () => void;
}

function RuleForm({ templates, initial, path, update, onSaved, onCancel }: RuleFormProps) {
  const id = useId();
  const [draft, setDraft] = useState(initial);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (change: Partial<RuleDraft>) => { setDraft({ ...draft, ...change }); };

  const submit = async (event: Event) => {
    event.preventDefault();
    setError(null);
    const checked = ruleRequest(draft, update === true);
    if (checked.errors) {
      setErrors(checked.errors);
      return;
    }
    setErrors({});
    setBusy(true);
    try {
      const rule = await api<Automation>(path, { method: update ? "PATCH" : "POST", body: checked.body });
      onSaved(rule);
      if (!update) setDraft(emptyRule());
    } catch (caught) {
      setErrors(fieldErrors(caught));
      setError(describe(caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="stack" onSubmit={(event) => void submit(event)} noValidate aria-label={update ? "Edit automation" : "New automation"}>
      {update ? (
        <p><strong>{KIND_TEXT[draft.kind]}</strong></p>
      ) : (
        <label for={`${id}-kind`}>
          When
          <select id={`${id}-kind`} value={draft.kind} onChange={(e) => { set({ kind: e.currentTarget.value as Kind }); }}>
            {(Object.keys(KIND_TEXT) as Kind[]).map((kind) => (
              <option key={kind} value={kind}>{KIND_TEXT[kind]}</option>
            ))}
          </select>
        </label>
      )}
      {draft.kind === "stream_online" ? (
        <>
          <label for={`${id}-template`}>
            Template to open
            <select
              id={`${id}-template`}
              value={draft.templateId}
              aria-invalid={errors["template_id"] ? true : undefined}
              onChange={(e) => { set({ templateId: e.currentTarget.value }); }}
            >
              <option value="">Choose a template…</option>
              {templates.map((t) => <option key={t.id} value={String(t.id)}>{t.name}</option>)}
            </select>
            {errors["template_id"] ? <span class="field-error">{errors["template_id"]}</span> : null}
            {templates.length === 0 ? <span class="hint">Save a template on the Pools page first.</span> : null}
          </label>
          <Field label="Delay after going live (seconds)" inputMode="numeric" value={draft.delaySeconds} onValue={(delaySeconds) => { set({ delaySeconds }); }} error={errors["delay_seconds"]} />
        </>
      ) : null}
      {draft.kind === "stream_offline" ? (
        <label for={`${id}-action`}>
          Do with the open pools
          <select id={`${id}-action`} value={draft.offlineAction} onChange={(e) => { set({ offlineAction: e.currentTarget.value as OfflineAction }); }}>
            <option value="lock">Lock them (resolve later)</option>
            <option value="cancel">Cancel them (refund every stake)</option>
          </select>
        </label>
      ) : null}
      <label class="choice">
        <input type="checkbox" checked={draft.enabled} onChange={(e) => { set({ enabled: e.currentTarget.checked }); }} />
        Enabled
      </label>
      {error ? <p class="error" role="alert">{error}</p> : null}
      <div class="row">
        <button class="primary" type="submit" disabled={busy}>{update ? "Save" : "Create automation"}</button>
        {onCancel ? <button type="button" onClick={onCancel}>Never mind</button> : null}
      </div>
    </form>
  );
}
