// Automation rules (README "Automations"): the form's state and the request bodies.

export type Kind = "stream_online" | "stream_offline" | "mirror_predictions";
export type OfflineAction = "lock" | "cancel";

export interface Automation {
  id: number;
  channel_id: number;
  kind: Kind;
  template_id: number | null;
  delay_seconds: number;
  offline_action: OfflineAction | null;
  enabled: boolean;
  created_by: number;
  created_at: string;
}

export interface RuleDraft {
  kind: Kind;
  templateId: string;
  delaySeconds: string;
  offlineAction: OfflineAction;
  enabled: boolean;
}

export const KIND_TEXT: Record<Kind, string> = {
  stream_online: "When the stream goes live: open a pool from a template",
  stream_offline: "When the stream ends: lock or cancel the open pools",
  mirror_predictions: "Mirror Twitch predictions as points pools",
};

export function emptyRule(): RuleDraft {
  return { kind: "stream_offline", templateId: "", delaySeconds: "0", offlineAction: "lock", enabled: true };
}

export function ruleDraft(rule: Automation): RuleDraft {
  return {
    kind: rule.kind,
    templateId: rule.template_id === null ? "" : String(rule.template_id),
    delaySeconds: String(rule.delay_seconds),
    offlineAction: rule.offline_action ?? "lock",
    enabled: rule.enabled,
  };
}

type Result = { body: Record<string, unknown>; errors: null } | { body: null; errors: Record<string, string> };

/** The body of `POST .../automations` (`update`: of `PATCH .../automations/{id}`, no kind). */
export function ruleRequest(draft: RuleDraft, update = false): Result {
  const errors: Record<string, string> = {};
  const body: Record<string, unknown> = update ? {} : { kind: draft.kind };
  body["enabled"] = draft.enabled;
  if (draft.kind === "stream_online") {
    if (!/^[1-9]\d*$/.test(draft.templateId)) errors["template_id"] = "Choose the template to open.";
    else body["template_id"] = Number(draft.templateId);
    const delay = draft.delaySeconds.trim();
    if (!/^\d{1,4}$/.test(delay) || Number(delay) > 3600) {
      errors["delay_seconds"] = "Between 0 and 3600 seconds.";
    } else body["delay_seconds"] = Number(delay);
  }
  if (draft.kind === "stream_offline") body["offline_action"] = draft.offlineAction;
  return Object.keys(errors).length > 0 ? { body: null, errors } : { body, errors: null };
}

/** One line saying what a rule does. */
export function ruleSummary(rule: Automation, templateName: (id: number) => string): string {
  if (rule.kind === "stream_online") {
    const name = rule.template_id === null ? "a template" : `“${templateName(rule.template_id)}”`;
    const delay = rule.delay_seconds > 0 ? ` after ${rule.delay_seconds} s` : "";
    return `Stream goes live → open ${name}${delay}`;
  }
  if (rule.kind === "stream_offline") {
    return `Stream ends → ${rule.offline_action === "cancel" ? "cancel" : "lock"} the open pools`;
  }
  return "Twitch prediction → mirrored as a points pool";
}
